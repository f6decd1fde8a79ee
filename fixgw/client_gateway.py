"""The client gateway: a FIX acceptor for client sessions and drop copy sessions.

Client sessions: NewOrderSingle, OrderCancelRequest, OrderCancelReplaceRequest and OrderStatusRequest become
sequenced ``NewOrder``/``CancelRequest``/``ReplaceRequest``/``StatusRequest`` for the session's client; the OMS's
sequenced ``ExecReport``/``CancelReject`` for that client go back as ExecutionReports / OrderCancelRejects in the
session's FIX version. A message the gateway cannot map (a message type the session may not send, an account it may
not use) is refused with a BusinessMessageReject, itself sequenced first (``FixReject``).

Drop copy sessions get a copy of every client ExecutionReport (all clients, or the ones listed); anything they send
beyond session messages is refused.

A PossDupFlag or PossResend order message whose ClOrdID the log already has for that client is dropped: the client
is resending something we already sequenced (after a reconnect, or after this gateway restarted).
"""
from __future__ import annotations

import ssl
import time

from sequencer import messages as M

from . import dictionary as D
from . import mapping
from .gateway import Gateway, in_schedule, parse_schedule
from .route import Route
from .session import SessionConfig
from .tcp import Acceptor

_CLIENT_IN = frozenset(M.TAG_OF_CLASS[t] for t in (M.NewOrder, M.CancelRequest, M.ReplaceRequest,
                                                    M.MassCancelRequest))
_OMS_OUT = frozenset(M.TAG_OF_CLASS[t] for t in (M.ExecReport, M.CancelReject, M.MassCancelReport))
_REJECT = M.TAG_OF_CLASS[M.FixReject]
_EXEC_REPORT = M.TAG_OF_CLASS[M.ExecReport]
ORDER_TYPES = ("D", "F", "G", "H", "q", "Q")   # q OrderMassCancelRequest: FIX 4.4 (4.2 has none); Q DontKnowTrade


class ClientSession:
    """Settings of one client or drop copy session (from the cluster config)."""

    def __init__(self, cfg: SessionConfig, client: str = "", account: str = "", role: str = "orders",
                 allowed=ORDER_TYPES, clients=(), logon_time: str = "", peer_dictionary: dict | None = None,
                 cancel_on_disconnect: bool = False):
        self.cfg, self.role = cfg, role
        self.cancel_on_disconnect = cancel_on_disconnect and role != "dropcopy"   # the client's orders, when it drops
        self.logon_time = parse_schedule(logon_time)   # when this session may log on (None: any time)
        # what the counterparty's own engine accepts: the standard plus their override (not our extensions)
        self.peer = D.get(cfg.begin, peer_dictionary)
        self.client = client or cfg.target
        self.account = account
        self.allowed = tuple(allowed)
        self.clients = tuple(clients)    # drop copy: only these clients ("" = all)


