"""The algo container on its own: rules every strategy must obey, containment of a broken strategy, venue and
destination selection, and client changes reaching the strategy."""
from __future__ import annotations

import pytest

from algo import container as C
from algo.placement import Destinations
from algo.strategies.base import Strategy
from algo.validate import check_child
from refdata.load import load_dir
from refdata.publish import messages as refdata_messages
from sequencer import messages as M

T0 = 1_767_364_200_000_000_000     # 2026-01-02 09:30 New York
S = 1_000_000_000
PX = 100_000_000


class Harness:
    def __init__(self):
        self.box = C.AlgoContainer()
        self.seq = 0
        self.out = []
        self.feed(M.DayStart("20260102", open_ns=T0, close_ns=T0 + 23_400 * S))
        for m in refdata_messages(load_dir("refdata/sample")):
            self.feed(m)
        for v in ("XNAS", "ARCX", "EDGX"):
            self.feed(M.VenueSession(v, "S1", True))
        self.quote("AAPL", "XNAS", PX - 10_000, 500, PX, 300)
        self.quote("AAPL", "ARCX", PX - 10_000, 200, PX + 10_000, 400)
        self.quote("AAPL", "", PX - 10_000, 700, PX, 300)

    def feed(self, m, now=T0):
        self.seq += 1
        out = self.box.handle(m, now, self.seq)
        self.out += out
        return out

    def quote(self, sym, venue, b, bq, a, aq, now=T0):
        return self.feed(M.Quote(sym, venue, b, bq, a, aq), now)

    def order(self, strategy="LIMIT", qty=1000, px=PX, side="1", cl="A1", **kw):
        self.feed(M.NewOrder("C1", cl, "AAPL", side, qty, "2" if px else "1", px, strategy=strategy, **kw))
        oid = f"O{self.seq}"
        return oid, self.feed(M.ParentUpdate(oid, "accepted", "C1", cl, "0", qty, px, "2" if px else "1", 0, 0))

    def timers(self, now):
        due = sorted(t for t in self.box.timer_requests if t[0] <= now)
        self.box.timer_requests = [t for t in self.box.timer_requests if t[0] > now]
        out = []
        for at, tok in due:
            out += self.box.on_timer(tok, now)
        return out


def test_limit_order_takes_the_best_venue_first_then_rests():
    h = Harness()
    oid, _ = h.order(qty=1000, px=PX)
    out = h.timers(T0)
    kids = [m for m in out if isinstance(m, M.ChildNewRequest)]
    assert [(k.venue, k.qty, k.px, k.tif) for k in kids] == [("XNAS", 300, PX, "3")]  # only XNAS shows the limit
    assert [m for m in out if isinstance(m, M.MdSubscribe)] == []  # subscribed when the NewOrder was seen
    assert any(isinstance(m, M.MdSubscribe) and m.symbol == "AAPL" for m in h.out)


def test_destinations_round_robin_over_sessions_that_are_up_and_skip_a_down_venue():
    d = Destinations()
    d.on_session("XNAS", "S1", True)
    d.on_session("XNAS", "S2", True)
    assert [d.pick("XNAS") for _ in range(4)] == ["S1", "S2", "S1", "S2"]
    d.on_session("XNAS", "S1", False)
    assert [d.pick("XNAS") for _ in range(2)] == ["S2", "S2"]
    d.on_session("XNAS", "", False)
    assert d.pick("XNAS") is None and not d.venue_up("XNAS")


def test_a_down_venue_is_not_chosen():
    h = Harness()
    h.feed(M.VenueSession("XNAS", "", False))
    h.quote("AAPL", "ARCX", PX - 10_000, 200, PX, 400)
    h.order(qty=1000, px=PX)
    kids = [m for m in h.timers(T0) if isinstance(m, M.ChildNewRequest)]
    assert [(k.venue, k.qty) for k in kids] == [("ARCX", 400)]


@pytest.mark.parametrize("kw,code", [
    (dict(qty=600, open_qty=500), "EXCEEDS_LEAVES"),
    (dict(qty=150, lot=100), "ODD_LOT"),
    (dict(px=PX + 10_000), "THROUGH_LIMIT"),
    (dict(ord_type="1"), "THROUGH_LIMIT"),
    (dict(qty=400, shown=300), "TOO_LARGE"),
    (dict(halted=True), "HALTED"),
    (dict(restricted=True), "RESTRICTED"),
    (dict(now=T0 - 1), "BEFORE_START"),
    (dict(now=T0 + 60 * S), "AFTER_END"),
])
def test_child_rules(kw, code):
    args = dict(side="1", parent_limit=PX, leaves=1000, open_qty=0, qty=100, px=PX, ord_type="2", lot=1,
                halted=False, now=T0, start_ns=T0, end_ns=T0 + 60 * S, shown=1000, max_share_pct=100,
                restricted=False)
    assert check_child(**args) is None
    got = check_child(**{**args, **kw})
    assert got is not None and got[0] == code, got


class Broken(Strategy):
    def on_start(self):
        self.ctx.send("XNAS", 100, self.p.px, "2", "3")

    def on_quote(self, symbol, venue):
        raise ZeroDivisionError("strategy bug")


