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

import msgspec

from . import messages

FRAME = struct.Struct("<II")
HEAD = struct.Struct("<QqQHB")
FRAME_SIZE = FRAME.size
HEAD_SIZE = HEAD.size
MAX_BODY = 16 * 1024 * 1024  # a larger length field means garbage, not a record
MAX_SOURCE = 255
MAX_PAYLOAD = MAX_BODY - HEAD_SIZE - MAX_SOURCE   # the largest payload any record can carry

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


class Record(msgspec.Struct, gc=False):
    """A sequenced record. ``msg`` decodes the payload on first use (many consumers only look at ``type``).

    A ``msgspec.Struct`` rather than a plain class: subscribers build hundreds of thousands a second, and Struct
    construction runs in C."""

    seq: int
    ts: int
    source: str
    source_seq: int
    type: int
    payload: bytes
    _msg: object = None

    @property
    def msg(self) -> messages.Msg:
        m = self._msg
        if m is None:
            m = self._msg = messages.decode(self.payload, self.type)
        return m

    def __repr__(self) -> str:
        return (f"Record(seq={self.seq}, ts={self.ts}, source={self.source!r}, source_seq={self.source_seq}, "
                f"type={messages.type_name(self.type)})")

    def key(self) -> tuple:
        return (self.seq, self.ts, self.source, self.source_seq, self.type, bytes(self.payload))

    def __eq__(self, other) -> bool:  # the decoded-payload cache must not take part
        return isinstance(other, Record) and self.key() == other.key()

    __hash__ = None


_head_with_source: dict[int, struct.Struct] = {}


def encode_batch(first_seq: int, ts: int, source_b: bytes, items) -> list[bytes]:
    """Frame records ``first_seq, first_seq+1, ...`` from ``(source_seq, type, payload)`` items, one timestamp and
    one source. The only place records are framed, and the sequencer's hot path: the header and source are packed
    in one call and the CRC is chained over them and the payload, so no body is built just to checksum it."""
    slen = len(source_b)
    hs_struct = _head_with_source.get(slen)
    if hs_struct is None:
        hs_struct = _head_with_source[slen] = struct.Struct(f"<QqQHB{slen}s")
    hs_pack, fr, crc = hs_struct.pack, _pack_frame, _crc
    base = hs_struct.size
    frames = []
    append = frames.append
    seq = first_seq
    for sseq, typ, payload in items:
        hs = hs_pack(seq, ts, sseq, typ, slen, source_b)
        append(fr(base + len(payload), crc(payload, crc(hs))) + hs + payload)
        seq += 1
    return frames


def encode_record(seq: int, ts: int, source_b: bytes, source_seq: int, type_: int, payload: bytes) -> bytes:
    return encode_batch(seq, ts, source_b, ((source_seq, type_, payload),))[0]


_sources: dict[bytes, str] = {}


def decode_body(body) -> Record:
    seq, ts, sseq, typ, slen = _unpack_head(body, 0)
    end = HEAD_SIZE + slen
    sb = bytes(body[HEAD_SIZE:end])
    src = _sources.get(sb)
    if src is None:
        src = _sources[sb] = sb.decode()
    return Record(seq, ts, src, sseq, typ, bytes(body[end:]))


def parse(buf, start: int = 0, end: int | None = None, base_offset: int = 0):
    """Parse whole frames from ``buf[start:end]``.

    Returns ``(records, consumed_up_to)``; a trailing partial frame is left unconsumed. A frame whose length field is
    impossible or whose CRC does not match raises ``FrameError`` with the absolute offset (``base_offset + pos``).
    Every subscriber runs this on every record, so the body decoding is inlined.
    """
    if end is None:
        end = len(buf)
    buf = bytes(buf) if not isinstance(buf, bytes) else buf
    out = []
    append = out.append
    unpack_frame, unpack_head, crc, sources = _unpack_frame, _unpack_head, _crc, _sources
    pos = start
    while end - pos >= FRAME_SIZE:
        length, want = unpack_frame(buf, pos)
        if length < HEAD_SIZE or length > MAX_BODY:
            raise FrameError(base_offset + pos, f"impossible record length {length}")
        b0 = pos + FRAME_SIZE
        stop = b0 + length
        if stop > end:
            break
        body = buf[b0:stop]
        if crc(body) != want:
            raise FrameError(base_offset + pos, "CRC mismatch")
        seq, ts, sseq, typ, slen = unpack_head(body, 0)
        p = HEAD_SIZE + slen
        sb = body[HEAD_SIZE:p]
        src = sources.get(sb)
        if src is None:
            src = sources[sb] = sb.decode()
        append(Record(seq, ts, src, sseq, typ, body[p:]))
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
