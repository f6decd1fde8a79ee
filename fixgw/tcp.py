"""Real sockets around the pure ``Session``: the acceptor and the initiator. This is the I/O edge, so it is the
place that reads the clock (every call into the session passes the time) and writes the session's message log.

The acceptor binds a connection to a session only after a whole, authenticated Logon (CompIDs, and the 4.4
Username/Password when the session has one): a connection that merely names a client's SenderCompID holds nothing.
Before that, a connection has ``logon_timeout_s`` and 4 KiB to send its Logon. A failed logon is answered by closing
the connection after ``FAILED_LOGON_DELAY_S``; a host with ``FAILED_LOGON_LIMIT`` failures within
``FAILED_LOGON_WINDOW_S`` is refused at once until the window passes. None of this writes to the day's log.
"""
from __future__ import annotations

import asyncio
import ssl
import sys
import time

from sequencer.net import no_delay

from .framing import FixFramer, split_fields
from .msglog import MessageLog
from .session import Session, SessionConfig, SessionState, credentials_match

TICK_S = 1.0
PRE_LOGON_BYTES = 4096
FAILED_LOGON_DELAY_S = 1.0
FAILED_LOGON_LIMIT = 5
FAILED_LOGON_WINDOW_S = 60.0


class FixConnection(asyncio.Protocol):
    """One TCP connection carrying one FIX session. ``on_app(conn, msgtype, fields)`` gets application messages."""

    def __init__(self, session: Session, on_app, log=None, on_closed=None, on_state=None,
                 msglog: MessageLog | None = None):
        self.session = session
        self.on_app = on_app
        self.on_state = on_state or (lambda conn: None)  # after anything that may change the session's state
        self.log = log or (lambda m: print(f"fix {session.cfg.sender}->{session.cfg.target}: {m}",
                                           file=sys.stderr, flush=True))
        self.msglog = msglog
        self.on_closed = on_closed
        self.transport = None
        self._tick = None
        self.closed = False
        self.logged_on = False           # reached the active state at least once on this connection

    def connection_made(self, transport):
        self.transport = transport
        no_delay(transport)
        self._event("connected")
        self.perform(self.session.on_connect(time.time_ns()))
        self._tick = asyncio.get_running_loop().call_later(TICK_S, self._on_tick)

    def data_received(self, data):
        self.perform(self.session.on_data(data, time.time_ns()))

    def connection_lost(self, exc):
        self.closed = True
        self.session.on_disconnect()
        self._event(f"disconnected{': ' + str(exc) if exc else ''}")
        if self.msglog:
            self.msglog.flush()
        if self._tick:
            self._tick.cancel()
        if self.on_closed:
            self.on_closed(self)
        self.on_state(self)

    def _on_tick(self):
        if not self.closed:
            self.perform(self.session.on_tick(time.time_ns()))
            if self.msglog:
                self.msglog.flush()
            self._tick = asyncio.get_running_loop().call_later(TICK_S, self._on_tick)

    def send_app(self, msgtype: str, body: list, poss_resend: bool = False) -> None:
        self.perform(self.session.send_app(msgtype, body, time.time_ns(), poss_resend))

    def perform(self, actions) -> None:
        self._perform(actions)
        self.logged_on = self.logged_on or self.session.status == Session.ACTIVE
        self.on_state(self)

    def _event(self, text: str) -> None:
        if self.msglog:
            self.msglog.event(time.time_ns(), text)

    def _perform(self, actions) -> None:
        msglog = self.msglog
        for a in actions:
            kind = a[0]
            if kind == "send":
                if not self.closed:
                    self.transport.write(a[1])
                    if msglog:
                        msglog.message(time.time_ns(), "out", a[1])
            elif kind == "recv":
                if msglog:
                    msglog.message(time.time_ns(), "in", a[1])
            elif kind == "app":
                try:
                    self.on_app(self, a[1], a[2])
                except Exception as e:  # noqa: BLE001 - one message's bug must not drop the session or the read
                    self.log(f"application error on {a[1]} (the session goes on): {type(e).__name__}: {e}")
                    self._event(f"application error on {a[1]}: {type(e).__name__}: {e}")
            elif kind in ("log", "event"):
                self.log(a[1])
                self._event(a[1])
            elif kind == "disconnect":
                self.log(f"disconnect: {a[1]}")
                self._event(f"disconnect: {a[1]}")
                self.closed = True
                self.transport.close()
                return


