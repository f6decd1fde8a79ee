"""An asyncio FIX initiator on our session layer that keeps every application message it receives: the client
simulator, the integration tests and the benchmarks talk to the client gateway through it."""
from __future__ import annotations

import asyncio
import time

from .session import Session, SessionConfig, SessionState
from .tcp import connect_initiator


class FixClient:
    def __init__(self, cfg: SessionConfig, state: SessionState | None = None, quiet: bool = True):
        self.cfg = cfg
        self.state = state or SessionState()
        self.got: list[tuple[str, dict[int, str]]] = []
        self.got_ns: list[int] = []      # when each message in ``got`` arrived (monotonic), for latency figures
        self.raw_log: list[str] = []
        self._changed = asyncio.Event()
        self.conn = None
        self.quiet = quiet

    def _on_app(self, conn, msgtype: str, fields) -> None:
        v: dict[int, str] = {}
        for t, val in fields:
            v.setdefault(int(t), val.decode(errors="replace"))
        self.got.append((msgtype, v))
        self.got_ns.append(time.monotonic_ns())
        self._changed.set()

    def _log(self, text: str) -> None:
        self.raw_log.append(text)
        self._changed.set()
        if not self.quiet:
            print(f"fix client {self.cfg.sender}: {text}", flush=True)

    async def connect(self, host: str, port: int, timeout: float = 10.0, tls=None) -> None:
        self.conn = await connect_initiator(self.cfg, host, port, self._on_app, self.state, tls, self._log,
                                            on_state=lambda c: self._changed.set())
        await self.until(lambda: self.conn.session.status == Session.ACTIVE or self.conn.closed, timeout,
                         "logon")
        if self.conn.closed:
            raise ConnectionError(f"{self.cfg.sender}: logon refused: {self.raw_log[-3:]}")

    def send(self, msgtype: str, body: list) -> None:
        self.conn.send_app(msgtype, body)

    async def until(self, cond, timeout: float = 10.0, what: str = "condition") -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not cond():
            self._changed.clear()
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"{self.cfg.sender}: no {what} after {timeout}s; last log: {self.raw_log[-5:]}")
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 0.5))
            except asyncio.TimeoutError:
                pass

    async def wait(self, pred, timeout: float = 10.0, what: str = "message") -> tuple[str, dict[int, str]]:
        """The first received message (from the start) matching ``pred(msgtype, values)``."""
        found: list = []

        def cond():
            found[:] = [m for m in self.got if pred(*m)][:1]
            return bool(found)
        await self.until(cond, timeout, what)
        return found[0]

    async def close(self, logout: bool = True) -> None:
        if self.conn is None or self.conn.closed:
            return
        if logout and self.conn.session.status == Session.ACTIVE:
            self.conn.perform(self.conn.session.logout(time.time_ns(), "done"))
            try:
                await self.until(lambda: self.conn.closed, 3.0, "logout reply")
            except TimeoutError:
                pass
        if not self.conn.closed:
            self.conn.transport.close()
