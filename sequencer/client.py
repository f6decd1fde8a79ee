"""The client side of the sequencer protocol, for asyncio programs (the app runtime, gateways, tools).

Submissions are batched: ``submit`` only appends to a buffer, and one callback at the end of the event loop's turn
sends everything buffered as one SUBMIT frame.
"""
from __future__ import annotations

import asyncio

from . import messages, protocol, record, tls
from .net import no_delay
from .protocol import ProtocolError

SUBMIT_FLUSH_BYTES = 1024 * 1024
WELCOME_TIMEOUT_S = 3.0     # a sequencer that accepts the connection but does not answer (stopped, or a standby)
SILENCE_S = 2.0             # with HA: a live subscription that hears nothing this long (the primary sends a Clock
                            # record at least every clock_interval_ms) is given up, and another node is tried

# every address a sequencer of this cluster may answer on (sequencer/config.py's addresses(), set once when a process
# reads its own [apps.NAME]); connect() tries the one it is given first, then these
_addresses: list[tuple[str, int]] = []
# the highest primary term this process has seen: a primary with a lower one is an old primary (sequencer/ha.py)
_max_term = 0


def use_addresses(addresses: list[tuple[str, int]]) -> None:
    global _addresses
    _addresses = list(addresses)


class SequencerError(Exception):
    """The sequencer refused us (its ERROR text) or the stream it sent was not valid."""


class SequencerConnection(asyncio.Protocol):
    def __init__(self, on_records=None, on_caught_up=None, on_lost=None):
        self.on_records = on_records or (lambda recs: None)
        self.on_caught_up = on_caught_up or (lambda seq: None)
        self.on_lost = on_lost or (lambda exc: None)
        self.reader = protocol.FrameReader()
        self.transport = None
        self.welcome: asyncio.Future = asyncio.get_running_loop().create_future()
        self.error: str | None = None
        self._out: list[tuple[int, int, bytes]] = []
        self._out_size = 0
        self._flush_pending = False
        self.closed = False
        self.live = False
        self.last_heard = 0.0

    def connection_made(self, transport):
        self.transport = transport
        no_delay(transport)

    def _watch_silence(self):
        """With several sequencer nodes: abort a live subscription that went quiet (its primary stopped or was cut
        off), so the owner reconnects to whichever node leads now."""
        if self.closed:
            return
        loop = asyncio.get_running_loop()
        if self.live and loop.time() - self.last_heard > SILENCE_S:
            self.error = f"no record from the sequencer for {SILENCE_S:g} s"
            self.transport.abort()
            return
        loop.call_later(SILENCE_S / 4, self._watch_silence)

    def data_received(self, data):
        self.last_heard = asyncio.get_running_loop().time()
        try:
            for kind, body in self.reader.feed(data):
                if kind == protocol.RECORDS:
                    recs, used = record.parse(body)
                    if used != len(body):
                        raise ProtocolError("RECORDS frame ends inside a record")
                    self.on_records(recs)
                elif kind == protocol.CAUGHT_UP:
                    if len(_addresses) > 1 and not self.live:
                        self.live = True
                        self._watch_silence()
                    self.on_caught_up(protocol.U64.unpack(body)[0])
                elif kind == protocol.WELCOME:
                    self.welcome.set_result(protocol.decode_welcome(body))
                elif kind == protocol.ERROR:
                    self.error = body.decode(errors="replace")
                    if not self.welcome.done():
                        self.welcome.set_exception(SequencerError(self.error))
                else:
                    raise ProtocolError(f"unexpected frame kind {kind} from the sequencer")
        except (ProtocolError, record.FrameError) as e:
            self.error = f"bad stream from the sequencer: {e}"
            self.transport.abort()

    def connection_lost(self, exc):
        self.closed = True
        if not self.welcome.done():
            self.welcome.set_exception(SequencerError(self.error or f"connection lost: {exc}"))
        self.on_lost(SequencerError(self.error) if self.error else exc)

    def submit(self, source_seq: int, type_: int, payload: bytes) -> None:
        self._out.append((source_seq, type_, payload))
        self._out_size += len(payload) + 16
        if self._out_size >= SUBMIT_FLUSH_BYTES:
            self.flush()
        elif not self._flush_pending:
            self._flush_pending = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self):
        self._flush_pending = False
        if self._out and not self.closed:
            self.transport.write(protocol.frame(protocol.SUBMIT, protocol.encode_items(self._out)))
        self._out = []
        self._out_size = 0

    def progress(self, seq: int) -> None:
        """Tell the sequencer the last seq this app has processed (shown as its lag by ``cluster status``)."""
        if not self.closed:
            self.transport.write(protocol.frame(protocol.PROGRESS, protocol.U64.pack(seq)))

    def subscribe(self, from_seq: int):
        self.transport.write(protocol.frame(protocol.SUBSCRIBE, protocol.U64.pack(from_seq)))

    def close(self):
        self.flush()
        if self.transport is not None:
            self.transport.close()


async def connect(host: str, port: int, app: str, password: str, **callbacks):
    """Open a connection and say hello: to ``host:port`` first, then to every other address of the cluster's
    sequencers (``use_addresses``) until one answers as the primary. Returns ``(connection, welcome)``; raises
    ``SequencerError`` or OSError (the first address's) if none does."""
    global _max_term
    first_error: BaseException | None = None
    for h, p in [(host, port)] + [a for a in _addresses if a != (host, port)]:
        try:
            conn, welcome = await asyncio.wait_for(_hello(h, p, app, password, callbacks), WELCOME_TIMEOUT_S)
        except (OSError, SequencerError, asyncio.TimeoutError) as e:
            first_error = first_error or (e if not isinstance(e, asyncio.TimeoutError) else
                                          OSError(f"sequencer {h}:{p} did not answer in {WELCOME_TIMEOUT_S:g} s"))
            continue
        if welcome.term < _max_term:       # fencing: an old primary that does not know it was replaced
            _abandon(conn)
            first_error = first_error or SequencerError(f"sequencer {h}:{p} is in term {welcome.term}, older than "
                                                        f"term {_max_term} already seen")
            continue
        _max_term = welcome.term
        return conn, welcome
    raise first_error


async def _hello(host: str, port: int, app: str, password: str, callbacks: dict):
    loop = asyncio.get_running_loop()
    ctx = tls.client_context()
    _, conn = await loop.create_connection(lambda: SequencerConnection(**callbacks), host, port, ssl=ctx,
                                           server_hostname=host if ctx else None)
    try:
        conn.transport.write(protocol.frame(protocol.HELLO, protocol.encode(
            protocol.Hello(app, password, messages.SCHEMA_VERSION))))
        welcome = await conn.welcome
    except BaseException:
        _abandon(conn)
        raise
    return conn, welcome


def _abandon(conn: SequencerConnection) -> None:
    """Close an attempt that did not become the connection: its owner must not hear that it was lost (the owner's
    callbacks belong to the connection that ``connect`` returns)."""
    conn.on_records = conn.on_caught_up = conn.on_lost = lambda *_: None
    conn.transport.abort()
