"""The sequencer's TCP protocol: length-prefixed frames of a kind byte and a body.

    frame = length:u32 (of kind + body) kind:u8 body

client -> server
    HELLO      msgpack Hello                      first frame of every connection
    SUBMIT     msgpack [[source_seq, type, payload], ...]   a batch of outputs, in source_seq order
    SUBSCRIBE  from_seq:u64                       history from the log, then live
    REPLICATE  msgpack Replicate                  a standby sequencer (sequencer/ha.py) asks for the log after its
                                                  last record; it then gets RECORDS like a subscriber, and answers
    ACK        seq:u64                            each with the last seq it has appended and synced
    PROGRESS   seq:u64                            an app: the last seq it has processed (its lag, for operators)
    STATUS     (empty) or msgpack Hello           operators' question, allowed without HELLO. Without credentials
                                                  the answer is public: day, head seq, clock; with an app's
                                                  credentials it adds the log path and every connection
                                                  (at most STATUS_PER_S a connection, then it is closed)
server -> client
    WELCOME    msgpack Welcome                    answer to HELLO
    RECORDS    record frames exactly as in the log (see record.py), whole frames only
    CAUGHT_UP  seq:u64                            the history part of a subscription ended at this seq; live follows
    ERROR      utf-8 text                         the server closes the connection after it
    TRUNCATE   seq:u64                            to a standby whose log has records the primary's term never
                                                  committed: cut your log after this seq, then ask again
    STATUS     msgpack Status                     the answer: head, sequenced clock, every connection's position
"""
from __future__ import annotations

import struct

import msgspec

HELLO, WELCOME, SUBMIT, SUBSCRIBE, RECORDS, CAUGHT_UP, ERROR, STATUS = 1, 2, 3, 4, 5, 6, 7, 8
REPLICATE, TRUNCATE, ACK, PROGRESS = 9, 10, 11, 12

HEAD = struct.Struct("<IB")
HEAD_SIZE = HEAD.size
U64 = struct.Struct("<Q")
MAX_FRAME = 64 * 1024 * 1024        # after HELLO: a SUBMIT batch of many records
MAX_FRAME_BEFORE_HELLO = 64 * 1024  # before it: a HELLO or a STATUS is a few hundred bytes
HELLO_TIMEOUT_S = 5.0               # a connection that has not said HELLO (or asked STATUS) by then is closed
MAX_PENDING_CONNECTIONS = 64        # connections without a HELLO at one time; more are closed at once
STATUS_PER_S = 20


class Hello(msgspec.Struct):
    app: str
    password: str
    schema_version: int


class Welcome(msgspec.Struct):
    trading_day: str
    last_source_seq: int       # the highest source_seq of this app already sequenced: resend only what is above it
    head_seq: int              # the last seq in the log when the connection was accepted
    note: str = ""             # e.g. why this app's previous connection was cut off
    term: int = 0              # the primary's term (sequencer/ha.py; 0 without HA): a client refuses a lower one


class Replicate(msgspec.Struct):
    """A standby's request for the log: its credentials, its node name, and where its own log ends."""
    app: str
    password: str
    node: str
    last_seq: int
    last_crc: int              # CRC-32 of its last record's frame: the primary checks the logs agree there
    schema_version: int


class SessionStatus(msgspec.Struct, array_like=True):
    app: str
    peer: str
    since_ns: int              # host time of the connection (UTC ns), for operators
    subscribed: bool
    live: bool                 # caught up: receives records as they are sequenced
    delivered_seq: int         # the last seq written to this connection (history or live)
    last_source_seq: int       # the highest source_seq of this app sequenced
    processed_seq: int = 0     # the last seq the app says it has processed (PROGRESS); 0: it does not say


class Status(msgspec.Struct):
    trading_day: str
    head_seq: int
    clock_ns: int              # the sequenced clock now (what apps see as time)
    clock_speed: float         # > 1: a compressed simulated day
    log_path: str
    sessions: list[SessionStatus]


class ProtocolError(Exception):
    pass


def frame(kind: int, body: bytes = b"") -> bytes:
    return HEAD.pack(len(body) + 1, kind) + body


_items_dec = msgspec.msgpack.Decoder(list[tuple[int, int, bytes]])


def encode_items(items) -> bytes:
    """Body of a SUBMIT frame from ``(source_seq, type, payload)`` items."""
    return msgspec.msgpack.encode(items if isinstance(items, list) else list(items))


def decode_items(body) -> list[tuple[int, int, bytes]]:
    """``[(source_seq, type, payload), ...]`` from a SUBMIT body (one C call for the whole batch)."""
    try:
        return _items_dec.decode(body)
    except msgspec.DecodeError as e:
        raise ProtocolError(f"bad SUBMIT body: {e}") from None


class FrameReader:
    """Accumulates stream bytes and yields whole ``(kind, body)`` frames."""

    __slots__ = ("buf", "limit")

    def __init__(self, limit: int = MAX_FRAME):
        self.buf = bytearray()
        self.limit = limit

    def feed(self, data: bytes):
        buf = self.buf
        buf += data
        pos, end = 0, len(buf)
        out = []
        unpack = HEAD.unpack_from
        while end - pos >= HEAD_SIZE:
            length, kind = unpack(buf, pos)
            if length < 1 or length > self.limit:
                raise ProtocolError(f"frame length {length} is out of range (1..{self.limit})")
            stop = pos + 4 + length
            if stop > end:
                break
            out.append((kind, bytes(buf[pos + HEAD_SIZE:stop])))
            pos = stop
        if pos:
            del buf[:pos]
        return out


_hello_dec = msgspec.msgpack.Decoder(Hello)
_welcome_dec = msgspec.msgpack.Decoder(Welcome)
encode = msgspec.msgpack.encode


def decode_hello(body: bytes) -> Hello:
    try:
        return _hello_dec.decode(body)
    except msgspec.DecodeError as e:
        raise ProtocolError(f"bad HELLO: {e}") from None


def decode_welcome(body: bytes) -> Welcome:
    return _welcome_dec.decode(body)


_status_dec = msgspec.msgpack.Decoder(Status)
_replicate_dec = msgspec.msgpack.Decoder(Replicate)


def decode_replicate(body: bytes) -> Replicate:
    try:
        return _replicate_dec.decode(body)
    except msgspec.DecodeError as e:
        raise ProtocolError(f"bad REPLICATE: {e}") from None


def decode_status(body: bytes) -> Status:
    return _status_dec.decode(body)


def short(text, limit: int = 120) -> str:
    """What an error may echo of something a peer sent: a short, escaped prefix (never megabytes into a log)."""
    r = repr(text[:limit]) if isinstance(text, (bytes, str)) else repr(text)[:limit]
    return r + ("..." if isinstance(text, (bytes, str)) and len(text) > limit else "")
