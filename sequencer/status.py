"""Asking a running sequencer where it is: head seq, its sequenced clock, and each connection's position. Used by
``seqtrade cluster status`` and by simulators that pace themselves on the sequenced clock."""
from __future__ import annotations

import socket
import time

from . import protocol, tls


def query(host: str, port: int, timeout: float = 2.0, auth: tuple[str, str] | None = None) -> protocol.Status:
    """One STATUS round trip. Raises OSError if nothing answers. With ``auth`` (an app's name and password) the
    answer includes the log path and every connection; without, only the day, head seq and clock."""
    body = protocol.encode(protocol.Hello(auth[0], auth[1], 0)) if auth else b""
    ctx = tls.client_context()
    with socket.create_connection((host, port), timeout=timeout) as raw:
        s = ctx.wrap_socket(raw, server_hostname=host) if ctx else raw
        s.sendall(protocol.frame(protocol.STATUS, body))
        reader = protocol.FrameReader()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = s.recv(1 << 20)
            if not data:
                break
            for kind, body in reader.feed(data):
                if kind == protocol.STATUS:
                    return protocol.decode_status(body)
                if kind == protocol.ERROR:
                    raise OSError(f"sequencer {host}:{port} refused the status request: {body.decode()}")
    raise OSError(f"sequencer {host}:{port} did not answer the status request")


class SequencedClock:
    """The sequencer's clock, read once and carried forward on this host's monotonic clock at the sequencer's speed:
    close enough for a simulator that must act "at 10:30" of a compressed day (the records it causes get the
    sequencer's own times)."""

    def __init__(self, host: str, port: int):
        st = query(host, port)
        self.mono0, self.ns0, self.speed = time.monotonic_ns(), st.clock_ns, st.clock_speed
        self.trading_day = st.trading_day

    def now(self) -> int:
        return self.ns0 + int((time.monotonic_ns() - self.mono0) * self.speed)
