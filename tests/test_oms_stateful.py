"""Hypothesis stateful test: random client requests (orders DAY or GTD, cancels, replaces, mass cancels), child
requests, venue acks, fills, busts and corrections, cancels, rejects, cancel rejects and session drops, kill switches,
the close and the OMS's close-all, with the invariants checked after every step: CumQty = the fills minus what busts
and corrections took back (the venue's own count, kept here), LeavesQty, AvgPx exactly, no child sent while a kill
switch is on, no transition outside the order state tables, nothing left open after the close."""
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from oms.orders import TERMINAL
from sequencer import messages as M
from tests.oms_harness import PX, Harness

PRICES = st.sampled_from([99 * PX, 100 * PX, 101 * PX])


class OmsMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.h = Harness(securities=("AAPL",))
        self.n = 0
        self.fill_n = 0
        self.venue_cum: dict[str, int] = {}      # what the venues executed, per child
        self.reported: dict[str, list] = {}      # order_id -> its ExecReports
        self.cancel_rejects = 0
        self.fill_rec: dict[str, list] = {}      # the venue's fills: exec_id -> [child_id, qty now, px now]
        self.killed = False
        self.closed = False
        self.sent_while_killed: list = []
        self.alerts: list = []

    # -- helpers ----------------------------------------------------------------------------------------------
    def _send(self, msg):
        got = self.h.send(msg)
        return self._outputs(got)

    def _outputs(self, got):
        for m in got:
            if isinstance(m, M.OmsAlert):
                self.alerts.append(m)
            if isinstance(m, M.ChildOrder) and self.killed:
                self.sent_while_killed.append(m)
            if isinstance(m, M.ExecReport) and m.exec_type != "8":
                self.reported.setdefault(m.order_id, []).append(m)
        return got

    def _parents(self):
        return list(self.h.om.parents.values())

    def _open_children(self):
        return [c for c in self.h.om.children.values() if c.working]

    # -- client -----------------------------------------------------------------------------------------------
    @rule(qty=st.integers(1, 30).map(lambda x: x * 100), side=st.sampled_from(["1", "2"]), px=PRICES)
    def new_order(self, qty, side, px):
        self.n += 1
        self._send(M.NewOrder("acme", f"c{self.n}", "AAPL", side, qty, "2", px))

    @rule(qty=st.integers(1, 30).map(lambda x: x * 100), after=st.integers(1, 200))
    def new_gtd_order(self, qty, after):
        self.n += 1
        expire = self.h.now + after * 1_000
        self._send(M.NewOrder("acme", f"c{self.n}", "AAPL", "1", qty, "2", 100 * PX, tif="6", expire_ns=expire))

    @rule()
    def timers_due(self):
        """The app runs the OMS's timers on sequenced time: those due now (ExpireTime, cancel retries) fire."""
        due = sorted((t for t in self.h.om.timer_requests if t[0] <= self.h.now), key=lambda t: t[0])
        self.h.om.timer_requests[:] = [t for t in self.h.om.timer_requests if t[0] > self.h.now]
        for _, token in due:
            self._outputs(self.h.om.on_timer(token, self.h.now))

    @precondition(lambda self: self.h.om.parents)
    @rule(by_symbol=st.booleans())
    def mass_cancel(self, by_symbol):
        self.n += 1
        self._send(M.MassCancelRequest("acme", f"c{self.n}", "1" if by_symbol else "7", "AAPL" if by_symbol else ""))

    @rule(active=st.booleans(), cancel_open=st.booleans())
    def kill_switch(self, active, cancel_open):
        self.killed = active
        self._send(M.KillSwitch("*", active, cancel_open, "test"))

    @precondition(lambda self: self.h.om.parents)
    @rule(data=st.data())
    def cancel(self, data):
        p = data.draw(st.sampled_from(self._parents()))
        self.n += 1
        self._send(M.CancelRequest("acme", f"c{self.n}", p.cl_ord_id, p.symbol, p.side))

    @precondition(lambda self: self.h.om.parents)
    @rule(data=st.data(), qty=st.integers(1, 40).map(lambda x: x * 100), px=PRICES)
    def replace(self, data, qty, px):
        p = data.draw(st.sampled_from(self._parents()))
        self.n += 1
        self._send(M.ReplaceRequest("acme", f"c{self.n}", p.cl_ord_id, p.symbol, p.side, qty, "2", px))

    # -- algo -------------------------------------------------------------------------------------------------
    @precondition(lambda self: self.h.om.parents)
    @rule(data=st.data(), qty=st.integers(1, 3000), px=PRICES, venue=st.sampled_from(["XNAS", "ARCX"]))
    def child_new(self, data, qty, px, venue):
        p = data.draw(st.sampled_from(self._parents()))
        self.n += 1
        self._send(M.ChildNewRequest(p.order_id, f"k{self.n}", venue, p.symbol, p.side, qty, "2", px))

    @precondition(lambda self: self._open_children())
    @rule(data=st.data(), qty=st.integers(1, 3000), px=PRICES)
    def child_replace(self, data, qty, px):
        c = data.draw(st.sampled_from(self._open_children()))
        self._send(M.ChildReplaceRequest(c.child_id, qty, px))

    @precondition(lambda self: self._open_children())
    @rule(data=st.data())
    def child_cancel(self, data):
        c = data.draw(st.sampled_from(self._open_children()))
        self._send(M.ChildCancelRequest(c.child_id))

    # -- venues -----------------------------------------------------------------------------------------------
    @precondition(lambda self: self._open_children())
    @rule(data=st.data())
    def venue_ack(self, data):
        self._send(M.VenueAck(data.draw(st.sampled_from(self._open_children())).child_id))

    @precondition(lambda self: self._open_children())
    @rule(data=st.data(), frac=st.integers(1, 100), resend=st.booleans())
    def venue_fill(self, data, frac, resend):
        c = data.draw(st.sampled_from(self._open_children()))
        qty = max(1, c.open_qty * frac // 100)
        qty = min(qty, c.qty - self.venue_cum.get(c.child_id, 0))  # a venue never fills past the order
        if qty <= 0:
            return
        self.fill_n += 1
        exec_id = f"v{self.fill_n}"
        self.venue_cum[c.child_id] = self.venue_cum.get(c.child_id, 0) + qty
        self.fill_rec[exec_id] = [c.child_id, qty, c.px]
        self._send(M.VenueFill(c.child_id, exec_id, qty, c.px))
        if resend:  # the venue resends it (PossDup after a reconnect): must not count twice
            self._send(M.VenueFill(c.child_id, exec_id, qty, c.px))

    @precondition(lambda self: self._open_children())
    @rule(data=st.data(), kind=st.sampled_from(["canceled", "rejected", "replaced", "cancel_reject"]))
    def venue_answer(self, data, kind):
        c = data.draw(st.sampled_from(self._open_children()))
        if kind == "canceled":
            self._send(M.VenueCanceled(c.child_id))
        elif kind == "rejected" and c.status == "A":
            self._send(M.VenueReject(c.child_id, "no"))
        elif kind == "replaced" and c.replace_to:
            q, px = c.replace_to
            if q >= self.venue_cum.get(c.child_id, 0):
                self._send(M.VenueReplaced(c.child_id, q, px))
        elif kind == "cancel_reject":
            self._send(M.VenueCancelReject(c.child_id, "too late"))

    @precondition(lambda self: any(r[1] for r in self.fill_rec.values()))
    @rule(data=st.data(), bust=st.booleans(), frac=st.integers(1, 100), px=PRICES)
    def venue_bust_or_correct(self, data, bust, frac, px):
        """The venue busts one of its fills, or corrects it to a smaller quantity and another price."""
        ref = data.draw(st.sampled_from(sorted(e for e, r in self.fill_rec.items() if r[1])))
        child_id, qty, _ = self.fill_rec[ref]
        new_qty, new_px = (0, 0) if bust else (max(1, qty * frac // 100), px)
        self.fill_n += 1
        self.venue_cum[child_id] += new_qty - qty
        self.fill_rec[ref][1:] = [new_qty, new_px]
        self._send(M.VenueTradeCorrection(child_id, f"v{self.fill_n}", ref, "bust" if bust else "correct",
                                          new_qty, new_px))

    @rule(venue=st.sampled_from(["XNAS", "ARCX"]), up=st.booleans())
    def session(self, venue, up):
        self._send(M.VenueSession(venue, "", up))

    @rule()
    def end_of_day(self):
        self._send(M.EndOfDay())

    @rule()
    def close_all(self):
        """A minute after the close: whatever the venues did or did not answer, every order ends."""
        self._send(M.EndOfDay())
        self._outputs(self.h.om.on_timer(("close_all",), self.h.now))
        self.closed = True
        left = [p for p in self._parents() if not p.done]
        assert not left, left

    # -- invariants -------------------------------------------------------------------------------------------
    @invariant()
    def quantities_add_up(self):
        om = self.h.om
        for p in om.parents.values():
            kids = [om.children[c] for c in p.children]
            assert p.cum_qty == sum(k.cum_qty for k in kids)
            assert p.leaves == (0 if p.status in TERMINAL else p.qty - p.cum_qty)
            assert p.leaves >= 0
            assert sum(k.open_qty for k in kids) <= max(p.leaves, 0) or p.done, (p, kids)
            if p.ord_type == "2":
                for k in kids:
                    if k.working:
                        assert k.px <= p.px if p.side == "1" else k.px >= p.px, (p, k)
        for c in om.children.values():
            assert c.cum_qty == self.venue_cum.get(c.child_id, 0)  # every fill applied exactly once

    @invariant()
    def reports_are_consistent(self):
        for order_id, ers in self.reported.items():
            p = self.h.om.parents[order_id]
            cums = [e.cum_qty for e in ers]
            if not any(e.exec_type in ("G", "H") for e in ers):
                assert cums == sorted(cums), "CumQty never decreases but by a bust or correction"
            for e in ers:
                assert e.leaves_qty == (0 if e.ord_status in TERMINAL else e.order_qty - e.cum_qty), e
                if e.exec_type == "F":
                    assert e.last_qty > 0
            last = ers[-1]
            assert (last.cum_qty, last.cum_notional_px) == (p.cum_qty, p.cum_notional)
            # the venue's own count of what stands: each fill at its quantity and price after busts and corrections
            mine = [r for r in self.fill_rec.values() if self.h.om.children[r[0]].parent_id == order_id]
            assert sum(r[1] for r in mine) == p.cum_qty
            assert sum(r[1] * r[2] for r in mine) == p.cum_notional  # AvgPx identity, exactly

    @invariant()
    def done_parents_have_no_open_children_they_can_reach(self):
        om = self.h.om
        for p in om.parents.values():
            if p.status in ("4", "C"):
                assert not any(om.children[c].working for c in p.children), p

    @invariant()
    def no_child_while_killed_and_no_impossible_transition(self):
        assert not self.sent_while_killed, self.sent_while_killed
        assert [a for a in self.alerts if a.code == "ORDER_STATE_ERROR"] == []


OmsMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=60, deadline=None)
TestOmsStateful = OmsMachine.TestCase