class ClientGateway(Gateway):
    def __init__(self, name: str, password: str, host: str, port: int, listen: tuple[str, int],
                 sessions: list[ClientSession], oms: str = "oms", schedule: str = "",
                 tls: ssl.SSLContext | None = None):
        super().__init__(name, password, host, port, schedule)
        self.listen, self.oms, self.tls = listen, oms, tls
        self.settings = {s.cfg.target: s for s in sessions}
        self.by_client: dict[str, Route] = {}
        self.drop_copies: list[tuple[ClientSession, Route]] = []
        for s in sessions:
            route = Route(s.cfg.target, s.cfg, self._renderer(s))
            self.routes[route.key] = route
            if s.role == "dropcopy":
                self.drop_copies.append((s, route))
            else:
                if s.client in self.by_client:
                    raise ValueError(f"client {s.client!r} has two order sessions; ExecutionReports need one home")
                self.by_client[s.client] = route
        self.cl_ord_ids: dict[tuple[str, str], bool] = {}   # (client, ClOrdID) the log has
        self.acceptor: Acceptor | None = None
        self.bound_port = 0

    def _renderer(self, s: ClientSession):
        return lambda msg: mapping.client_out(msg, s.cfg.begin, s.account, s.peer)

    # -- the stream -------------------------------------------------------------------------------------------
    def on_record(self, rec) -> None:
        t = rec.type
        if t in _OMS_OUT and rec.source == self.oms:
            m = rec.msg
            route = self.by_client.get(m.client)
            if route is not None:
                route.deliver(rec.seq, m, self.live)
            if t == _EXEC_REPORT:
                for s, dc in self.drop_copies:
                    if not s.clients or m.client in s.clients:
                        dc.deliver(rec.seq, m, self.live)
        elif t in _CLIENT_IN:
            m = rec.msg
            self.cl_ord_ids[(m.client, m.cl_ord_id)] = True
        elif t == _REJECT and rec.source == self.name:
            route = self.routes.get(rec.msg.session)
            if route is not None:
                route.deliver(rec.seq, rec.msg, self.live)

    # -- the sessions -----------------------------------------------------------------------------------------
    def _on_app(self, conn, msgtype: str, fields) -> None:
        s = self.settings[conn.session.cfg.target]
        v = mapping.values_of(fields)
        route = self.routes[s.cfg.target]
        if s.role == "dropcopy" or msgtype not in s.allowed:
            what = "a drop copy session" if s.role == "dropcopy" else "this session"
            return self._refuse(route, v, msgtype, mapping.BIZ_UNSUPPORTED,
                                f"message type {msgtype} is not accepted on {what}")
        cl = v.get(11, "")
        if msgtype not in ("H", "Q") and (v.get(43) == "Y" or v.get(97) == "Y") and (s.client, cl) in self.cl_ord_ids:
            self.log(f"{route.key}: resent {msgtype} ClOrdID {cl} is already sequenced; not acted on twice")
            return
        try:
            msg = mapping.client_request(msgtype, v, s.client, s.account)
        except mapping.MappingError as e:
            return self._refuse(route, v, msgtype, e.reason, str(e))
        try:
            self.edge.submit(msg)
        except (OverflowError, ValueError, TypeError) as e:   # the mapping's bounds should make this unreachable
            return self._refuse(route, v, msgtype, mapping.BIZ_OTHER, f"cannot take this message: {e}")
        if msgtype not in ("H", "Q"):
            self.cl_ord_ids[(s.client, cl)] = True

    def _refuse(self, route: Route, v: dict, msgtype: str, reason: int, text: str) -> None:
        self.log(f"{route.key}: refusing {msgtype} seq {v.get(34)}: {text}")
        self.edge.submit(M.FixReject(self.name, route.key, int(v.get(34, "0")), msgtype, reason, text[:200],
                                     v.get(11, "")[:64]))

    def _state_changed(self, conn) -> None:
        route = self.routes.get(conn.session.cfg.target)
        if route is None:
            return
        route.conn = conn
        was_up, route.up = route.up, route.active
        if route.up and not was_up:
            self.log(f"{route.key}: logged on; {len(route.queue)} message(s) waiting")
            route.drain()
        elif was_up and not route.up:
            self.log(f"{route.key}: session down")
            s = self.settings.get(conn.session.cfg.target)
            if s is not None and s.cancel_on_disconnect:
                self.log(f"{route.key}: cancel on disconnect: every open order of {s.client} is cancelled")
                self.edge.submit(M.CancelOnDisconnect(s.client, route.key, "cancel on disconnect"))
        self.on_state(route)

    def _admit(self, who: str) -> str | None:
        now = time.time_ns()
        if not in_schedule(self.schedule, now):
            return "outside the session schedule"
        s = self.settings.get(who)
        if s is not None and not in_schedule(s.logon_time, now):
            return "outside the session's logon time"
        return None

    async def start_sessions(self) -> None:
        self.acceptor = Acceptor([s.cfg for s in self.settings.values()], self._on_app, self.tls, self.log,
                                 on_state=self._state_changed, admit=self._admit,
                                 message_log_dir=self.message_log_dir)
        for key, route in self.routes.items():
            self.acceptor.states[key] = route.state
            if key in self.acceptor.msglogs:
                self._msglogs[key] = self.acceptor.msglogs[key]   # closed with the others at stop
        self.bound_port = await self.acceptor.start(*self.listen)
        self.log(f"listening on {self.listen[0]}:{self.bound_port} for {len(self.routes)} session(s)")

    async def stop_sessions(self) -> None:
        if self.acceptor and self.acceptor.server:
            self.acceptor.server.close()   # the message logs are closed by the base class, after the logouts
        await super().stop_sessions()
