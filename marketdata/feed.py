"""The venue market data feed's wire format (TCP): each update is a 4-byte big-endian length and a msgpack array.

    ["Q", feed_seq, sent_ns, symbol, bid_px, bid_qty, ask_px, ask_qty]   top of book
    ["T", feed_seq, sent_ns, symbol, px, qty]                            a trade
    ["S", feed_seq, sent_ns, symbol, halted]                             trading halted / resumed

``feed_seq`` counts updates per venue (a gap means the subscriber lost some); ``sent_ns`` is the venue host's
monotonic clock when it was sent, so a subscriber on the same host can measure feed-to-stream latency. A new
subscriber first gets the current top of every symbol."""
from __future__ import annotations

import asyncio
import struct

import msgspec

LEN = struct.Struct(">I")
_enc = msgspec.msgpack.Encoder()
_dec = msgspec.msgpack.Decoder()


def frame(update: list) -> bytes:
    body = _enc.encode(update)
    return LEN.pack(len(body)) + body


MAX_UPDATE = 4096   # an update is a few dozen bytes: a larger length is a broken or hostile feed


class FeedError(ValueError):
    pass


class FeedReader:
    """Whole updates from a feed's byte stream. The buffer holds at most one partial update (bounded by
    ``MAX_UPDATE``), and it is appended to in place rather than copied on every read."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data: bytes) -> list:
        buf = self.buf
        buf += data
        out, i, end = [], 0, len(buf)
        while end - i >= 4:
            (n,) = LEN.unpack_from(buf, i)
            if n > MAX_UPDATE:
                raise FeedError(f"feed update of {n} bytes (at most {MAX_UPDATE}): the feed is broken")
            if end - i - 4 < n:
                break
            try:
                out.append(_dec.decode(buf[i + 4:i + 4 + n]))
            except msgspec.DecodeError as e:
                raise FeedError(f"undecodable feed update: {e}") from None
            i += 4 + n
        if i:
            del buf[:i]
        return out


async def follow(venue: str, host: str, port: int, on_update, log) -> None:
    """Read a venue's feed for as long as the task runs, calling ``on_update(venue, update)`` for each update;
    reconnect with backoff (0.1 s doubling to 2 s) when the venue is not there, and start clean after a broken
    update (the venue sends its tops again to a new subscriber)."""
    delay = 0.1
    while True:
        try:
            r, w = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
            continue
        log(f"{venue} feed connected {host}:{port}")
        delay, fr = 0.1, FeedReader()
        try:
            while data := await r.read(262144):
                for u in fr.feed(data):
                    on_update(venue, u)
        except FeedError as e:
            log(f"{venue} feed: {e}; reconnecting")
        except OSError:
            pass
        w.close()
        log(f"{venue} feed lost; reconnecting")
