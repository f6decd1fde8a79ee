"""Hypothesis stateful test: random client requests, child requests, venue acks, fills, cancels, rejects and session
drops, with the OMS invariants and the CumQty / LeavesQty / AvgPx identities checked after every step."""
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

    # -- helpers ----------------------------------------------------------------------------------------------
    def _send(self, msg):
        got = self.h.send(msg)
        for m in got:
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

    @rule(venue=st.sampled_from(["XNAS", "ARCX"]), up=st.booleans())
    def session(self, venue, up):
        self._send(M.VenueSession(venue, "", up))

    @rule()
    def end_of_day(self):
        self._send(M.EndOfDay())

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
            assert cums == sorted(cums), "CumQty never decreases"
            for e in ers:
                assert e.leaves_qty == (0 if e.ord_status in TERMINAL else e.order_qty - e.cum_qty), e
                if e.exec_type == "F":
                    assert e.last_qty > 0
            last = ers[-1]
            assert (last.cum_qty, last.cum_notional_px) == (p.cum_qty, p.cum_notional)
            fills = [e for e in ers if e.exec_type == "F"]
            assert sum(e.last_qty for e in fills) == p.cum_qty
            assert sum(e.last_qty * e.last_px for e in fills) == p.cum_notional  # AvgPx identity, exactly

    @invariant()
    def done_parents_have_no_open_children_they_can_reach(self):
        om = self.h.om
        for p in om.parents.values():
            if p.status in ("4", "C"):
                assert not any(om.children[c].working for c in p.children), p


OmsMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestOmsStateful = OmsMachine.TestCase