class Acceptor:
    """Listens for counterparties; one session state per configured (their CompID) survives reconnects. A second
    connection for a session that is already connected is refused (duplicate logon)."""

    def __init__(self, configs: list[SessionConfig], on_app, tls: ssl.SSLContext | None = None, log=None,
                 on_state=None, admit=None, message_log_dir: str = ""):
        self.configs = {c.target: c for c in configs}
        self.states = {c.target: SessionState() for c in configs}
        self.msglogs = {c.target: MessageLog(message_log_dir, c.begin, c.sender, c.target) for c in configs} \
            if message_log_dir else {}
        self.active: dict[str, FixConnection] = {}
        self.on_app = on_app
        self.tls = tls
        self.conn_log = log                          # None: each connection names its session
        self.log = log or (lambda m: print(f"fix: {m}", file=sys.stderr, flush=True))
        self.on_state = on_state
        self.admit = admit or (lambda who: None)   # a reason to refuse this counterparty now (session schedule)
        self.failures: dict[str, list[float]] = {}  # peer host -> monotonic times of failed logons
        self.server = None

    def _make(self):
        return _Sniffer(self)

    async def start(self, host: str, port: int):
        self.server = await asyncio.get_running_loop().create_server(self._make, host, port, ssl=self.tls,
                                                                     reuse_address=True)
        return self.server.sockets[0].getsockname()[1]

    def locked_out(self, host: str) -> bool:
        now = time.monotonic()
        recent = [t for t in self.failures.get(host, ()) if now - t < FAILED_LOGON_WINDOW_S]
        if recent:
            self.failures[host] = recent
        else:
            self.failures.pop(host, None)
        return len(recent) >= FAILED_LOGON_LIMIT

    def failed(self, host: str, why: str) -> None:
        self.failures.setdefault(host, []).append(time.monotonic())
        n = len(self.failures[host])
        if n <= FAILED_LOGON_LIMIT:
            self.log(f"logon refused from {host}: {why}" + (
                f"; {n} failures: further logons from {host} are refused for {FAILED_LOGON_WINDOW_S:.0f} s"
                if n == FAILED_LOGON_LIMIT else ""))

    def close(self) -> None:
        if self.server:
            self.server.close()
        for m in self.msglogs.values():
            m.close()


class _Sniffer(asyncio.Protocol):
    """Holds a new connection until its first message is a whole Logon that authenticates, then hands the connection
    to that session. Nothing of a session is touched before."""

    def __init__(self, acc: Acceptor):
        self.acc = acc
        self.framer = FixFramer(max_body=PRE_LOGON_BYTES)
        self.buf = b""
        self.conn: FixConnection | None = None
        self.transport = None
        self.host = "?"
        self.timer = None
        self.done = False

    def connection_made(self, transport):
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.host = str(peer[0]) if peer else "?"
        if self.acc.locked_out(self.host):
            self.done = True
            transport.close()
            return
        timeout = min((c.logon_timeout_s for c in self.acc.configs.values()), default=10)
        self.timer = asyncio.get_running_loop().call_later(timeout, self._timeout)

    def _timeout(self):
        if self.conn is None and not self.done:
            self._refuse("no Logon in time", delay=False)

    def _refuse(self, why: str, delay: bool = True) -> None:
        self.done = True
        self.acc.failed(self.host, why)
        if self.timer:
            self.timer.cancel()
        if delay:
            self.transport.pause_reading()
            asyncio.get_running_loop().call_later(FAILED_LOGON_DELAY_S, self.transport.close)
        else:
            self.transport.close()

    def data_received(self, data):
        if self.conn is not None:
            self.conn.data_received(data)
            return
        if self.done:
            return
        self.buf += data
        frames = self.framer.feed(data)
        if not frames:
            if len(self.buf) > PRE_LOGON_BYTES:
                self._refuse(f"more than {PRE_LOGON_BYTES} bytes without a Logon")
            return
        first = frames[0]
        if not isinstance(first, bytes):
            return self._refuse(f"garbled first message ({first.reason})")
        values = dict(reversed(split_fields(first)))
        who = values.get(b"49", b"").decode(errors="replace")
        cfg = self.acc.configs.get(who)
        if values.get(b"35") != b"A":
            return self._refuse(f"first message is not a Logon (from {who[:40]!r})")
        if cfg is None or values.get(b"56", b"").decode(errors="replace") != cfg.sender:
            return self._refuse(f"Logon from unknown CompIDs {who[:40]!r} -> {values.get(b'56', b'')[:40]!r}")
        if values.get(b"8", b"").decode(errors="replace") != cfg.begin:
            return self._refuse(f"{who}: Logon in {values.get(b'8', b'')[:12]!r}, the session is {cfg.begin}")
        if cfg.begin == "FIX.4.4" and cfg.username and not credentials_match(values, cfg):
            return self._refuse(f"{who}: wrong Username/Password")
        refusal = self.acc.admit(who)
        if refusal:
            self.done = True
            self.acc.log(f"connection from {who!r} closed: {refusal}")
            self.transport.close()
            return
        if who in self.acc.active and not self.acc.active[who].closed:
            self.done = True
            self.acc.log(f"duplicate logon for {who!r} refused; the session is already connected")
            self.transport.close()
            return
        if self.timer:
            self.timer.cancel()
        session = Session(cfg, self.acc.states[who])
        self.conn = FixConnection(session, self.acc.on_app, self.acc.conn_log,
                                  on_closed=lambda c: self.acc.active.pop(who, None) if
                                  self.acc.active.get(who) is c else None, on_state=self.acc.on_state,
                                  msglog=self.acc.msglogs.get(who))
        self.acc.active[who] = self.conn
        self.conn.connection_made(self.transport)
        data, self.buf = self.buf, b""
        self.conn.data_received(data)

    def connection_lost(self, exc):
        if self.timer:
            self.timer.cancel()
        if self.conn is not None:
            self.conn.connection_lost(exc)


async def connect_initiator(cfg: SessionConfig, host: str, port: int, on_app, state: SessionState | None = None,
                            tls: ssl.SSLContext | None = None, log=None, on_state=None,
                            on_closed=None, msglog: MessageLog | None = None) -> FixConnection:
    loop = asyncio.get_running_loop()
    session = Session(cfg, state)
    _, conn = await loop.create_connection(lambda: FixConnection(session, on_app, log, on_closed, on_state, msglog),
                                           host, port, ssl=tls, server_hostname=host if tls else None)
    return conn
