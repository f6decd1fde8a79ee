"""FIX framing in front of the parser: cut a byte stream into whole, checksummed messages.

A message is ``8=<BeginString>|9=<BodyLength>|35=...|...|10=<CheckSum>|`` (``|`` is SOH, 0x01). The framer finds
``8=``, requires ``9=`` as the second field and ``35=`` as the first field of the body, reads exactly BodyLength bytes,
and checks that ``10=NNN|`` follows and that NNN is the byte sum modulo 256 of everything before it.

Anything else is garbled: it is reported and skipped up to the next ``8=FIX`` without consuming a FIX sequence
number (the session never sees it). The framer never raises on input; any byte string is either frames, garbage
reports, or a partial message waiting for more bytes.

``simplefix`` encodes our outgoing messages; parsing incoming ones is this module's ``split_fields``, which is a few
``bytes.split`` calls at C speed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

SOH = b"\x01"
START = b"8=FIX"
MAX_BODY = 1 << 20  # a BodyLength above this is garbage, not a message
# a whole trailer followed by the start of another message: where a message really ended
_TRAILER_THEN_START = re.compile(rb"\x0110=\d{3}\x01(?=8=FIX)")


@dataclass
class Garbled:
    """Bytes discarded by the framer, and why (for the session log)."""
    data: bytes
    reason: str


class FixFramer:
    __slots__ = ("buf", "max_body")

    def __init__(self, max_body: int = MAX_BODY):
        self.buf = bytearray()
        self.max_body = max_body

    def feed(self, data: bytes) -> list:
        """Append bytes; return the whole messages (``bytes``) and ``Garbled`` reports, in stream order."""
        self.buf += data
        out = []
        buf = self.buf
        pos = 0
        while True:
            start = buf.find(START, pos)
            if start < 0:
                # keep a tail that could be the start of "8=FIX" split across reads
                keep = max(len(buf) - (len(START) - 1), pos)
                if keep > pos:
                    out.append(Garbled(bytes(buf[pos:keep]), "bytes outside any message"))
                pos = keep
                break
            if start > pos:
                out.append(Garbled(bytes(buf[pos:start]), "bytes before a message start"))
                pos = start
            result = self._frame_at(buf, start)
            if result is None:  # incomplete: wait for more
                break
            end, reason = result
            if reason is None:
                out.append(bytes(buf[start:end]))
                pos = end
            else:
                nxt = buf.find(START, start + 1)
                stop = nxt if nxt >= 0 else len(buf)
                out.append(Garbled(bytes(buf[start:stop]), reason))
                pos = stop
        if pos:
            del buf[:pos]
        return out

    def _frame_at(self, buf: bytearray, start: int):
        """``(end, None)`` for a whole message at ``start``, ``(end, reason)`` if garbled, None if incomplete."""
        n = len(buf)
        soh1 = buf.find(SOH, start)
        if soh1 < 0:
            return None if n - start < 32 else (n, "BeginString field never ends")
        p = soh1 + 1
        if n - p < 2:
            return None
        if buf[p:p + 2] != b"9=":
            return (p, "second field is not BodyLength (9)")
        soh2 = buf.find(SOH, p)
        if soh2 < 0:
            return None if n - p < 12 else (n, "BodyLength field never ends")
        digits = bytes(buf[p + 2:soh2])
        if not digits.isdigit() or len(digits) > 9:
            return (soh2 + 1, f"BodyLength {digits[:20]!r} is not a number")
        body_len = int(digits)
        if body_len > self.max_body:
            return (soh2 + 1, f"BodyLength {body_len} is too large")
        body = soh2 + 1
        if n - body < 3:
            return None
        if buf[body:body + 3] != b"35=":
            return (body, "first field of the body is not MsgType (35)")
        trailer = body + body_len
        if n < trailer + 7:
            # Waiting for more bytes, unless another message visibly starts inside the claimed extent: then the
            # BodyLength is wrong, and waiting would hold up every message behind it.
            m = _TRAILER_THEN_START.search(buf, body, n)
            if m:
                return (m.end(), f"BodyLength {body_len} runs past the end of the message")
            return None
        if buf[trailer:trailer + 3] != b"10=" or buf[trailer + 6:trailer + 7] != SOH:
            return (body, f"no CheckSum field where BodyLength {body_len} says the body ends")
        got = bytes(buf[trailer + 3:trailer + 6])
        want = sum(memoryview(buf)[start:trailer]) % 256
        if not got.isdigit() or int(got) != want:
            return (trailer + 7, f"CheckSum {got.decode(errors='replace')} should be {want:03d}")
        return (trailer + 7, None)


def split_fields(raw: bytes) -> list[tuple[bytes, bytes]]:
    """``[(tag, value), ...]`` in wire order, tags as the bytes they were sent as (validation turns them into
    ints and rejects what is not one). A field with no ``=`` gets the value None-equivalent ``b""`` and tag as is."""
    parts = raw.split(SOH)
    if parts and parts[-1] == b"":
        parts.pop()
    return [tuple(p.split(b"=", 1)) if b"=" in p else (p, None) for p in parts]
