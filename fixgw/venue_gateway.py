"""The venue gateway: FIX initiator sessions to the venues, child orders out, venue answers back onto the stream.

The venues and their sessions come from the day's reference data on the stream (``Venue``: host, port, session
names); the cluster config may override a session's FIX version, CompIDs, host or port. Each session reconnects with
backoff; its going up or down is itself a sequenced ``VenueSession``, which is how the algo learns where it may route.

The OMS's sequenced ``ChildOrder``/``ChildCancel``/``ChildReplace``/``ChildStatusRequest`` go out as NewOrderSingle /
OrderCancelRequest / OrderCancelReplaceRequest / OrderStatusRequest on the child's session (round-robin over the venue's sessions when the child names none).
A new child order for a session that is down is refused at once (``VenueReject``): a stale order must not reach the
market later. Cancels and replaces wait for the session: the order may still be live at the venue.
"""
from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass, field

from sequencer import messages as M

from . import dictionary as D
from . import mapping
from .gateway import Gateway
from .route import Route
from .session import SessionConfig
from .tcp import connect_initiator

_T = M.TAG_OF_CLASS
_CHILD_OUT = frozenset(_T[t] for t in (M.ChildOrder, M.ChildCancel, M.ChildReplace, M.ChildStatusRequest))


@dataclass
class _Child:
    order: M.ChildOrder
    route: Route
    cl_ord_id: str           # the ClOrdID the venue knows the order by now
    qty: int
    changes: int = 0         # cancels and replaces sent (the next ClOrdID suffix)


@dataclass
class VenueSessionSettings:
    begin: str = "FIX.4.2"
    heartbeat_s: int = 30
    sender: str = ""          # default: the session name
    target: str = ""          # default: the venue id
    host: str = ""            # default: from the Venue record
    port: int = 0
    options: dict = field(default_factory=lambda: {"validation": D.LENIENT})   # SessionConfig settings


