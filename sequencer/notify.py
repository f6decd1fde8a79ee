"""Readiness for a supervisor (systemd ``Type=notify``): a process says READY=1 once it is healthy (the sequencer
listening and, as an HA node, primary or a caught-up standby; an app or gateway connected and caught up with the
stream), not merely started. Without ``NOTIFY_SOCKET`` in the environment (not run by systemd) it does nothing."""
from __future__ import annotations

import os
import socket

_said: set[str] = set()


def notify(state: str) -> None:
    """Send ``state`` (e.g. "READY=1\\nSTATUS=caught up") to systemd's notification socket, if there is one."""
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return
    addr = "\0" + path[1:] if path.startswith("@") else path     # "@..." is Linux's abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.connect(addr)
            s.sendall(state.encode())
    except OSError:
        pass                                 # readiness is advice to the supervisor: never a reason to stop


def ready(status: str) -> None:
    """READY=1 with a status line, once per process (later calls only update the status)."""
    notify(("READY=1\n" if "ready" not in _said else "") + f"STATUS={status}")
    _said.add("ready")
