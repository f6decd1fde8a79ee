"""The sequenced record and its framing.

One framing is used everywhere: in the day's log file and on the wire from the sequencer to subscribers, so the
sequencer publishes exactly the bytes it persisted and a subscriber checks the same CRC the log reader checks.

    frame  = length:u32 crc32(body):u32 body
    body   = seq:u64 ts:i64 source_seq:u64 type:u16 source_len:u8 source:bytes payload:bytes

All integers little-endian. ``payload`` is the msgpack encoding of a ``messages.Msg``.
"""
from __future__ import annotations

import struct
import zlib

from . import messages

FRAME = struct.Struct("<II")
HEAD = struct.Struct("<QqQHB")
FRAME_SIZE = FRAME.size
HEAD_SIZE = HEAD.size
MAX_BODY = 16 * 1024 * 1024  # a larger length field means garbage, not a record
MAX_SOURCE = 255

_crc = zlib.crc32
_pack_frame = FRAME.pack
_pack_head = HEAD.pack
_unpack_frame = FRAME.unpack_from
_unpack_head = HEAD.unpack_from


class FrameError(ValueError):
    """Bytes that are not a whole, valid record at ``offset``.

    ``partial``: the data ended inside the frame (more bytes may complete it). ``frame_end``: where the frame would end
    by its length field (None if even the length is unknown). Whether that makes it a torn tail depends on where the
    file ends, which only the caller knows.
    """

    def __init__(self, offset: int, reason: str, partial: bool = False, frame_end: int | None = None):
        self.offset = offset
        self.reason = reason
        self.partial = partial
        self.frame_end = frame_end
        super().__init__(f"{reason} at offset {offset}")

    def shift(self, by: int) -> "FrameError":
        self.offset += by
        if self.frame_end is not None:
            self.frame_end += by
        self.args = (f"{self.reason} at offset {self.offset}",)
        return self


class Record:
    """A sequenced record. ``msg`` decodes the payload on first use (many consumers only look at ``type``)."""

    __slots__ = ("seq", "ts", "source", "source_seq", "type", "payload", "_msg")

    def __init__(self, seq: int, ts: int, source: str, source_seq: int, type: int, payload: bytes):
        self.seq = seq
        self.ts = ts
        self.source = source
        self.source_seq = source_seq
        self.type = type
        self.payload = payload
        self._msg = None

    @property
    def msg(self) -> messages.Msg:
        if self._msg is None:
            self._msg = messages.decode(self.payload, self.type)
        return self._msg

    def __repr__(self) -> str:
        return (f"Record(seq={self.seq}, ts={self.ts}, source={self.source!r}, source_seq={self.source_seq}, "
                f"type={messages.type_name(self.type)})")

    def __eq__(self, other) -> bool:
        return isinstance(other, Record) and self.key() == other.key()

    def key(self) -> tuple:
        return (self.seq, self.ts, self.source, self.source_seq, self.type, bytes(self.payload))


def encode_record(seq: int, ts: int, source_b: bytes, source_seq: int, type_: int, payload: bytes) -> bytes:
    """Frame one record. ``source_b`` is the already-encoded source name (the sequencer caches it per connection)."""
    body = _pack_head(seq, ts, source_seq, type_, len(source_b)) + source_b + payload
    return _pack_frame(len(body), _crc(body)) + body


def decode_body(body) -> Record:
    seq, ts, sseq, typ, slen = _unpack_head(body, 0)
    end = HEAD_SIZE + slen
    return Record(seq, ts, bytes(body[HEAD_SIZE:end]).decode(), sseq, typ, bytes(body[end:]))


def parse(buf, start: int = 0, end: int | None = None, base_offset: int = 0):
    """Parse whole frames from ``buf[start:end]``.

    Returns ``(records, consumed_up_to)``; a trailing partial frame is left unconsumed. A frame whose length field is
    impossible or whose CRC does not match raises ``FrameError`` with the absolute offset (``base_offset + pos``).
    """
    if end is None:
        end = len(buf)
    mv = memoryview(buf)
    out = []
    pos = start
    while end - pos >= FRAME_SIZE:
        length, crc = _unpack_frame(buf, pos)
        if length < HEAD_SIZE or length > MAX_BODY:
            raise FrameError(base_offset + pos, f"impossible record length {length}")
        stop = pos + FRAME_SIZE + length
        if stop > end:
            break
        body = mv[pos + FRAME_SIZE:stop]
        if _crc(body) != crc:
            raise FrameError(base_offset + pos, "CRC mismatch")
        out.append(decode_body(body))
        pos = stop
    return out, pos


def scan(buf, start: int = 0, end: int | None = None):
    """Yield ``(offset, body_memoryview)`` for whole frames; like ``parse`` but without building records."""
    if end is None:
        end = len(buf)
    mv = memoryview(buf)
    pos = start
    while pos < end:
        if end - pos < FRAME_SIZE:
            raise FrameError(pos, f"{end - pos} stray bytes where a record header should be", partial=True)
        length, crc = _unpack_frame(buf, pos)
        stop = pos + FRAME_SIZE + length
        if length < HEAD_SIZE or length > MAX_BODY:
            raise FrameError(pos, f"impossible record length {length}", frame_end=stop)
        if stop > end:
            raise FrameError(pos, f"record of {length} bytes cut short by the end of the data", partial=True,
                             frame_end=stop)
        body = mv[pos + FRAME_SIZE:stop]
        if _crc(body) != crc:
            raise FrameError(pos, "CRC mismatch", frame_end=stop)
        yield pos, body
        pos = stop


def peek_head(body) -> tuple[int, int, int, int, int]:
    """``(seq, ts, source_seq, type, source_len)`` from a frame body."""
    return _unpack_head(body, 0)