class VenueGateway(Gateway):
    def __init__(self, name: str, password: str, host: str, port: int, oms: str = "oms",
                 default: VenueSessionSettings | None = None, overrides: dict | None = None, schedule: str = "",
                 tls: ssl.SSLContext | None = None):
        super().__init__(name, password, host, port, schedule)
        self.oms, self.tls = oms, tls
        self.default = default or VenueSessionSettings()
        self.overrides: dict[str, VenueSessionSettings] = overrides or {}   # "VENUE:SESSION" -> settings
        self.addr: dict[str, tuple[str, int]] = {}
        self.venue_routes: dict[str, list[Route]] = {}
        self.rr: dict[str, int] = {}
        self.children: dict[str, _Child] = {}
        self.by_cl_ord_id: dict[str, str] = {}        # every ClOrdID we sent -> child id
        self.session_up: dict[str, bool] = {}         # as the stream last said
        self.ready = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    # -- the stream -------------------------------------------------------------------------------------------
    def on_record(self, rec) -> None:
        t = rec.type
        if t in _CHILD_OUT and rec.source == self.oms:
            self._child_out(rec.seq, rec.msg)
        elif t == _T[M.Venue]:
            self._add_venue(rec.msg)
        elif t == _T[M.RefDataReady]:
            self.ready.set()
        elif t == _T[M.VenueSession] and rec.source == self.name:
            m = rec.msg
            self.session_up[f"{m.venue}:{m.session}"] = m.up
        elif t == _T[M.VenueReject] and rec.source == self.name:
            c = self.children.get(rec.msg.child_id)
            if c is not None:   # refused because its session was down: it must not go out later
                c.route.drop_queued(lambda m, cid=c.order.child_id: isinstance(m, M.ChildOrder) and
                                    m.child_id == cid)

    def _add_venue(self, v: M.Venue) -> None:
        routes = []
        for s in v.sessions:
            key = f"{v.venue}:{s}"
            o = self.overrides.get(key, self.default)
            cfg = SessionConfig(o.begin, o.sender or s, o.target or v.venue, initiator=True, heartbeat_s=o.heartbeat_s,
                                **o.options)
            route = self.routes.get(key) or Route(key, cfg, self._render)
            self.routes[key] = route
            self.addr[key] = (o.host or v.fix_host or "127.0.0.1", o.port or v.fix_port)
            routes.append(route)
        self.venue_routes[v.venue] = routes

    def _pick(self, o: M.ChildOrder) -> Route | None:
        routes = self.venue_routes.get(o.venue, [])
        if o.session:
            return self.routes.get(f"{o.venue}:{o.session}")
        if not routes:
            return None
        i = self.rr.get(o.venue, 0)
        self.rr[o.venue] = i + 1
        up = [r for r in routes if r.active] or routes
        return up[i % len(up)]

    def _child_out(self, seq: int, m) -> None:
        if isinstance(m, M.ChildOrder):
            route = self._pick(m)
            if route is None:
                if self.live:
                    self.edge.submit(M.VenueReject(m.child_id, f"no session to venue {m.venue} {m.session}".strip()))
                return
            self.children[m.child_id] = _Child(m, route, m.child_id, m.qty)
            self.by_cl_ord_id[m.child_id] = m.child_id
            if self.live and not route.active:
                self.edge.submit(M.VenueReject(m.child_id, f"session {route.key} is down"))
                return
            route.deliver(seq, m, self.live)
            return
        c = self.children.get(m.child_id)
        if c is None:
            if self.live:
                self.edge.submit(M.OmsAlert("UNKNOWN_CHILD", f"{type(m).__name__} for child {m.child_id}, which "
                                                             f"this gateway never sent", child_id=m.child_id))
            return
        c.route.deliver(seq, m, self.live)

    def _render(self, m) -> tuple[str, list]:
        """Also advances the child's ClOrdID chain: called exactly once per record sent (or rebuilt from a mark)."""
        if isinstance(m, M.ChildOrder):
            return "D", mapping.child_new(m, time.time_ns())
        c = self.children[m.child_id]
        if isinstance(m, M.ChildStatusRequest):    # names the order by the ClOrdID the venue knows it by now
            return "H", mapping.child_status_request(c.cl_ord_id, c.order)
        c.changes += 1
        new_id = f"{m.child_id}.{c.changes}"
        self.by_cl_ord_id[new_id] = m.child_id
        orig, now = c.cl_ord_id, time.time_ns()
        if isinstance(m, M.ChildCancel):
            return "F", mapping.child_cancel(new_id, orig, c.order, c.qty, now)
        return "G", mapping.child_replace(new_id, orig, c.order, m.qty, m.px, now)

    # -- the sessions -----------------------------------------------------------------------------------------
    def _on_app(self, route: Route, conn, msgtype: str, fields) -> None:
        key = route.key
        v = mapping.values_of(fields)
        if msgtype not in ("8", "9"):
            self.edge.submit(M.OmsAlert("VENUE_MESSAGE", f"{key} sent {msgtype}, which the gateway does not handle"))
            return
        cl = v.get(11, "")
        child_id = self.by_cl_ord_id.get(cl) or self.by_cl_ord_id.get(v.get(41, ""))
        if child_id is None:
            dk = msgtype == "8" and 17 in v
            self.edge.submit(M.OmsAlert("UNKNOWN_VENUE_ORDER", f"{key}: {msgtype} for ClOrdID {cl!r} "
                                                               f"(ExecID {v.get(17, '')}), which we never sent"
                                                               + ("; answered DontKnowTrade" if dk else "")))
            if dk:   # an execution of an order we never sent: tell the venue we do not know it (35=Q)
                conn.send_app("Q", mapping.dont_know_trade(v, text=f"no order with ClOrdID {cl[:40]}"))
            return
        try:
            msg = mapping.venue_event(msgtype, v, child_id, conn.session.cfg.begin)
        except mapping.MappingError as e:
            self.edge.submit(M.OmsAlert("VENUE_MESSAGE", f"{key}: {e}", child_id=child_id))
            return
        if msg is None:
            return
        c = self.children.get(child_id)
        if c is not None:
            if isinstance(msg, M.VenueReplaced):
                c.cl_ord_id, c.qty = cl, msg.qty
        try:
            self.edge.submit(msg)
        except (OverflowError, ValueError, TypeError) as e:   # the mapping's bounds should make this unreachable
            self.edge.submit(M.OmsAlert("VENUE_MESSAGE", f"{key}: cannot take {msgtype}: {e}", child_id=child_id))

    def _session_log(self, route: Route, text: str) -> None:
        """A venue message the session layer refused never reaches us, and the venue will not send it again (its
        MsgSeqNum is consumed): a person must hear of it, since it may have been a fill."""
        self.log(f"{route.key}: {text}")
        if text.startswith("reject sent: "):
            self.edge.submit(M.OmsAlert("VENUE_MESSAGE_REJECTED", f"{route.key}: a message from the venue was "
                                                                  f"refused by the session layer: {text[len('reject sent: '):][:200]}"))

    def _state_changed(self, route: Route, conn) -> None:
        route.conn = conn
        was_up, route.up = route.up, route.active
        venue, _, session = route.key.partition(":")
        if route.up and not was_up:
            self.log(f"{route.key}: logged on; {len(route.queue)} message(s) waiting")
            self.edge.submit(M.VenueSession(venue, session, True))
            route.drain()
        elif was_up and not route.up:
            self.log(f"{route.key}: session down")
            self.edge.submit(M.VenueSession(venue, session, False))
        self.on_state(route)

    def resumed(self) -> None:
        # the log may say a session is up that this (new) process has not connected yet
        for key, up in self.session_up.items():
            if up and key in self.routes:
                venue, _, session = key.partition(":")
                self.edge.submit(M.VenueSession(venue, session, False))
        self.edge.flush()

    async def _keep_connected(self, route: Route) -> None:
        host, port = self.addr[route.key]
        backoff = 0.1
        loop = asyncio.get_running_loop()
        while not self.stop.is_set():
            closed = loop.create_future()
            try:
                conn = await connect_initiator(
                    route.cfg, host, port, lambda c, t, f, r=route: self._on_app(r, c, t, f), route.state, self.tls,
                    lambda m, r=route: self._session_log(r, m), on_state=lambda c, r=route: self._state_changed(r, c),
                    on_closed=lambda c, f=closed: f.done() or f.set_result(True), msglog=self.msglog(route))
            except OSError as e:
                self.log(f"{route.key}: cannot connect to {host}:{port} ({e.strerror or e}); retry in {backoff:.1f}s")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            await closed
            if self.stop.is_set():
                return
            # a session that was logged on reconnects quickly; one refused at logon backs off
            backoff = 0.1 if conn.logged_on else min(backoff * 2, 5.0)
            await asyncio.sleep(backoff)

    async def start_sessions(self) -> None:
        if not self.ready.is_set():
            self.log("waiting for the day's reference data (venues) on the stream")
        await self.ready.wait()
        self.log(f"connecting {len(self.routes)} venue session(s)")
        self._tasks = [asyncio.create_task(self._keep_connected(r)) for r in self.routes.values()]

    async def stop_sessions(self) -> None:
        await super().stop_sessions()
        for t in self._tasks:
            t.cancel()
