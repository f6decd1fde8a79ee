"""A message log per FIX session, as every FIX engine keeps one (after QuickFIX's FileLog): the first place a support
desk looks when a counterparty calls.

Under ``DIR/YYYYMMDD/`` (the UTC date), two files per session, named ``BEGIN-SENDER-TARGET``:

* ``….messages.log``: every message in and out, one per line: ``YYYYMMDD-HH:MM:SS.ffffff in|out <message>`` with the
  message exactly as on the wire (SOH delimiters kept, so it can be fed back to a FIX parser);
* ``….event.log``: session events (logon, logout, resend, reject, sequence reset, disconnect, garbled input), one per
  line: ``YYYYMMDD-HH:MM:SS.ffffff <text>``.

A new UTC date opens new files. Lines are buffered and written at least once a second (``flush``, called by the
connection's tick) and at close, so logging costs the message path no system call. Files are created 0640.
"""
from __future__ import annotations

import datetime as dt
import os


_SECOND: list = [-1, "", ""]   # the last second formatted: (second, day, "YYYYMMDD-HH:MM:SS"), formatted once a second


def _stamp(ns: int) -> tuple[str, str]:
    sec = ns // 1_000_000_000
    if sec != _SECOND[0]:
        d = dt.datetime.fromtimestamp(sec, dt.timezone.utc)
        _SECOND[:] = [sec, d.strftime("%Y%m%d"), d.strftime("%Y%m%d-%H:%M:%S")]
    return _SECOND[1], f"{_SECOND[2]}.{(ns // 1000) % 1_000_000:06d}"


class MessageLog:
    def __init__(self, directory: str, begin: str, sender: str, target: str):
        self.directory = directory
        self.name = f"{begin}-{sender}-{target}"
        self.day = ""
        self.messages = None
        self.events = None

    def _open(self, day: str) -> None:
        self.close()
        d = os.path.join(self.directory, day)
        os.makedirs(d, mode=0o750, exist_ok=True)
        self.day = day
        self.messages = self._file(os.path.join(d, f"{self.name}.messages.log"))
        self.events = self._file(os.path.join(d, f"{self.name}.event.log"))

    @staticmethod
    def _file(path: str):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        return os.fdopen(fd, "ab", buffering=1 << 16)

    def _files(self, ns: int) -> str:
        day, stamp = _stamp(ns)
        if day != self.day:
            self._open(day)
        return stamp

    def message(self, ns: int, direction: str, raw: bytes) -> None:
        stamp = self._files(ns)
        self.messages.write(b"".join((stamp.encode(), b" ", direction.encode(), b" ", raw, b"\n")))

    def event(self, ns: int, text: str) -> None:
        stamp = self._files(ns)
        self.events.write(f"{stamp} {text}\n".encode(errors="replace"))

    def flush(self) -> None:
        for f in (self.messages, self.events):
            if f is not None:
                f.flush()

    def close(self) -> None:
        for f in (self.messages, self.events):
            if f is not None:
                f.close()
        self.messages = self.events = None
        self.day = ""