class Greedy(Strategy):
    def on_start(self):
        self.ctx.send("XNAS", self.p.qty + 1, self.p.px, "2", "3")   # more than the parent's leaves


def test_a_raising_strategy_pauses_only_its_parent(monkeypatch):
    h = Harness()
    monkeypatch.setitem(h.box.strategies_by_name, "VWAP", Broken)
    bad, _ = h.order("VWAP", qty=1000, cl="B1")
    good, _ = h.order("LIMIT", qty=100, px=PX - 20_000, cl="G1")
    h.timers(T0)
    out = h.quote("AAPL", "", PX - 10_000, 700, PX, 300)
    pauses = [m for m in out if isinstance(m, M.AlgoPause)]
    assert [(p.parent_id, p.code) for p in pauses] == [(bad, "STRATEGY_ERROR")]
    assert "ZeroDivisionError: strategy bug" in pauses[0].text
    assert [m.child_id for m in out if isinstance(m, M.ChildCancelRequest)] == [f"{bad}.1"]
    assert h.box.parents[good].active and not h.box.parents[bad].active


def test_a_rule_breaking_strategy_is_paused_before_anything_is_sent(monkeypatch):
    h = Harness()
    monkeypatch.setitem(h.box.strategies_by_name, "TWAP", Greedy)
    oid, _ = h.order("TWAP", qty=1000)
    out = h.timers(T0)
    assert not any(isinstance(m, M.ChildNewRequest) for m in out)
    (p,) = [m for m in out if isinstance(m, M.AlgoPause)]
    assert p.code == "EXCEEDS_LEAVES"


def test_client_replace_reaches_the_strategy_and_it_reslices():
    h = Harness()
    oid, _ = h.order("LIMIT", qty=1000, px=PX - 20_000)
    first = [m for m in h.timers(T0) if isinstance(m, M.ChildNewRequest)]
    # rests at its limit, no larger than the 700 shares the NBBO shows on its side
    assert [(k.qty, k.px, k.tif) for k in first] == [(700, PX - 20_000, "0")]
    h.feed(M.ChildOrder(first[0].child_id, oid, first[0].venue, "AAPL", "1", 700, "2", PX - 20_000, "0"))
    h.feed(M.ParentUpdate(oid, "pending", "C1", "A1", "E", 1000, PX - 20_000, "2", 0, 0))
    # while the OMS takes the children back the strategy sends nothing
    assert not [m for m in h.quote("AAPL", "", PX - 10_000, 700, PX, 300) if isinstance(m, M.ChildNewRequest)]
    h.feed(M.VenueCanceled(first[0].child_id))
    out = h.feed(M.ParentUpdate(oid, "replaced", "C1", "A2", "0", 500, PX - 30_000, "2", 0, 0))
    assert [(m.qty, m.px) for m in out if isinstance(m, M.ChildNewRequest)] == [(500, PX - 30_000)]


def test_client_cancel_stops_the_strategy():
    h = Harness()
    oid, _ = h.order("LIMIT", qty=1000, px=PX - 20_000)
    h.timers(T0)
    h.feed(M.ParentUpdate(oid, "pending", "C1", "A1", "6", 1000, PX - 20_000, "2", 0, 0))
    h.feed(M.ParentUpdate(oid, "done", "C1", "A2", "4", 1000, PX - 20_000, "2", 0, 0))
    assert oid not in h.box.strategies
    assert not [m for m in h.quote("AAPL", "", PX - 10_000, 700, PX - 20_000, 300)
                if isinstance(m, M.ChildNewRequest)]


def test_end_time_hands_the_rest_back():
    h = Harness()
    oid, _ = h.order("VWAP", qty=1000, px=0, end_ns=T0 + 600 * S)
    h.timers(T0)
    out = h.timers(T0 + 600 * S)
    assert [(m.parent_id, m.text) for m in out if isinstance(m, M.AlgoEnd)] == [
        (oid, "VWAP end time reached with 1000 left")]


def test_reference_data_tables_reach_the_algos():
    h = Harness()
    rows = h.box.ref.table("borrow")
    assert rows and set(rows[0]) == {"symbol", "easy_to_borrow", "borrow_rate_bp"}
    assert isinstance(rows[0]["borrow_rate_bp"], int) and isinstance(rows[0]["easy_to_borrow"], bool)
    assert h.box.ref.content_hash and h.box.ref.curve("AAPL").curve == "AAPL"


def test_each_child_names_the_record_that_caused_it():
    h = Harness()
    oid, _ = h.order(qty=1000, px=PX)
    started = [m for m in h.timers(T0) if isinstance(m, M.ChildNewRequest)]
    assert [k.cause_seq for k in started] == [0]                 # made on the start timer
    h.feed(M.VenueFill(started[0].child_id, "E1", 300, PX))      # the take filled; the rest rests at the limit
    rest = [m for m in h.out if isinstance(m, M.ChildNewRequest)][-1]
    assert rest.cause_seq == h.seq                               # made while handling the fill
    out = h.feed(M.VenueCanceled(rest.child_id))                 # XNAS still shows the limit: it takes again
    kids = [m for m in out if isinstance(m, M.ChildNewRequest)]
    assert kids and all(k.cause_seq == h.seq for k in kids)


