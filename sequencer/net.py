"""Socket settings shared by every TCP edge (sequencer, its clients, FIX sessions)."""
from __future__ import annotations

import socket


def no_delay(transport) -> None:
    """Send small messages at once: every edge here is latency-sensitive and batches on its own."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
