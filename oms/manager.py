"""The order manager: every parent and child order, with FIX order-state semantics and pre-trade risk.

Pure and deterministic: ``handle(msg, now, seq)`` returns the messages to submit, and ``timer_requests`` collects
wake-ups (ExpireTime) for the app to schedule. No I/O, no clock; ids come from the input's seq and counters.

The rules it keeps (FIX 4.4 terms; the client gateway maps them for 4.2):
* a client cancel or replace of an order with open children first cancels those children (PendingCancel /
  PendingReplace to the client), and completes when none is open; with no open children it completes at once;
* fills while a cancel or replace is pending are reported against the original order with the pending status; if
  they fill the order, the pending request is answered with OrderCancelReject "too late";
* a replace down to or below the filled quantity ends the order Filled;
* an unknown order, a finished order, an order already pending, a reused ClOrdID each get an OrderCancelReject with
  the FIX CxlRejReason;
* invariants on every child change, refused if broken: open child quantity never exceeds the parent's leaves; a
  child's price never crosses the parent's limit; a child never outlives its parent.
"""
from __future__ import annotations

from sequencer import messages as M

from sequencer.fixvalues import CxlRejReason, CxlRejResponseTo, ExecRestatementReason, MassCancelRequestType, OrdType

from . import orders as S
from .orders import Child, OrderStateError, Parent, Pending
from .params import IMMEDIATE, TIF_NAMES, check_params, check_tif
from .risk import (FIRM, MAX_OPEN_CHILDREN_PER_PARENT, MAX_UNACKED_CHILDREN_PER_VENUE, REJ_UNSUPPORTED, MarketView,
                   PreTradeRisk, Refusal)
from .rules import child_price_problem, leaves_problem

RESTATED_BROKER_OPTION = ExecRestatementReason.BROKER_OPTION
# the venue's OrdStatus on a cancel reject that means the order is over there, and the child status it becomes
VENUE_DONE = {S.FILLED: S.FILLED, S.CANCELED: S.CANCELED, S.REJECTED: S.REJECTED, S.EXPIRED: S.EXPIRED,
              S.DONE_FOR_DAY: S.CANCELED}
CANCEL_RETRIES = 3
CANCEL_RETRY_NS = 2_000_000_000            # sequenced time between asking a venue again to cancel
CLOSE_ALL_AFTER_NS = 60_000_000_000        # after the close, every order ends by then
CXL_TOO_LATE, CXL_UNKNOWN, CXL_BROKER = CxlRejReason.TOO_LATE_TO_CANCEL, CxlRejReason.UNKNOWN_ORDER, \
    CxlRejReason.BROKER_OPTION
CXL_PENDING, CXL_DUP_CLORDID, CXL_OTHER = CxlRejReason.ALREADY_PENDING, CxlRejReason.DUPLICATE_CLORDID, \
    CxlRejReason.OTHER
MASS_CANCEL_REJECTED = "0"   # MassCancelResponse (531): cancel request rejected
TO_CANCEL, TO_REPLACE = CxlRejResponseTo.CANCEL, CxlRejResponseTo.CANCEL_REPLACE