def test_ioc_parent_takes_every_venue_within_its_limit_at_once_and_gives_back_the_rest():
    h = Harness()
    oid, _ = h.order(qty=1000, px=PX + 10_000, tif="3")      # XNAS shows 300 @ PX, ARCX 400 @ PX+0.01
    out = h.timers(T0)
    kids = [m for m in out if isinstance(m, M.ChildNewRequest)]
    assert [(k.venue, k.qty, k.px, k.tif) for k in kids] == [("XNAS", 300, PX, "3"), ("ARCX", 400, PX + 10_000, "3")]
    h.feed(M.VenueAck(kids[0].child_id))
    h.feed(M.VenueFill(kids[0].child_id, "e1", 300, PX))
    assert not [m for m in h.out if isinstance(m, M.AlgoEnd)]             # ARCX has not answered yet
    out = h.feed(M.VenueCanceled(kids[1].child_id, "not filled immediately"))
    assert [(m.parent_id, m.text) for m in out if isinstance(m, M.AlgoEnd)] == [
        (oid, "IOC: the rest canceled, not filled at once")]
    assert not [m for m in h.quote("AAPL", "XNAS", PX - 10_000, 500, PX, 900) if isinstance(m, M.ChildNewRequest)]


def test_ioc_parent_with_nothing_shown_within_its_limit_ends_at_once_and_never_rests():
    h = Harness()
    oid, _ = h.order(qty=1000, px=PX - 20_000, tif="3")
    out = h.timers(T0)
    assert not [m for m in out if isinstance(m, M.ChildNewRequest)]
    assert [m.text for m in out if isinstance(m, M.AlgoEnd)] == ["IOC: nothing shown within the limit"]


def test_fok_parent_goes_whole_to_one_venue_that_shows_it_all_or_ends():
    h = Harness()
    oid, _ = h.order(qty=400, px=PX + 10_000, tif="4", cl="F1")   # XNAS shows 300 (better price), ARCX 400
    kids = [m for m in h.timers(T0) if isinstance(m, M.ChildNewRequest)]
    assert [(k.venue, k.qty, k.px, k.tif) for k in kids] == [("ARCX", 400, PX + 10_000, "4")]
    out = h.feed(M.VenueCanceled(kids[0].child_id, "not filled in full at once (FOK)"))
    assert [m.text for m in out if isinstance(m, M.AlgoEnd)] == ["FOK: the rest canceled, not filled at once"]
    oid2, _ = h.order(qty=1000, px=PX + 10_000, tif="4", cl="F2")   # no venue shows 1000
    out = h.timers(T0)
    assert not [m for m in out if isinstance(m, M.ChildNewRequest)]
    assert [m.text for m in out if isinstance(m, M.AlgoEnd)] == ["FOK: no venue shows the whole 1000 within the limit"]


def test_a_bust_that_reopens_a_filled_parent_has_it_worked_again_and_a_client_report_is_not_read():
    h = Harness()
    oid, _ = h.order(qty=300, px=PX)
    [k] = [m for m in h.timers(T0) if isinstance(m, M.ChildNewRequest)]          # takes XNAS's 300 @ PX
    h.feed(M.VenueAck(k.child_id))
    h.feed(M.VenueFill(k.child_id, "e1", 300, PX))
    h.feed(M.ParentUpdate(oid, "done", "C1", "A1", "2", 300, PX, "2", 300, 300 * PX))
    assert oid not in h.box.strategies
    # the client's ExecutionReports are not the algo's business: a Trade Cancel report alone changes nothing
    h.feed(M.ExecReport("C1", oid, "A1", "", "X9", "H", "0", "AAPL", "1", 300, PX, 0, 300, 0))
    assert oid not in h.box.strategies
    out = h.feed(M.ParentUpdate(oid, "corrected", "C1", "A1", "0", 300, PX, "2", 0, 0))   # the OMS: fill busted
    assert oid in h.box.strategies and h.box.parents[oid].leaves == 300
    assert [(m.venue, m.qty, m.px) for m in out if isinstance(m, M.ChildNewRequest)] == [("XNAS", 300, PX)]


def test_an_end_time_that_falls_during_a_replace_ends_the_order_once_the_replace_completes():
    h = Harness()
    oid, _ = h.order("VWAP", qty=1000, px=0, end_ns=T0 + 600 * S)
    h.timers(T0)
    h.feed(M.ParentUpdate(oid, "pending", "C1", "A1", "E", 1000, 0, "1", 0, 0))
    assert not [m for m in h.timers(T0 + 600 * S) if isinstance(m, M.AlgoEnd)]      # the replace is under way
    out = h.feed(M.ParentUpdate(oid, "replaced", "C1", "A2", "0", 800, 0, "1", 0, 0), now=T0 + 601 * S)
    assert [(m.parent_id, m.text) for m in out if isinstance(m, M.AlgoEnd)] == [
        (oid, "VWAP end time reached with 800 left")]
    assert not [m for m in out if isinstance(m, M.ChildNewRequest)]
