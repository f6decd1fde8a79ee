"""The venue market data feed's wire format (TCP): each update is a 4-byte big-endian length and a msgpack array.

    ["Q", feed_seq, sent_ns, symbol, bid_px, bid_qty, ask_px, ask_qty]   top of book
    ["T", feed_seq, sent_ns, symbol, px, qty]                            a trade
    ["S", feed_seq, sent_ns, symbol, halted]                             trading halted / resumed

``feed_seq`` counts updates per venue (a gap means the subscriber lost some); ``sent_ns`` is the venue host's
monotonic clock when it was sent, so a subscriber on the same host can measure feed-to-stream latency. A new
subscriber first gets the current top of every symbol."""
from __future__ import annotations

import struct

import msgspec

LEN = struct.Struct(">I")
_enc = msgspec.msgpack.Encoder()
_dec = msgspec.msgpack.Decoder()


def frame(update: list) -> bytes:
    body = _enc.encode(update)
    return LEN.pack(len(body)) + body


class FeedReader:
    def __init__(self):
        self.buf = b""

    def feed(self, data: bytes) -> list:
        buf = self.buf + data
        out, i = [], 0
        while len(buf) - i >= 4:
            (n,) = LEN.unpack_from(buf, i)
            if len(buf) - i - 4 < n:
                break
            out.append(_dec.decode(buf[i + 4:i + 4 + n]))
            i += 4 + n
        self.buf = buf[i:]
        return out
