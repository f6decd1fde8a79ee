"""Table tests: each FIX order-state transition of a parent order, as FIX 4.4 and FIX 4.2 express it."""
import pytest

from fixgw.exec_semantics import FIX42, FIX44, avg_px, exec_fields
from sequencer import messages as M
from tests.oms_harness import PX, Harness, state


def working(h, qty=1000):
    er = h.new(qty=qty)
    h.child(er.order_id, "k1", qty)
    h.send(M.VenueAck("k1"))
    return er.order_id


def test_accept_then_partial_then_fill():
    h = Harness()
    er = h.new(qty=1000)
    assert state(er) == ("0", "0", 0, 1000)
    [co] = h.child(er.order_id, "k1", 1000)
    assert isinstance(co, M.ChildOrder) and co.qty == 1000
    h.send(M.VenueAck("k1"))
    [p1] = h.send(M.VenueFill("k1", "v1", 300, 100 * PX))
    [p2] = h.send(M.VenueFill("k1", "v2", 700, 101 * PX))
    assert state(p1) == ("F", "1", 300, 700) and state(p2) == ("F", "2", 1000, 0)
    assert (p2.last_qty, p2.last_px, p2.last_mkt) == (700, 101 * PX, "XNAS")
    assert p2.cum_notional_px == 300 * 100 * PX + 700 * 101 * PX
    assert avg_px(p2.cum_notional_px, p2.cum_qty) == 100_700_000
    assert exec_fields(p1, FIX44) == {150: "F", 39: "1"}
    assert exec_fields(p1, FIX42) == {20: "0", 150: "1", 39: "1"}
    assert exec_fields(p2, FIX42) == {20: "0", 150: "2", 39: "2"}


def test_duplicate_clordid_rejected_and_original_untouched():
    h = Harness()
    first = h.new(cl="A")
    dup = h.new(cl="A", qty=5)
    assert state(dup) == ("8", "8", 0, 0) and dup.ord_rej_reason == 6 and "already used" in dup.text
    assert h.om.parents[first.order_id].qty == 1000


def test_cancel_with_no_children_is_immediate():
    h = Harness()
    er = h.new(cl="A")
    [c] = h.send(M.CancelRequest("acme", "B", "A", "AAPL", "1"))
    assert state(c) == ("4", "4", 0, 0) and (c.cl_ord_id, c.orig_cl_ord_id) == ("B", "A")


def test_cancel_waits_for_children_and_fills_keep_pending_status():
    h = Harness()
    oid = working(h)
    got = h.send(M.CancelRequest("acme", "B", "c1", "AAPL", "1"))
    pend = h.ers(got)[0]
    assert state(pend) == ("6", "6", 0, 1000)
    assert [type(m).__name__ for m in got] == ["ChildCancel", "ExecReport"]
    [late] = h.send(M.VenueFill("k1", "v1", 200, 100 * PX))  # a fill races the cancel: applied, status kept
    assert state(late) == ("F", "6", 200, 800) and late.cl_ord_id == "c1"
    assert exec_fields(late, FIX42) == {20: "0", 150: "1", 39: "6"}
    [done] = h.send(M.VenueCanceled("k1"))
    assert state(done) == ("4", "4", 200, 0) and (done.cl_ord_id, done.orig_cl_ord_id) == ("B", "c1")
    assert h.om.parents[oid].done


def test_fill_completing_order_while_cancel_pending_rejects_the_cancel():
    h = Harness()
    working(h)
    h.send(M.CancelRequest("acme", "B", "c1", "AAPL", "1"))
    got = h.send(M.VenueFill("k1", "v1", 1000, 100 * PX))
    assert state(got[0]) == ("F", "2", 1000, 0)
    rej = got[1]
    assert isinstance(rej, M.CancelReject) and (rej.reason, rej.response_to, rej.ord_status) == (0, "1", "2")


