"""What both FIX gateways share: the link to the sequencer, the sessions as ``Route``s rebuilt from the day's log,
session marks after every change, and the session schedule.

A gateway reads the day's stream from seq 1 before it opens a single session (that is how it resumes after a
restart), then runs live. It sends a counterparty only what came back sequenced. This is an I/O edge, so it may
read the clock (SendingTime, schedule); the messages it submits are the record of what the outside world said.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import signal
import sys
import time
from zoneinfo import ZoneInfo

from sequencer import messages as M
from sequencer.edge import EdgeClient

from .msglog import MessageLog
from .route import Route

NEW_YORK = ZoneInfo("America/New_York")
_MARK = M.TAG_OF_CLASS[M.FixSessionMark]


def parse_schedule(text: str) -> tuple[int, int] | None:
    """``"HH:MM-HH:MM"`` (New York time) to (start, end) seconds after midnight; "" means always open."""
    if not text:
        return None
    try:
        a, b = text.split("-")
        start = [int(x) for x in a.split(":")]
        end = [int(x) for x in b.split(":")]
        s, e = start[0] * 3600 + start[1] * 60, end[0] * 3600 + end[1] * 60
    except (ValueError, IndexError):
        raise ValueError(f"schedule {text!r} must look like HH:MM-HH:MM (New York time)") from None
    if not (0 <= s < 86400 and 0 < e <= 86400 and s < e):
        raise ValueError(f"schedule {text!r}: the start must come before the end, within one day")
    return s, e


def in_schedule(schedule: tuple[int, int] | None, now_ns: int) -> bool:
    if schedule is None:
        return True
    t = dt.datetime.fromtimestamp(now_ns / 1e9, NEW_YORK)
    s = t.hour * 3600 + t.minute * 60 + t.second
    return schedule[0] <= s < schedule[1]


class Gateway:
    """Subclasses fill ``self.routes`` and implement ``on_record`` (one sequenced record) and ``start_sessions``."""

    def __init__(self, name: str, password: str, host: str, port: int, schedule: str = ""):
        self.name = name
        self.edge = EdgeClient(name, password, host, port, self._on_records, self.log)
        self.routes: dict[str, Route] = {}
        self.schedule = parse_schedule(schedule)
        self.live = False
        self._dirty: dict[str, Route] = {}
        self._mark_scheduled = False
        self.stop = asyncio.Event()          # set by SIGTERM: log the sessions out, then stop
        self._edge_stop = asyncio.Event()    # set after the final marks are submitted
        self.message_log_dir = ""            # "" = no message logs (set from the config)
        self._msglogs: dict[str, MessageLog] = {}

    def msglog(self, route: Route) -> MessageLog | None:
        """The session's message log (one per session for the whole run, across reconnects)."""
        if not self.message_log_dir:
            return None
        m = self._msglogs.get(route.key)
        if m is None:
            c = route.cfg
            m = self._msglogs[route.key] = MessageLog(self.message_log_dir, c.begin, c.sender, c.target)
        return m

    def log(self, text: str) -> None:
        print(f"{self.name}: {text}", file=sys.stderr, flush=True)

    # -- the stream -------------------------------------------------------------------------------------------
    def _on_records(self, recs) -> None:
        for r in recs:
            if r.type == _MARK and r.source == self.name:
                if not self.live:
                    m = r.msg
                    route = self.routes.get(m.session)
                    if route is not None:
                        route.apply_mark(m)
            else:
                self.on_record(r)

    def on_record(self, rec) -> None:
        raise NotImplementedError

    # -- marks ----------------------------------------------------------------------------------------------------
    def on_state(self, route: Route) -> None:
        """A session's state may have changed: a mark at the end of this turn of the event loop."""
        self._dirty[route.key] = route
        if not self._mark_scheduled:
            self._mark_scheduled = True
            asyncio.get_running_loop().call_soon(self._write_marks)

    def _write_marks(self) -> None:
        self._mark_scheduled = False
        now = time.time_ns()
        dirty, self._dirty = self._dirty, {}
        for route in dirty.values():
            m = route.mark(self.name, now)
            if m is not None:
                self.edge.submit(m)
        self.edge.flush()

    # -- running ------------------------------------------------------------------------------------------------
    async def start_sessions(self) -> None:
        raise NotImplementedError

    async def stop_sessions(self) -> None:
        """Log out every session, wait briefly for the replies, and write the final marks (``up`` False)."""
        for route in self.routes.values():
            if route.active:
                route.conn.perform(route.conn.session.logout(time.time_ns(), "gateway stopping"))
        for _ in range(20):
            if not any(r.conn is not None and not r.conn.closed for r in self.routes.values()):
                break
            await asyncio.sleep(0.05)
        for route in self.routes.values():
            if route.conn is not None and not route.conn.closed:
                route.conn.transport.close()
                route.conn.closed = True
            self.on_state(route)
        self._write_marks()
        for m in self._msglogs.values():
            m.close()
        for _ in range(100):           # until the sequencer has everything we submitted (at most 5 s)
            if not self.edge.pending:
                break
            await asyncio.sleep(0.05)

    async def _schedule_watch(self) -> None:
        while not self.stop.is_set():
            if not in_schedule(self.schedule, time.time_ns()):
                for route in self.routes.values():
                    if route.active:
                        self.log(f"{route.key}: outside the session schedule: logging out")
                        route.conn.perform(route.conn.session.logout(time.time_ns(), "end of session schedule"))
            await asyncio.sleep(1.0)

    async def run(self) -> None:
        edge_task = asyncio.create_task(self.edge.run(self._edge_stop))
        waiter = asyncio.create_task(self.edge.caught_up.wait())
        stopping = asyncio.create_task(self.stop.wait())
        await asyncio.wait([waiter, edge_task, stopping], return_when=asyncio.FIRST_COMPLETED)
        if not waiter.done():
            waiter.cancel()
            self._edge_stop.set()
            await edge_task
            return
        for route in self.routes.values():
            self.log(route.resume())
        self.live = True
        self.resumed()
        await self.start_sessions()
        watch = asyncio.create_task(self._schedule_watch())
        await asyncio.wait([edge_task, stopping], return_when=asyncio.FIRST_COMPLETED)
        watch.cancel()
        if not edge_task.done():
            await self.stop_sessions()
            self._edge_stop.set()
        await edge_task   # raises what stopped it, if anything did

    def resumed(self) -> None:
        """Called once when the log has been read, before the sessions open."""


def run_gateway(gw: Gateway) -> int:
    async def main():
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, gw.stop.set)
        await gw.run()
    try:
        asyncio.run(main())
    except Exception:
        import traceback
        traceback.print_exc()
        print(f"{gw.name}: FATAL: the gateway stopped on an internal error (above); restart it: it resumes from the "
              f"log", file=sys.stderr, flush=True)
        return 3
    return 0
