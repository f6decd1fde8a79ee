"""Real sockets around the pure ``Session``: the acceptor and the initiator. This is the I/O edge, so it is the
place that reads the clock (every call into the session passes the time)."""
from __future__ import annotations

import asyncio
import ssl
import sys
import time

from sequencer.net import no_delay

from .session import Session, SessionConfig, SessionState

TICK_S = 1.0


class FixConnection(asyncio.Protocol):
    """One TCP connection carrying one FIX session. ``on_app(conn, msgtype, fields)`` gets application messages."""

    def __init__(self, session: Session, on_app, log=None, on_closed=None, on_state=None):
        self.session = session
        self.on_app = on_app
        self.on_state = on_state or (lambda conn: None)  # after anything that may change the session's state
        self.log = log or (lambda m: print(f"fix {session.cfg.sender}->{session.cfg.target}: {m}",
                                           file=sys.stderr, flush=True))
        self.on_closed = on_closed
        self.transport = None
        self._tick = None
        self.closed = False
        self.logged_on = False           # reached the active state at least once on this connection

    def connection_made(self, transport):
        self.transport = transport
        no_delay(transport)
        self.perform(self.session.on_connect(time.time_ns()))
        self._tick = asyncio.get_running_loop().call_later(TICK_S, self._on_tick)

    def data_received(self, data):
        self.perform(self.session.on_data(data, time.time_ns()))

    def connection_lost(self, exc):
        self.closed = True
        self.session.on_disconnect()
        if self._tick:
            self._tick.cancel()
        if self.on_closed:
            self.on_closed(self)
        self.on_state(self)

    def _on_tick(self):
        if not self.closed:
            self.perform(self.session.on_tick(time.time_ns()))
            self._tick = asyncio.get_running_loop().call_later(TICK_S, self._on_tick)

    def send_app(self, msgtype: str, body: list, poss_resend: bool = False) -> None:
        self.perform(self.session.send_app(msgtype, body, time.time_ns(), poss_resend))

    def perform(self, actions) -> None:
        self._perform(actions)
        self.logged_on = self.logged_on or self.session.status == Session.ACTIVE
        self.on_state(self)

    def _perform(self, actions) -> None:
        for a in actions:
            kind = a[0]
            if kind == "send":
                if not self.closed:
                    self.transport.write(a[1])
            elif kind == "app":
                self.on_app(self, a[1], a[2])
            elif kind == "log":
                self.log(a[1])
            elif kind == "disconnect":
                self.log(f"disconnect: {a[1]}")
                self.closed = True
                self.transport.close()
                return


class Acceptor:
    """Listens for counterparties; one session state per configured (their CompID) survives reconnects. A second
    connection for a session that is already connected is refused (duplicate logon)."""

    def __init__(self, configs: list[SessionConfig], on_app, tls: ssl.SSLContext | None = None, log=None,
                 on_state=None, admit=None):
        self.configs = {c.target: c for c in configs}
        self.states = {c.target: SessionState() for c in configs}
        self.active: dict[str, FixConnection] = {}
        self.on_app = on_app
        self.tls = tls
        self.log = log
        self.on_state = on_state
        self.admit = admit or (lambda who: None)   # a reason to refuse this counterparty now (session schedule)
        self.server = None

    def _make(self):
        return _Sniffer(self)

    async def start(self, host: str, port: int):
        self.server = await asyncio.get_running_loop().create_server(self._make, host, port, ssl=self.tls,
                                                                     reuse_address=True)
        return self.server.sockets[0].getsockname()[1]


class _Sniffer(asyncio.Protocol):
    """Reads until the Logon names the counterparty, then hands the connection to that session."""

    def __init__(self, acc: Acceptor):
        self.acc = acc
        self.buf = b""
        self.conn: FixConnection | None = None
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        if self.conn is not None:
            self.conn.data_received(data)
            return
        self.buf += data
        i = self.buf.find(b"\x0149=")
        if i < 0:
            if len(self.buf) > 4096:
                self.transport.close()
            return
        j = self.buf.find(b"\x01", i + 1)
        if j < 0:
            return
        who = self.buf[i + 4:j].decode(errors="replace")
        cfg = self.acc.configs.get(who)
        if cfg is None:
            print(f"fix: connection from unknown SenderCompID {who!r} closed", file=sys.stderr, flush=True)
            self.transport.close()
            return
        refusal = self.acc.admit(who)
        if refusal:
            print(f"fix: connection from {who!r} closed: {refusal}", file=sys.stderr, flush=True)
            self.transport.close()
            return
        if who in self.acc.active and not self.acc.active[who].closed:
            print(f"fix: duplicate logon for {who!r} refused; the session is already connected", file=sys.stderr,
                  flush=True)
            self.transport.close()
            return
        session = Session(cfg, self.acc.states[who])
        self.conn = FixConnection(session, self.acc.on_app, self.acc.log,
                                  on_closed=lambda c: self.acc.active.pop(who, None) if
                                  self.acc.active.get(who) is c else None, on_state=self.acc.on_state)
        self.acc.active[who] = self.conn
        self.conn.connection_made(self.transport)
        data, self.buf = self.buf, b""
        self.conn.data_received(data)

    def connection_lost(self, exc):
        if self.conn is not None:
            self.conn.connection_lost(exc)


async def connect_initiator(cfg: SessionConfig, host: str, port: int, on_app, state: SessionState | None = None,
                            tls: ssl.SSLContext | None = None, log=None, on_state=None,
                            on_closed=None) -> FixConnection:
    loop = asyncio.get_running_loop()
    session = Session(cfg, state)
    _, conn = await loop.create_connection(lambda: FixConnection(session, on_app, log, on_closed, on_state), host,
                                           port, ssl=tls, server_hostname=host if tls else None)
    return conn