@pytest.mark.parametrize("setup, orig, reason, status", [
    ("filled", "c1", 0, "2"),
    ("unknown", "nope", 1, "8"),
    ("pending", "c1", 3, "6"),
    ("dup", "c1", 6, "0"),
    ("replaced", "c1", 99, "0"),
])
def test_cancel_rejects(setup, orig, reason, status):
    h = Harness()
    oid = working(h)
    new_id = "B"
    if setup == "filled":
        h.send(M.VenueFill("k1", "v1", 1000, 100 * PX))
    elif setup == "pending":
        h.send(M.CancelRequest("acme", "X", "c1", "AAPL", "1"))
    elif setup == "dup":
        new_id = "c1"  # reuses the order's own ClOrdID
    elif setup == "replaced":
        h.send(M.VenueCanceled("k1"))
        h.send(M.ReplaceRequest("acme", "R1", "c1", "AAPL", "1", 900, "2", 100 * PX))
    [rej] = h.send(M.CancelRequest("acme", new_id, orig, "AAPL", "1"))
    assert isinstance(rej, M.CancelReject), rej
    assert (rej.reason, rej.ord_status, rej.response_to) == (reason, status, "1"), rej
    assert rej.order_id == (oid if setup != "unknown" else "NONE")


def test_replace_below_filled_ends_order_filled():
    h = Harness()
    working(h)
    h.send(M.VenueFill("k1", "v1", 600, 100 * PX))
    got = h.send(M.ReplaceRequest("acme", "R1", "c1", "AAPL", "1", 500, "2", 100 * PX))
    assert state(h.ers(got)[0]) == ("E", "E", 600, 400)
    [r] = h.send(M.VenueCanceled("k1"))
    # Filled at what it filled: FIX never has OrderQty below CumQty (the audit found 500 reported with CumQty 600)
    assert state(r) == ("5", "2", 600, 0) and r.order_qty == 600 and r.cl_ord_id == "R1"
    assert exec_fields(r, FIX42) == {20: "0", 150: "5", 39: "2"}


def test_chained_replaces_and_42_replaced_status():
    h = Harness()
    er = h.new(cl="A", qty=1000)
    [r1] = h.send(M.ReplaceRequest("acme", "B", "A", "AAPL", "1", 800, "2", 101 * PX))
    [r2] = h.send(M.ReplaceRequest("acme", "C", "B", "AAPL", "1", 1200, "2", 99 * PX))
    assert state(r1) == ("5", "0", 0, 800) and (r1.cl_ord_id, r1.orig_cl_ord_id) == ("B", "A")
    assert state(r2) == ("5", "0", 0, 1200) and r2.px == 99 * PX and r2.order_id == er.order_id
    assert exec_fields(r2, FIX44) == {150: "5", 39: "0"}
    assert exec_fields(r2, FIX42) == {20: "0", 150: "5", 39: "5"}
    [c] = h.send(M.CancelRequest("acme", "D", "C", "AAPL", "1"))
    assert state(c) == ("4", "4", 0, 0)


def test_fills_during_pending_replace_keep_status_then_replace_applies():
    h = Harness()
    working(h)
    h.send(M.ReplaceRequest("acme", "R1", "c1", "AAPL", "1", 2000, "2", 100 * PX))
    [f] = h.send(M.VenueFill("k1", "v1", 100, 100 * PX))
    assert state(f) == ("F", "E", 100, 900)
    [r] = h.send(M.VenueCanceled("k1"))
    assert state(r) == ("5", "1", 100, 1900)


def test_status_request():
    h = Harness()
    working(h)
    h.send(M.VenueFill("k1", "v1", 100, 100 * PX))
    [s] = h.send(M.StatusRequest("acme", "c1"))
    assert state(s) == ("I", "1", 100, 900)
    assert exec_fields(s, FIX42) == {20: "3", 150: "1", 39: "1"}
    [u] = h.send(M.StatusRequest("acme", "zzz"))
    assert u.ord_status == "8" and u.text == "unknown order"


