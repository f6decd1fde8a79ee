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

    def connection_made(self, transport):
        self.transport = transport
        no_delay(transport)

    def data_received(self, data):
        try:
            for kind, body in self.reader.feed(data):
                if kind == protocol.RECORDS:
                    recs, used = record.parse(body)
                    if used != len(body):
                        raise ProtocolError("RECORDS frame ends inside a record")
                    self.on_records(recs)
                elif kind == protocol.CAUGHT_UP:
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

    def subscribe(self, from_seq: int):
        self.transport.write(protocol.frame(protocol.SUBSCRIBE, protocol.U64.pack(from_seq)))

    def close(self):
        self.flush()
        if self.transport is not None:
            self.transport.close()


async def connect(host: str, port: int, app: str, password: str, **callbacks):
    """Open a connection and say hello. Returns ``(connection, welcome)``; raises ``SequencerError`` or OSError."""
    loop = asyncio.get_running_loop()
    ctx = tls.client_context()
    _, conn = await loop.create_connection(lambda: SequencerConnection(**callbacks), host, port, ssl=ctx,
                                           server_hostname=host if ctx else None)
    conn.transport.write(protocol.frame(protocol.HELLO, protocol.encode(
        protocol.Hello(app, password, messages.SCHEMA_VERSION))))
    welcome = await conn.welcome
    return conn, welcome