class OrderManager:
    def __init__(self):
        self.market = MarketView()
        self.risk = PreTradeRisk(self.market)
        self.parents: dict[str, Parent] = {}            # order_id -> Parent, in arrival order
        self.children: dict[str, Child] = {}            # child_id -> Child, in creation order
        self.by_cl_ord_id: dict[tuple[str, str], str] = {}  # (client, ClOrdID) -> order_id, every ClOrdID ever used
        self.timer_requests: list[tuple[int, tuple]] = []
        self.unacked: dict[str, int] = {}               # venue -> child orders sent, not yet acknowledged
        self.silent_venues: dict[str, bool] = {}        # venues over the unacknowledged limit (alerted once)
        self._exec_n = 0
        self._out: list[M.Msg] = []
        self.now = 0
        self.seq = 0

    # -- entry points -----------------------------------------------------------------------------------------
    def handle(self, msg: M.Msg, now: int, seq: int) -> list[M.Msg]:
        self.now, self.seq = now, seq
        self._out = out = []
        h = self._handlers.get(type(msg))
        if h is not None:
            try:
                h(self, msg)
            except OrderStateError as e:   # a bug or an impossible sequence: told, never a silent wrong state
                out.append(M.OmsAlert("ORDER_STATE_ERROR", f"{e} (seq {seq}, {type(msg).__name__})"))
        return out

    def on_timer(self, token: tuple, now: int) -> list[M.Msg]:
        self.now = now
        self._out = out = []
        if token[0] == "expire":
            p = self.parents.get(token[1])
            if p is not None and not p.done and p.expire_ns <= now:
                self._end(p, "expire", "ExpireTime reached")
        elif token[0] == "recancel":
            c = self.children.get(token[1])
            if c is not None and c.working and not c.cancel_requested:
                c.cancel_requested = True
                self._out.append(M.ChildCancel(c.child_id, c.venue, "cancel again after a venue cancel reject"))
        elif token[0] == "close_all":
            self._close_all()
        return out

    def _close_all(self):
        """A while after the close, every order still open ends, whatever its children: a venue that will not cancel
        or never answers must not leave a client's order pending overnight. The children still unresolved are
        named in an alert for the desk to settle with the venue."""
        for p in list(self.parents.values()):
            if p.done:
                continue
            stuck = self._working(p)
            for c in stuck:
                self._out.append(M.OmsAlert("CHILD_UNRESOLVED_AT_CLOSE", f"child {c.child_id} at {c.venue} never "
                                                                         f"confirmed its cancel; parent {p.order_id} "
                                                                         f"ends without it", p.order_id, c.child_id))
                self._child_status(c, S.CANCELED, "close: never confirmed")
            p.ending = p.ending or "eod"
            p.ending_text = p.ending_text or "market close"
            p.pending, pend = None, p.pending
            if pend is not None:
                self._out.append(M.CancelReject(p.client, p.order_id, pend.cl_ord_id, p.cl_ord_id, p.status,
                                                TO_CANCEL if pend.kind == "cancel" else TO_REPLACE, CXL_TOO_LATE,
                                                "the market closed before the request could complete"))
            self._complete(p)

    # -- reference data, market data, admin -------------------------------------------------------------------
    def _security(self, m: M.Security):
        self.market.securities[m.symbol] = m

    def _quote(self, m: M.Quote):
        if m.venue == "":
            self.market.nbbo[m.symbol] = (m.bid_px, m.ask_px)

    def _trade(self, m: M.Trade):
        self.market.last_trade[m.symbol] = m.px

    def _symbol_status(self, m: M.SymbolStatus):
        self.market.halted[m.symbol] = m.halted

    def _limits(self, m: M.RiskLimits):
        self.risk.set_limits(m)

    def _kill(self, m: M.KillSwitch):
        self.risk.set_kill(m.client, m.active, m.text)
        if m.active and m.cancel_open:
            for p in list(self.parents.values()):
                if not p.done and (m.client == FIRM or p.client == m.client):
                    self._end(p, "kill", f"kill switch: {m.text}" if m.text else "kill switch")

    def _end_of_day(self, m: M.EndOfDay):
        for p in list(self.parents.values()):
            if not p.done:
                self._end(p, "eod", m.text or "end of day")
        if any(not p.done for p in self.parents.values()):   # some wait for their children's cancels
            self.timer_requests.append((self.now + CLOSE_ALL_AFTER_NS, ("close_all",)))

    # -- client requests --------------------------------------------------------------------------------------
    def _new_order(self, o: M.NewOrder):
        key = (o.client, o.cl_ord_id)
        order_id = f"O{self.seq}"
        if key in self.by_cl_ord_id:
            self._reject(o, order_id, Refusal(6, "DUPLICATE_CLORDID", f"ClOrdID {o.cl_ord_id} was already used"))
            return
        self.by_cl_ord_id[key] = order_id
        bad = check_params(o, self.now)
        if bad:
            self._reject(o, order_id, Refusal(99, "BAD_PARAMS", bad))
            return
        bad = check_tif(o)
        if bad:
            self._reject(o, order_id, Refusal(REJ_UNSUPPORTED, "UNSUPPORTED_TIF", bad))
            return
        refusal, notional_px = self.risk.check_new(o, self.now)
        if refusal:
            self._reject(o, order_id, refusal)
            return
        p = Parent(order_id, o.client, o.cl_ord_id, o.symbol, o.side, o.qty, o.ord_type, o.px, o.tif, o.strategy,
                   notional_px, o.expire_ns)
        self.parents[order_id] = p
        self._expose(p)
        self._report(p, S.NEW)
        if o.expire_ns:
            self.timer_requests.append((o.expire_ns, ("expire", order_id)))

    def _reject(self, o: M.NewOrder, order_id: str, r: Refusal):
        self._out.append(M.ExecReport(
            o.client, order_id, o.cl_ord_id, "", self._exec_id(), S.REJECTED, S.REJECTED, o.symbol, o.side, o.qty,
            o.px, 0, 0, 0, ord_rej_reason=r.fix_reason, risk_code=r.code, text=r.text, ord_type=o.ord_type,
            strategy=o.strategy))
        self._out.append(M.ParentUpdate(order_id, "rejected", o.client, o.cl_ord_id, S.REJECTED, o.qty, o.px,
                                        o.ord_type, 0, 0))

    def _find_for_change(self, m, response_to: str) -> Parent | None:
        """The order a cancel/replace names, or None after sending the OrderCancelReject it deserves."""
        key = (m.client, m.cl_ord_id)
        order_id = self.by_cl_ord_id.get((m.client, m.orig_cl_ord_id))
        p = self.parents.get(order_id) if order_id else None
        if key in self.by_cl_ord_id:
            return self._cxl_reject(m, p, response_to, CXL_DUP_CLORDID, f"ClOrdID {m.cl_ord_id} was already used")
        self.by_cl_ord_id[key] = order_id or ""
        if p is None:
            return self._cxl_reject(m, None, response_to, CXL_UNKNOWN, f"unknown order {m.orig_cl_ord_id}")
        if p.pending is not None and m.orig_cl_ord_id == p.pending.cl_ord_id:
            return self._cxl_reject(m, p, response_to, CXL_PENDING,
                                    f"{m.orig_cl_ord_id} is a {p.pending.kind} still pending")
        if p.cl_ord_id != m.orig_cl_ord_id:
            return self._cxl_reject(m, p, response_to, CXL_OTHER,
                                    f"OrigClOrdID {m.orig_cl_ord_id} was replaced; the order is now {p.cl_ord_id}")
        if m.symbol != p.symbol or m.side != p.side:
            return self._cxl_reject(m, p, response_to, CXL_OTHER, "symbol and side must match the order's")
        if p.done:
            return self._cxl_reject(m, p, response_to, CXL_TOO_LATE, f"order is already {_status_name(p.status)}")
        if p.pending is not None:
            return self._cxl_reject(m, p, response_to, CXL_PENDING,
                                    f"a {p.pending.kind} ({p.pending.cl_ord_id}) is already pending")
        return p

    def _cxl_reject(self, m, p: Parent | None, response_to: str, reason: int, text: str, code: str = ""):
        self._out.append(M.CancelReject(m.client, p.order_id if p else "NONE", m.cl_ord_id, m.orig_cl_ord_id,
                                        p.status if p else S.REJECTED, response_to, reason, text, code))
        return None

    def _cancel_request(self, m: M.CancelRequest):
        p = self._find_for_change(m, TO_CANCEL)
        if p is None:
            return
        self._begin_change(p, Pending("cancel", m.cl_ord_id), S.PENDING_CANCEL, "client cancel")

    def _replace_request(self, m: M.ReplaceRequest):
        p = self._find_for_change(m, TO_REPLACE)
        if p is None:
            return
        if m.qty <= 0 or (m.ord_type == OrdType.LIMIT and m.px <= 0) or m.ord_type not in tuple(OrdType):
            self._cxl_reject(m, p, TO_REPLACE, CXL_OTHER, "a replace needs a positive quantity, and a positive price for a "
                                                   "limit order")
            return
        refusal, notional_px = self.risk.check_replace(p.client, p.symbol, p.side, m.ord_type, m.qty, m.px,
                                                       p.cum_qty, p.cum_notional, p.exposure, self.now)
        if refusal:
            reason = CXL_BROKER if refusal.code.startswith("CREDIT") else CXL_OTHER
            self._cxl_reject(m, p, TO_REPLACE, reason, refusal.text, refusal.code)
            return
        # Children are sized and priced for the old terms: take them all back, and the algo re-slices the new ones.
        self._begin_change(p, Pending("replace", m.cl_ord_id, m.qty, m.px, m.ord_type, notional_px),
                           S.PENDING_REPLACE, "client replace")

    def _mass_cancel(self, m: M.MassCancelRequest):
        """OrderMassCancelRequest: every open order of the client (or of one symbol) is cancelled as if the client had
        asked for each (its open children first), and one report says how many. FIX 4.4 MassCancelRequestType 1
        (by security) and 7 (all orders) are supported; others are refused with MassCancelRejectReason 0."""
        mass_id = f"M{self.seq}"
        if m.scope not in tuple(MassCancelRequestType) or (m.scope == MassCancelRequestType.BY_SECURITY
                                                           and not m.symbol):
            self._out.append(M.MassCancelReport(m.client, m.cl_ord_id, mass_id, m.scope, MASS_CANCEL_REJECTED, 0,
                                                f"MassCancelRequestType {m.scope!r} is not supported (1 by security "
                                                f"with a Symbol, 7 all orders)", reject_reason=0))
            return
        hit = [p for p in self.parents.values() if p.client == m.client and not p.done and p.pending is None
               and not p.ending and (m.scope == MassCancelRequestType.ALL_ORDERS or p.symbol == m.symbol)]
        self._out.append(M.MassCancelReport(m.client, m.cl_ord_id, mass_id, m.scope, m.scope, len(hit)))
        for p in hit:
            self._end(p, "mass", f"mass cancel {m.cl_ord_id}")

    def _cancel_on_disconnect(self, m: M.CancelOnDisconnect):
        """The client's session went down and it asked for cancel-on-disconnect: every open order of the client ends
        Canceled (its children first); the reports wait for the client on the stream."""
        for p in list(self.parents.values()):
            if p.client == m.client and not p.done:
                self._end(p, "disconnect", f"{m.text or 'cancel on disconnect'} ({m.session})")

    def _desk_cancel(self, m: M.DeskCancel):
        """A person on the desk cancels an order from the screen: it ends Canceled (children first), and the client's
        report says who."""
        p = self.parents.get(m.order_id)
        if p is None or p.done:
            self._out.append(M.OmsAlert("DESK_CANCEL_REFUSED", f"{m.user} asked to cancel {m.order_id}, which is "
                                                               f"{'unknown' if p is None else _status_name(p.status)}",
                                        m.order_id))
            return
        self._end(p, "desk", f"canceled by the desk ({m.user}){': ' + m.text if m.text else ''}")

    def _desk_cancel_all(self, m: M.DeskCancelAll):
        """A person on the desk cancels every open order of a client (or of one symbol): each ends Canceled (children
        first) as a desk cancel would, and an alert records who cancelled how many."""
        hit = [p for p in self.parents.values() if p.client == m.client and not p.done
               and (not m.symbol or p.symbol == m.symbol)]
        self._out.append(M.OmsAlert("DESK_CANCEL_ALL", f"{m.user} cancelled all {len(hit)} open orders of {m.client}"
                                                       f"{' in ' + m.symbol if m.symbol else ''}"
                                                       f"{': ' + m.text if m.text else ''}"))
        for p in hit:
            self._end(p, "desk", f"canceled by the desk ({m.user}): all of {m.client}'s orders"
                                 f"{': ' + m.text if m.text else ''}")

    def _dont_know_trade(self, m: M.DontKnowTrade):
        """A client does not recognise an execution we reported: nothing changes on the order (a DK is settled by
        people); the desk gets an alert naming the order, the execution and the client's reason."""
        p = self.parents.get(m.order_id)
        ours = p is not None and p.client == m.client and m.exec_id in p.fill_reports.values()
        self._out.append(M.OmsAlert("CLIENT_DONT_KNOW_TRADE", f"{m.client} does not know execution {m.exec_id} of "
                                                              f"order {m.order_id} (DKReason {m.reason}"
                                                              f"{': ' + m.text if m.text else ''}); "
                                                              + ("it is a fill we reported" if ours else
                                                                 "we reported no such fill to this client"),
                                    m.order_id if p is not None else ""))

    def _status_request(self, m: M.StatusRequest):
        order_id = self.by_cl_ord_id.get((m.client, m.cl_ord_id))
        p = self.parents.get(order_id) if order_id else None
        if p is None:
            self._out.append(M.ExecReport(m.client, "NONE", m.cl_ord_id, "", self._exec_id(), S.ET_STATUS,
                                          S.REJECTED, m.symbol, m.side, 0, 0, 0, 0, 0, text="unknown order"))
        else:
            self._report(p, S.ET_STATUS)

    # -- completing cancels, replaces and OMS-initiated ends --------------------------------------------------
    def _begin_change(self, p: Parent, pending: Pending, pending_status: str, why: str):
        """A client cancel or replace: Pending* to the client while open children are cancelled, else done now."""
        p.pending = pending
        p.apply(p.working_status(), f"{pending.kind} request")
        if self._cancel_children(p, why):
            self._report(p, pending_status, cl_ord_id=pending.cl_ord_id, orig=p.cl_ord_id)
        else:
            self._complete(p)

    def _end(self, p: Parent, why: str, text: str):
        if p.ending:
            return
        p.ending, p.ending_text = why, text
        if not self._cancel_children(p, text) and p.pending is None:
            self._complete(p)

    def _complete(self, p: Parent):
        """Finish what was waiting for the children (a client cancel or replace, or an OMS end)."""
        pend = p.pending
        if pend is not None and pend.kind == "cancel":
            orig = p.cl_ord_id
            p.cl_ord_id = pend.cl_ord_id
            p.pending = None
            p.apply(S.CANCELED, "cancel complete")
            self._expose(p)
            self._report(p, S.CANCELED, orig=orig)
        elif pend is not None:  # replace
            orig = p.cl_ord_id
            # a replace down to or below the filled quantity leaves the order Filled at what it filled: OrderQty is
            # never reported below CumQty
            p.cl_ord_id, p.qty, p.px, p.ord_type, p.notional_px = (pend.cl_ord_id, max(pend.qty, p.cum_qty), pend.px,
                                                                   pend.ord_type, pend.notional_px)
            p.pending = None
            p.apply(p.working_status(), "replace complete")
            self._expose(p)
            self._report(p, S.ET_REPLACED, orig=orig)
            if p.ending and not p.done:
                self._complete(p)
        elif p.ending:
            # a DAY order at the close and a GTD order at its ExpireTime ran out of time in force: Expired (FIX
            # ExecType/OrdStatus C); a kill switch, a mass cancel or the algo ending it: Canceled
            p.apply(S.EXPIRED if p.ending in ("expire", "eod") else S.CANCELED, f"end ({p.ending})")
            self._expose(p)
            self._report(p, p.status, text=p.ending_text)

    def _cancel_children(self, p: Parent, reason: str) -> bool:
        """Ask the venues to cancel every open child. True if any is still open (so completion must wait)."""
        working = self._working(p)
        for c in working:
            if not c.cancel_requested and not c.unknown:
                c.cancel_requested = True
                self._out.append(M.ChildCancel(c.child_id, c.venue, reason))
        return bool(working)

    def _maybe_complete(self, p: Parent):
        if (p.pending is not None or p.ending) and not p.done and not self._working(p):
            self._complete(p)

    # -- child requests from the algo -------------------------------------------------------------------------
    def _refuse(self, m, parent_id: str, request: str, code: str, text: str):
        self._out.append(M.ChildRefused(m.child_id, parent_id, request, code, text))

    def _child_new(self, m: M.ChildNewRequest):
        p = self.parents.get(m.parent_id)
        why = None
        if m.child_id in self.children:
            why = ("DUPLICATE_CHILD", f"child id {m.child_id} already used")
        elif p is None:
            why = ("UNKNOWN_PARENT", f"unknown parent {m.parent_id}")
        elif p.done or p.pending is not None or p.ending:
            why = ("PARENT_NOT_WORKING", f"parent {p.order_id} is {_status_name(p.status)}"
                                         f"{' with a ' + p.pending.kind + ' pending' if p.pending else ''}"
                                         f"{' and ending (' + p.ending + ')' if p.ending else ''}")
        elif m.symbol != p.symbol or m.side != p.side:
            why = ("MISMATCH", f"child {m.symbol} side {m.side} does not match parent {p.symbol} side {p.side}")
        elif m.qty <= 0:
            why = ("BAD_QTY", f"child quantity must be positive, not {m.qty}")
        elif m.ord_type not in tuple(OrdType):
            why = ("BAD_PRICE", "a child must be a market order or a limit order with a positive price")
        elif p.tif in IMMEDIATE and m.tif != p.tif:
            # an IOC or FOK parent executes at once: a child of it that could rest would outlive its time in force
            why = ("TIF_MISMATCH", f"a child of a {TIF_NAMES[p.tif]} parent must be {TIF_NAMES[p.tif]} too")
        else:
            why = (self._leaves_check(p, m.qty, 0) or self._limit_check(p, m.ord_type, m.px)
                   or self._market_gate(p, m.venue, m.ord_type, m.qty, m.px))
        if why:
            self._refuse(m, m.parent_id, "new", *why)
            return
        c = Child(m.child_id, p.order_id, m.venue, m.session, m.symbol, m.side, m.qty, m.ord_type, m.px, m.tif)
        self.unacked[c.venue] = self.unacked.get(c.venue, 0) + 1
        self.children[c.child_id] = c
        p.children.append(c.child_id)
        p.live.append(c.child_id)
        self._out.append(M.ChildOrder(c.child_id, p.order_id, c.venue, c.symbol, c.side, c.qty, c.ord_type, c.px,
                                      c.tif, c.session))

    def _market_gate(self, p: Parent, venue: str, ord_type: str, qty: int, px: int, replacing: bool = False):
        """15c3-5 on an order about to enter the market (``risk.check_child``), and the limits that stop a runaway:
        children a venue has not acknowledged, children open under one parent."""
        r = self.risk.check_child(p.client, p.symbol, p.side, ord_type, qty, px, self.now)
        if r:
            return (r.code, r.text)
        if replacing:
            return None
        waiting = self.unacked.get(venue, 0)
        if waiting >= MAX_UNACKED_CHILDREN_PER_VENUE:
            if venue not in self.silent_venues:
                self.silent_venues[venue] = True
                self._out.append(M.OmsAlert("VENUE_NOT_ACKNOWLEDGING", f"{venue} has not acknowledged {waiting} "
                                                                       f"child orders: no more go there until it "
                                                                       f"answers", p.order_id))
            return ("MAX_UNACKED_CHILDREN", f"{venue} has {waiting} child orders it has not acknowledged")
        if len(self._working(p)) >= MAX_OPEN_CHILDREN_PER_PARENT:
            return ("MAX_OPEN_CHILDREN", f"parent {p.order_id} already has {MAX_OPEN_CHILDREN_PER_PARENT} open "
                                         f"children")
        return None

    def _child_status(self, c: Child, status: str, event: str) -> None:
        """A child's status changes here, so the count of children each venue has not acknowledged stays exact."""
        if c.status == S.PENDING_NEW and status != S.PENDING_NEW:
            n = self.unacked.get(c.venue, 0) - 1
            self.unacked[c.venue] = n
            if n < MAX_UNACKED_CHILDREN_PER_VENUE // 2:
                self.silent_venues.pop(c.venue, None)
        c.apply(status, event)

    def _working(self, p: Parent) -> list[Child]:
        """The parent's children still working, oldest first. Closed ones are dropped from ``p.live`` as they are
        met, so a parent with thousands of children costs only its open ones."""
        kids = [self.children[cid] for cid in p.live]
        working = [c for c in kids if c.working]
        if len(working) != len(kids):
            p.live = [c.child_id for c in working]
        return working

    def _leaves_check(self, p: Parent, add_qty: int, minus_child_open: int):
        return leaves_problem(sum(c.open_qty for c in self._working(p)) - minus_child_open, add_qty, p.leaves)

    def _limit_check(self, p: Parent, ord_type: str, px: int):
        return child_price_problem(p.side, p.px if p.ord_type == OrdType.LIMIT else 0, ord_type, px)

    def _child_cancel(self, m: M.ChildCancelRequest):
        c = self.children.get(m.child_id)
        if c is None:
            self._refuse(m, "", "cancel", "UNKNOWN_CHILD", f"unknown child {m.child_id}")
        elif not c.working:
            self._refuse(m, c.parent_id, "cancel", "CHILD_CLOSED", f"child {c.child_id} is already "
                                                                   f"{_status_name(c.status)}")
        elif not c.cancel_requested:
            c.cancel_requested = True
            self._out.append(M.ChildCancel(c.child_id, c.venue, "algo"))

    def _child_replace(self, m: M.ChildReplaceRequest):
        c = self.children.get(m.child_id)
        p = self.parents.get(c.parent_id) if c else None
        why = None
        if c is None:
            why = ("UNKNOWN_CHILD", f"unknown child {m.child_id}")
        elif not c.working or c.cancel_requested or c.replace_to or c.unknown:
            why = ("CHILD_NOT_WORKING", f"child {c.child_id} cannot be replaced now")
        elif p.pending is not None or p.ending or p.done:
            why = ("PARENT_NOT_WORKING", f"parent {p.order_id} is not working")
        elif m.qty <= c.cum_qty:
            why = ("BAD_QTY", f"new quantity {m.qty} is not above the child's filled {c.cum_qty}")
        else:
            why = (self._leaves_check(p, m.qty - c.cum_qty, c.open_qty) or self._limit_check(p, c.ord_type, m.px)
                   or self._market_gate(p, c.venue, c.ord_type, m.qty - c.cum_qty, m.px, replacing=True))
        if why:
            self._refuse(m, p.order_id if p else "", "replace", *why)
            return
        c.replace_to = (m.qty, m.px)
        self._out.append(M.ChildReplace(c.child_id, c.venue, m.qty, m.px))

    # -- from the algo container -----------------------------------------------------------------------------
    def _algo_pause(self, m: M.AlgoPause):
        p = self.parents.get(m.parent_id)
        if p is None or p.done:
            return
        # FIX has no "paused" status: an unsolicited Restated report with the reason tells the client, status kept;
        # ExecRestatementReason 4 "broker option": the broker's algo stopped working it
        self._report(p, S.ET_RESTATED, text=f"algo paused ({m.code}): {m.text}", restated=RESTATED_BROKER_OPTION)

    def _algo_resume(self, m: M.AlgoResume):
        p = self.parents.get(m.parent_id)
        if p is not None and not p.done:
            self._report(p, S.ET_RESTATED, text=f"algo resumed: {m.text}", restated=RESTATED_BROKER_OPTION)

    def _algo_end(self, m: M.AlgoEnd):
        p = self.parents.get(m.parent_id)
        if p is not None and not p.done and p.pending is None:
            self._end(p, "algo_end", m.text)

    # -- what the venues said ---------------------------------------------------------------------------------
    def _child_of(self, m) -> Child | None:
        c = self.children.get(m.child_id)
        if c is None:
            self._out.append(M.OmsAlert("UNKNOWN_CHILD", f"{type(m).__name__} for unknown child {m.child_id}",
                                        child_id=m.child_id))
        return c

    def _venue_ack(self, m: M.VenueAck):
        c = self._child_of(m)
        if c is not None and c.status == S.PENDING_NEW:
            self._child_status(c, S.NEW, "venue ack")

    def _venue_fill(self, m: M.VenueFill):
        c = self._child_of(m)
        if c is None or m.exec_id in c.fills:
            return  # an unknown child was alerted; a resent fill is already applied
        if m.last_qty <= 0 or m.last_px <= 0:
            self._out.append(M.OmsAlert("BAD_FILL", f"fill {m.exec_id} with quantity {m.last_qty} price "
                                                    f"{m.last_px}", c.parent_id, c.child_id))
            return
        c.fills[m.exec_id] = m.last_qty
        c.fill_px[m.exec_id] = m.last_px
        c.cum_qty += m.last_qty
        limit = max(c.qty, c.replace_to[0]) if c.replace_to else c.qty
        if c.cum_qty > limit:
            self._out.append(M.OmsAlert("CHILD_OVERFILL", f"child {c.child_id} filled {c.cum_qty} of {limit}",
                                        c.parent_id, c.child_id))
        if c.cum_qty >= c.qty and not c.replace_to:
            self._child_status(c, S.FILLED, f"fill {m.exec_id}")
        elif c.working:
            self._child_status(c, S.PARTIAL, f"fill {m.exec_id}")
        p = self.parents[c.parent_id]
        # A late fill (after a cancel request, or even after the parent ended) is real: always applied.
        was_done = p.done
        p.cum_qty += m.last_qty
        p.cum_notional += m.last_qty * m.last_px
        if p.cum_qty > p.qty:
            self._out.append(M.OmsAlert("PARENT_OVERFILL", f"parent {p.order_id} filled {p.cum_qty} of {p.qty}",
                                        p.order_id, c.child_id))
        if was_done:
            if p.cum_qty >= p.qty:          # FIX's OrdStatus precedence puts Filled above Canceled and Expired
                p.apply(S.FILLED, f"late fill {m.exec_id}")
            self._out.append(M.OmsAlert("FILL_AFTER_DONE", f"fill {m.exec_id} on child {c.child_id} after parent "
                                                           f"{p.order_id} was {_status_name(p.status)}",
                                        p.order_id, c.child_id))
        else:
            p.apply(p.working_status(), f"fill {m.exec_id}")
        self._expose(p)
        self._report(p, S.ET_TRADE, last_qty=m.last_qty, last_px=m.last_px, last_mkt=c.venue)
        p.fill_reports[f"{c.child_id} {m.exec_id}"] = f"X{self._exec_n}"
        if p.status == S.FILLED and not was_done:
            if p.pending is not None:  # it filled before the cancel/replace could take effect
                pend, p.pending = p.pending, None
                self._out.append(M.CancelReject(p.client, p.order_id, pend.cl_ord_id, p.cl_ord_id, S.FILLED,
                                                TO_CANCEL if pend.kind == "cancel" else TO_REPLACE, CXL_TOO_LATE,
                                                "order filled before the request took effect"))
            self._cancel_children(p, "parent filled")  # a child never outlives its parent
        elif not c.working:
            self._maybe_complete(p)

    def _trade_correction(self, m: M.VenueTradeCorrection):
        """A venue busted or corrected one of its fills: the child's and the parent's CumQty, AvgPx and exposure are
        put right, and the client gets a Trade Cancel (H) or Trade Correct (G) naming the fill's report. An order
        that a bust leaves short of its quantity is working again (the algo is told by that report)."""
        c = self._child_of(m)
        if c is None or m.exec_id in c.corrections:
            return
        old_qty = c.fills.get(m.ref_exec_id)
        if old_qty is None:
            self._out.append(M.OmsAlert("UNKNOWN_FILL", f"{m.kind} {m.exec_id} of fill {m.ref_exec_id}, which child "
                                                        f"{c.child_id} never had", c.parent_id, c.child_id))
            return
        c.corrections[m.exec_id] = True
        old_px = c.fill_px[m.ref_exec_id]
        new_qty, new_px = (0, 0) if m.kind == "bust" else (m.last_qty, m.last_px)
        c.fills[m.ref_exec_id], c.fill_px[m.ref_exec_id] = new_qty, new_px
        c.cum_qty += new_qty - old_qty
        p = self.parents[c.parent_id]
        p.cum_qty += new_qty - old_qty
        p.cum_notional += new_qty * new_px - old_qty * old_px
        if not p.done or (p.status == S.FILLED and p.cum_qty < p.qty):   # a bust reopens what it un-fills
            p.apply(p.working_status(), f"{m.kind} {m.exec_id}")
        self._expose(p)
        ref = p.fill_reports.get(f"{c.child_id} {m.ref_exec_id}", "")
        if m.kind == "bust":
            self._report(p, S.ET_TRADE_CANCEL, last_qty=old_qty, last_px=old_px, last_mkt=c.venue, exec_ref=ref,
                         text=f"trade bust by {c.venue}")
        else:
            self._report(p, S.ET_TRADE_CORRECT, last_qty=new_qty, last_px=new_px, last_mkt=c.venue, exec_ref=ref,
                         text=f"trade correction by {c.venue}")
            p.fill_reports[f"{c.child_id} {m.ref_exec_id}"] = f"X{self._exec_n}"

    def _child_closed(self, m, status: str):
        c = self._child_of(m)
        if c is None or not c.working:
            return
        self._child_status(c, status, type(m).__name__)
        c.replace_to = None
        self._maybe_complete(self.parents[c.parent_id])

    def _venue_reject(self, m: M.VenueReject):
        self._child_closed(m, S.REJECTED)

    def _venue_canceled(self, m: M.VenueCanceled):
        self._child_closed(m, S.CANCELED)

    def _venue_replaced(self, m: M.VenueReplaced):
        c = self._child_of(m)
        if c is None:
            return
        c.qty, c.px, c.replace_to = m.qty, m.px, None
        self._child_status(c, S.FILLED if c.cum_qty >= c.qty else (S.PARTIAL if c.cum_qty else S.NEW), "replaced")
        if not c.working:
            self._maybe_complete(self.parents[c.parent_id])

    def _venue_cancel_reject(self, m: M.VenueCancelReject):
        c = self._child_of(m)
        if c is None:
            return
        c.cancel_requested = False
        c.replace_to = None  # a rejected replace also comes back as a cancel reject
        p = self.parents[c.parent_id]
        if c.working and c.cum_qty >= c.qty:  # it filled while the replace was pending: now it is done
            self._child_status(c, S.FILLED, "cancel reject after filling")
            self._maybe_complete(p)
            return
        if c.working and m.ord_status in VENUE_DONE:
            # the venue says the order is already over (filled, canceled, rejected, expired): that is why it would
            # not cancel it. Its fills, if any are still on the way, are applied when they come.
            self._child_status(c, VENUE_DONE[m.ord_status], f"cancel reject (venue status {m.ord_status})")
            self._maybe_complete(p)
            return
        if c.working:
            # still working at the venue, or it did not say: ask what state the child is in (OrderStatusRequest)
            self._out.append(M.ChildStatusRequest(c.child_id, c.venue))
        if c.working and (p.pending or p.ending):
            # and the parent is waiting for it: ask again to cancel, a few times, on sequenced time; whichever answer
            # shows it over completes the parent
            c.cancel_tries += 1
            tries = c.cancel_tries
            if tries <= CANCEL_RETRIES:
                self.timer_requests.append((self.now + CANCEL_RETRY_NS, ("recancel", c.child_id)))
            self._out.append(M.OmsAlert("CHILD_CANCEL_REJECTED", f"venue refused to cancel child {c.child_id} "
                                                                 f"({m.text or 'no reason'}, venue status "
                                                                 f"{m.ord_status or '?'}); "
                                                                 + (f"asking again (try {tries + 1})"
                                                                    if tries <= CANCEL_RETRIES else
                                                                    "the close will end its parent"),
                                        c.parent_id, c.child_id))

    def _venue_order_status(self, m: M.VenueOrderStatus):
        """The venue's answer to our OrderStatusRequest. An order over at the venue closes the child (its fills, if
        any are still on the way, are applied when they come), which lets a parent waiting for it complete."""
        c = self._child_of(m)
        if c is None or not c.working:
            return
        if m.ord_status in VENUE_DONE:
            self._child_status(c, VENUE_DONE[m.ord_status], f"venue status {m.ord_status}")
            c.replace_to = None
            self._maybe_complete(self.parents[c.parent_id])

    def _venue_session(self, m: M.VenueSession):
        for c in self.children.values():
            if c.working and c.venue == m.venue and (c.session == m.session or not m.session):
                if not m.up:
                    c.unknown = True
                elif c.unknown:
                    c.unknown = False
                    p = self.parents[c.parent_id]
                    if p.done or p.pending is not None or p.ending:  # what could not be sent while it was down
                        c.cancel_requested = True
                        self._out.append(M.ChildCancel(c.child_id, c.venue, "resend after session recovery"))

    # -- helpers ----------------------------------------------------------------------------------------------
    def _exec_id(self) -> str:
        self._exec_n += 1
        return f"X{self._exec_n}"

    def _expose(self, p: Parent):
        new = p.cum_notional + p.leaves * p.notional_px
        self.risk.adjust_exposure(p.client, new - p.exposure)
        p.exposure = new

    def _report(self, p: Parent, exec_type: str, cl_ord_id: str = "", orig: str = "", last_qty: int = 0,
                last_px: int = 0, last_mkt: str = "", text: str = "", restated: int = -1, exec_ref: str = ""):
        self._out.append(M.ExecReport(
            p.client, p.order_id, cl_ord_id or p.cl_ord_id, orig, self._exec_id(), exec_type, p.status, p.symbol,
            p.side, p.qty, p.px, p.cum_qty, p.leaves, p.cum_notional, last_qty, last_px, last_mkt, text=text,
            ord_type=p.ord_type, strategy=p.strategy, restatement_reason=restated, exec_ref_id=exec_ref))
        event = _ALGO_EVENT.get(exec_type) or ("done" if exec_type == S.ET_TRADE and p.status == S.FILLED else "")
        if event:   # what the algo works from: every change of a parent's terms or state, said explicitly
            self._out.append(M.ParentUpdate(p.order_id, event, p.client, p.cl_ord_id, p.status, p.qty, p.px,
                                            p.ord_type, p.cum_qty, p.cum_notional))

    _handlers = {
        M.Security: _security, M.Quote: _quote, M.Trade: _trade, M.SymbolStatus: _symbol_status,
        M.RiskLimits: _limits, M.KillSwitch: _kill, M.EndOfDay: _end_of_day,
        M.NewOrder: _new_order, M.CancelRequest: _cancel_request, M.ReplaceRequest: _replace_request,
        M.StatusRequest: _status_request, M.MassCancelRequest: _mass_cancel,
        M.CancelOnDisconnect: _cancel_on_disconnect, M.DontKnowTrade: _dont_know_trade, M.DeskCancel: _desk_cancel,
        M.DeskCancelAll: _desk_cancel_all,
        M.ChildNewRequest: _child_new, M.ChildCancelRequest: _child_cancel, M.ChildReplaceRequest: _child_replace,
        M.VenueAck: _venue_ack, M.VenueFill: _venue_fill, M.VenueReject: _venue_reject,
        M.VenueCanceled: _venue_canceled, M.VenueReplaced: _venue_replaced,
        M.VenueCancelReject: _venue_cancel_reject, M.VenueSession: _venue_session,
        M.VenueTradeCorrection: _trade_correction, M.VenueOrderStatus: _venue_order_status,
        M.AlgoPause: _algo_pause, M.AlgoResume: _algo_resume, M.AlgoEnd: _algo_end,
    }


# the client reports whose change the algo container is told of with a ParentUpdate (a fill that completes the
# order too: "done"; other fills it counts itself from the venues' fills)
_ALGO_EVENT = {S.NEW: "accepted", S.PENDING_CANCEL: "pending", S.PENDING_REPLACE: "pending", S.ET_REPLACED: "replaced",
               S.CANCELED: "done", S.EXPIRED: "done", S.ET_TRADE_CANCEL: "corrected",
               S.ET_TRADE_CORRECT: "corrected"}

_STATUS_NAMES = {S.NEW: "new", S.PARTIAL: "partially filled", S.FILLED: "filled", S.DONE_FOR_DAY: "done for day",
                 S.CANCELED: "canceled", S.PENDING_CANCEL: "pending cancel", S.REJECTED: "rejected",
                 S.PENDING_NEW: "pending new", S.EXPIRED: "expired", S.PENDING_REPLACE: "pending replace"}


def _status_name(s: str) -> str:
    return _STATUS_NAMES.get(s, s)