def test_expiry_waits_for_children():
    h = Harness()
    expire_at = h.now + 10**9
    er = h.new(expire_ns=expire_at)
    assert h.om.timer_requests == [(expire_at, ("expire", er.order_id))]
    h.child(er.order_id, "k1", 500)
    got = h.timer(("expire", er.order_id), h.now + 10**9)
    assert [type(m).__name__ for m in got] == ["ChildCancel"]
    [x] = h.send(M.VenueCanceled("k1"))
    assert state(x) == ("C", "C", 0, 0)


def test_end_of_day_ends_everything_as_expired():
    h = Harness()
    a = h.new(cl="A")
    b = h.new(cl="B", qty=500)
    h.child(a.order_id, "k1", 400)
    got = h.send(M.EndOfDay())
    assert [type(m).__name__ for m in got] == ["ChildCancel", "ExecReport"]  # B has no children: done at once
    # DAY orders at the close ran out of their time in force: Expired (C), not Canceled
    assert state(got[1]) == ("C", "C", 0, 0) and got[1].cl_ord_id == "B" and got[1].text == "end of day"
    [x] = h.send(M.VenueCanceled("k1"))
    assert state(x) == ("C", "C", 0, 0) and x.cl_ord_id == "A"


def test_duplicate_venue_fill_applied_once():
    h = Harness()
    working(h)
    h.send(M.VenueFill("k1", "v1", 100, 100 * PX))
    assert h.send(M.VenueFill("k1", "v1", 100, 100 * PX)) == []
    assert h.om.parents[h.ers()[-1].order_id].cum_qty == 100


def test_session_drop_marks_children_unknown_and_cancel_is_sent_when_it_returns():
    h = Harness()
    oid = working(h)
    h.send(M.VenueSession("XNAS", "", False))
    assert h.om.children["k1"].unknown
    got = h.send(M.CancelRequest("acme", "B", "c1", "AAPL", "1"))
    assert [type(m).__name__ for m in got] == ["ExecReport"]  # nothing can be sent to a venue that is down
    got = h.send(M.VenueSession("XNAS", "", True))
    assert [type(m).__name__ for m in got] == ["ChildCancel"]
    [x] = h.send(M.VenueCanceled("k1"))
    assert state(x) == ("4", "4", 0, 0) and h.om.parents[oid].done


@pytest.mark.parametrize("qty, px, ord_type, code", [
    (1001, 100 * PX, "2", "EXCEEDS_LEAVES"),
    (100, 101 * PX, "2", "THROUGH_LIMIT"),
    (100, 0, "1", "THROUGH_LIMIT"),
    (0, 100 * PX, "2", "BAD_QTY"),
])
def test_child_invariants_refused(qty, px, ord_type, code):
    h = Harness()
    er = h.new(qty=1000, px=100 * PX)
    [r] = h.child(er.order_id, "k1", qty, px=px, ord_type=ord_type)
    assert isinstance(r, M.ChildRefused) and r.code == code, r


def test_open_children_never_exceed_leaves_after_fills():
    h = Harness()
    er = h.new(qty=1000)
    h.child(er.order_id, "k1", 600)
    h.send(M.VenueFill("k1", "v1", 600, 100 * PX))
    [r] = h.child(er.order_id, "k2", 401)
    assert r.code == "EXCEEDS_LEAVES"
    [ok] = h.child(er.order_id, "k2", 400)
    assert isinstance(ok, M.ChildOrder)


def test_no_child_for_a_parent_that_is_not_working():
    h = Harness()
    er = h.new(qty=1000)
    h.child(er.order_id, "k1", 100)
    h.send(M.CancelRequest("acme", "B", "c1", "AAPL", "1"))
    [r] = h.child(er.order_id, "k2", 100)
    assert r.code == "PARENT_NOT_WORKING"


def test_avg_px_is_exact_until_written():
    assert avg_px(3 * 100_000_001, 3) == 100_000_001
    assert avg_px(100_000_001 + 100_000_002, 2) == 100_000_002  # 100.0000015 rounds half up
    assert avg_px(0, 0) == 0
