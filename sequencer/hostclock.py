"""The host's time source, as the kernel's NTP discipline reports it (``adjtimex(2)``, read-only).

chrony or ntpd steer the kernel clock and keep its estimates up to date: ``offset`` (how far the clock is from the
reference, being slewed away), ``maxerror`` (the bound on the clock's error) and the STA_UNSYNC status bit (no time
source is disciplining the clock). The sequencer records one reading every few seconds as a ``ClockSample``; the
clock synchronisation report checks them against the 50 ms tolerance CAT gives industry members."""
from __future__ import annotations

import ctypes
import ctypes.util
import socket

STA_NANO = 0x2000
STA_UNSYNC = 0x0040
TIME_ERROR = 5


class _Timex(ctypes.Structure):
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
                ("time_sec", ctypes.c_long), ("time_usec", ctypes.c_long), ("tick", ctypes.c_long),
                ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long), ("shift", ctypes.c_int),
                ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long),
                ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int),
                ("_pad", ctypes.c_int * 11)]


_libc = None


def sample() -> tuple[int, int, bool]:
    """``(offset_ns, max_error_ns, synced)``; ``(0, -1, False)`` where the kernel cannot tell (not Linux)."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        t = _Timex()  # modes = 0: read only
        state = _libc.adjtimex(ctypes.byref(t))
    except (OSError, AttributeError):
        return 0, -1, False
    if state < 0:
        return 0, -1, False
    offset_ns = t.offset if t.status & STA_NANO else t.offset * 1000
    synced = state != TIME_ERROR and not t.status & STA_UNSYNC
    return offset_ns, t.maxerror * 1000, synced  # maxerror is always in microseconds


def host_name() -> str:
    return socket.gethostname()
