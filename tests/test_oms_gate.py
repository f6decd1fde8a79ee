"""15c3-5 on every order that enters the market, written from the audit's findings (issue 18): the kill switch stops
child orders, halted/restricted symbols and erroneous prices get none, a venue that stops acknowledging is not sent
thousands of children, firm limits bind every client, a replace gets every check a new order gets, and a
TimeInForce we do not work is rejected rather than worked as DAY."""
import pytest

from oms import risk
from sequencer import messages as M
from tests.oms_harness import PX, Harness, firm


def working_parent(h, cl="c1", qty=1000, **kw):
    er = h.new(cl=cl, qty=qty, **kw)
    assert er.exec_type == "0", er
    return er.order_id


def refused_child(got, code):
    ref = [m for m in got if isinstance(m, M.ChildRefused)]
    assert [r.code for r in ref] == [code], got
    assert not [m for m in got if isinstance(m, M.ChildOrder)]
    return ref[0]


def test_a_firm_kill_switch_stops_child_orders_even_without_cancelling_open_ones():
    h = Harness()
    pid = working_parent(h)
    h.send(M.KillSwitch("*", True, cancel_open=False, text="desk says stop"))
    r = refused_child(h.child(pid, "k1", 100), "KILL_SWITCH")
    assert "desk says stop" in r.text
    h.send(M.KillSwitch("*", False))
    assert [type(m) for m in h.child(pid, "k2", 100)] == [M.ChildOrder]


def test_a_client_kill_switch_stops_that_client_s_children_only():
    h = Harness()
    a = working_parent(h, cl="a", client="acme")
    b = working_parent(h, cl="b", client="beta")
    h.send(M.KillSwitch("acme", True))
    refused_child(h.child(a, "k1", 100), "KILL_SWITCH")
    assert [type(m) for m in h.child(b, "k2", 100)] == [M.ChildOrder]


def test_halted_and_restricted_symbols_get_no_children():
    h = Harness()
    pid = working_parent(h)
    h.send(M.SymbolStatus("AAPL", True))
    refused_child(h.child(pid, "k1", 100), "HALTED")
    h.send(M.SymbolStatus("AAPL", False))
    h.send(M.Security("AAPL", lot_size=100, tick_px=PX // 100, prev_close_px=100 * PX, restricted=True))
    refused_child(h.child(pid, "k2", 100), "RESTRICTED")


def test_a_child_far_through_the_reference_price_is_an_erroneous_price():
    h = Harness()
    pid = working_parent(h, ord_type="1", px=0)           # a market parent: no limit to stop a wild child price
    refused_child(h.child(pid, "k1", 100, px=1_000 * PX), "ERRONEOUS_PRICE")   # 10x the reference price
    assert [type(m) for m in h.child(pid, "k2", 100, px=105 * PX)] == [M.ChildOrder]


def test_child_notional_and_collar_limits_apply_to_children():
    h = Harness(limits=[firm(max_order_notional_px=50_000 * PX, collar_bp=300)])
    pid = working_parent(h, qty=400, ord_type="1", px=0)
    refused_child(h.child(pid, "k1", 400, px=200 * PX // 2 + 4 * PX), "PRICE_COLLAR")   # 104 vs 100 ref, 3% collar
    assert [type(m) for m in h.child(pid, "k2", 400, px=101 * PX)] == [M.ChildOrder]


def test_a_venue_that_never_acknowledges_gets_at_most_the_limit_and_an_alert(monkeypatch):
    monkeypatch.setattr(risk, "MAX_UNACKED_CHILDREN_PER_VENUE", 5)
    import oms.manager as manager
    monkeypatch.setattr(manager, "MAX_UNACKED_CHILDREN_PER_VENUE", 5)
    h = Harness()
    pid = working_parent(h, qty=100_000, px=100 * PX)
    sent, refused, alerts = 0, [], []
    for i in range(20):
        got = h.child(pid, f"k{i}", 100, venue="DARK")
        sent += sum(isinstance(m, M.ChildOrder) for m in got)
        refused += [m.code for m in got if isinstance(m, M.ChildRefused)]
        alerts += [m.code for m in got if isinstance(m, M.OmsAlert)]
    assert sent == 5 and set(refused) == {"MAX_UNACKED_CHILDREN"} and alerts == ["VENUE_NOT_ACKNOWLEDGING"]
    assert [type(m) for m in h.child(pid, "other", 100, venue="XNAS")] == [M.ChildOrder]   # other venues go on
    for i in range(5):                                     # the venue answers: it may be used again
        h.send(M.VenueAck(f"k{i}"))
    assert [type(m) for m in h.child(pid, "again", 100, venue="DARK")] == [M.ChildOrder]


def test_firm_limits_bind_a_client_without_its_own_record():
    h = Harness(limits=[firm(collar_bp=200, max_order_notional_px=1_000_000 * PX)])
    er = h.new(cl="a", client="nobody", px=105 * PX)       # 5% through with the firm's 2% collar
    assert (er.exec_type, er.risk_code) == ("8", "PRICE_COLLAR")
    er = h.new(cl="b", client="nobody", qty=50_000, px=100 * PX)     # $5m against the firm's $1m per order
    assert (er.exec_type, er.risk_code) == ("8", "MAX_NOTIONAL")


def test_a_client_record_overrides_the_firm_field_by_field():
    h = Harness(limits=[firm(collar_bp=200), M.RiskLimits("acme", collar_bp=1_000)])
    assert h.new(cl="a", client="acme", px=105 * PX).exec_type == "0"        # acme's own 10% collar
    assert h.new(cl="b", client="beta", px=105 * PX).risk_code == "PRICE_COLLAR"


def test_a_replace_gets_every_check_a_new_order_gets():
    h = Harness()
    pid = working_parent(h)
    got = h.send(M.ReplaceRequest("acme", "r1", "c1", "AAPL", "1", 1000, "2", 100 * PX + 1))   # off the tick
    [rej] = [m for m in got if isinstance(m, M.CancelReject)]
    assert rej.risk_code == "BAD_ORDER" and rej.response_to == "2"
    h.send(M.SymbolStatus("AAPL", True))
    got = h.send(M.ReplaceRequest("acme", "r2", "c1", "AAPL", "1", 900, "2", 100 * PX))
    [rej] = [m for m in got if isinstance(m, M.CancelReject)]
    assert rej.risk_code == "HALTED"
    assert pid


def test_a_cancel_naming_a_pending_replace_is_already_pending_not_other():
    h = Harness()
    pid = working_parent(h)
    h.child(pid, "k1", 100)
    h.send(M.VenueAck("k1"))
    h.send(M.ReplaceRequest("acme", "r1", "c1", "AAPL", "1", 900, "2", 100 * PX))   # pending: k1 being cancelled
    got = h.send(M.CancelRequest("acme", "x1", "r1", "AAPL", "1"))
    [rej] = [m for m in got if isinstance(m, M.CancelReject)]
    assert rej.reason == 3 and rej.response_to == "1"


def test_smaller_fix_errors_of_the_audit():
    from fixgw import mapping
    from fixgw.exec_semantics import cxl_rej_reason
    # 4.2 has CxlRejReason 0..3 only: a duplicate ClOrdID or "other" is broker option (2), never "too late" (0)
    assert [cxl_rej_reason(c, "FIX.4.2") for c in (0, 1, 3, 6, 99)] == [0, 1, 3, 2, 2]
    assert cxl_rej_reason(6, "FIX.4.4") == 6
    h = Harness()
    # the reply to a status request for an unknown order echoes its Symbol and Side
    [er] = h.send(M.StatusRequest("acme", "nope", "MSFT", "2"))
    assert (er.symbol, er.side, er.ord_status) == ("MSFT", "2", "8")
    body = dict(mapping.execution_report(er, "FIX.4.4"))
    assert (body[55], body[54]) == ("MSFT", "2")
    # a paused algo's Restated report carries ExecRestatementReason
    pid = working_parent(h)
    [er] = h.send(M.AlgoPause(pid, "OMS_REFUSED", "test"))
    assert er.exec_type == "D" and er.restatement_reason == 4
    for begin in ("FIX.4.2", "FIX.4.4"):
        assert dict(mapping.execution_report(er, begin))[378] == 4
    # a fill that arrives after the order was canceled and completes it: OrdStatus Filled, not Canceled
    h2 = Harness()
    pid = working_parent(h2, qty=100)
    h2.child(pid, "k1", 100)
    h2.send(M.VenueAck("k1"))
    h2.send(M.CancelRequest("acme", "x1", "c1", "AAPL", "1"))
    h2.send(M.VenueCanceled("k1"))                      # the parent is Canceled ...
    got = h2.send(M.VenueFill("k1", "late", 100, 100 * PX))   # ... and then the venue's fill arrives
    [er] = [m for m in got if isinstance(m, M.ExecReport)]
    assert (er.exec_type, er.ord_status, er.cum_qty) == ("F", "2", 100)


def _filled_child(h, qty=300, fills=((100, 100), (200, 101))):
    pid = working_parent(h, qty=qty, px=102 * PX)
    h.child(pid, "k1", qty, px=102 * PX)
    h.send(M.VenueAck("k1"))
    ids = []
    for i, (q, px) in enumerate(fills):
        got = h.send(M.VenueFill("k1", f"v{i}", q, px * PX))
        ids.append([m for m in got if isinstance(m, M.ExecReport)][0].exec_id)
    return pid, ids


def test_a_bust_takes_the_fill_back_and_reopens_the_order():
    h = Harness()
    pid, ids = _filled_child(h)
    p = h.om.parents[pid]
    assert (p.status, p.cum_qty) == ("2", 300)
    exposure_before = h.om.risk.exposure["acme"]
    got = h.send(M.VenueTradeCorrection("k1", "b1", "v1", "bust"))
    [er] = [m for m in got if isinstance(m, M.ExecReport)]
    assert (er.exec_type, er.exec_ref_id, er.last_qty, er.last_px) == ("H", ids[1], 200, 101 * PX)
    assert (er.cum_qty, er.leaves_qty, er.ord_status) == (100, 200, "1")       # working again for what it lost
    assert er.cum_notional_px == 100 * 100 * PX                                   # AvgPx is the remaining fill's
    # exposure: the busted 200 @ 101 executed becomes 200 open at the order's limit of 102
    assert h.om.risk.exposure["acme"] - exposure_before == 200 * (102 - 101) * PX
    assert h.send(M.VenueTradeCorrection("k1", "b1", "v1", "bust")) == []      # a resent bust is applied once


def test_a_correction_changes_the_fill_and_names_it():
    h = Harness()
    pid, ids = _filled_child(h)
    got = h.send(M.VenueTradeCorrection("k1", "c1", "v0", "correct", 100, 99 * PX))
    [er] = [m for m in got if isinstance(m, M.ExecReport)]
    assert (er.exec_type, er.exec_ref_id, er.last_qty, er.last_px, er.cum_qty) == ("G", ids[0], 100, 99 * PX, 300)
    assert er.cum_notional_px == (100 * 99 + 200 * 101) * PX
    from fixgw import mapping
    b44 = dict(mapping.execution_report(er, "FIX.4.4"))
    b42 = dict(mapping.execution_report(er, "FIX.4.2"))
    assert (b44[150], b44[19]) == ("G", ids[0]) and (b42[20], b42[150], b42[19]) == ("2", "2", ids[0])


def test_a_bust_of_a_fill_the_child_never_had_is_an_alert():
    h = Harness()
    _filled_child(h)
    got = h.send(M.VenueTradeCorrection("k1", "b9", "nope", "bust"))
    assert [type(m) for m in got] == [M.OmsAlert] and got[0].code == "UNKNOWN_FILL"


def test_venue_reports_of_busts_and_corrections_map_in_both_versions():
    from fixgw import mapping
    bust44 = {150: "H", 17: "E9", 19: "E1", 39: "0"}
    assert mapping.venue_event("8", bust44, "k1", "FIX.4.4") == M.VenueTradeCorrection("k1", "E9", "E1", "bust")
    corr42 = {20: "2", 150: "2", 17: "E9", 19: "E1", 39: "2", 32: "100", 31: "10.5"}
    assert mapping.venue_event("8", corr42, "k1", "FIX.4.2") == M.VenueTradeCorrection("k1", "E9", "E1", "correct",
                                                                                       100, 10_500_000)
    with pytest.raises(mapping.MappingError, match="ExecRefID"):
        mapping.venue_event("8", {150: "H", 17: "E9", 39: "0"}, "k1", "FIX.4.4")


def _waiting_on_a_child(h):
    pid = working_parent(h)
    h.child(pid, "k1", 100)
    h.send(M.VenueAck("k1"))
    h.send(M.CancelRequest("acme", "x1", "c1", "AAPL", "1"))      # Pending Cancel while k1 is cancelled
    assert h.om.parents[pid].status == "6"
    return pid


def test_a_cancel_reject_saying_the_child_is_over_finishes_the_parent_s_request():
    h = Harness()
    pid = _waiting_on_a_child(h)
    got = h.send(M.VenueCancelReject("k1", "too late", ord_status="4", reason=0, response_to="1"))
    assert h.om.parents[pid].done
    [er] = [m for m in got if isinstance(m, M.ExecReport)]
    assert (er.exec_type, er.ord_status, er.cl_ord_id) == ("4", "4", "x1")


def test_a_working_child_that_refuses_to_cancel_is_asked_again_and_the_close_ends_the_order_anyway():
    h = Harness()
    pid = _waiting_on_a_child(h)
    got = h.send(M.VenueCancelReject("k1", "no", ord_status="0", reason=2, response_to="1"))
    assert [m.code for m in got if isinstance(m, M.OmsAlert)] == ["CHILD_CANCEL_REJECTED"]
    at, token = h.om.timer_requests[-1]
    assert token == ("recancel", "k1")
    assert [type(m) for m in h.timer(token, at)] == [M.ChildCancel]
    for _ in range(3):                                              # the venue keeps refusing
        h.send(M.VenueCancelReject("k1", "no", ord_status="0"))
        if h.om.timer_requests and h.om.timer_requests[-1][1] == ("recancel", "k1"):
            at, token = h.om.timer_requests.pop()
            h.timer(token, at)
    h.send(M.EndOfDay("market close"))
    at, token = h.om.timer_requests[-1]
    assert token == ("close_all",)
    got = h.timer(token, at)
    ers = [m for m in got if isinstance(m, M.ExecReport)]
    rejects = [m for m in got if isinstance(m, M.CancelReject)]
    assert [m.code for m in got if isinstance(m, M.OmsAlert)] == ["CHILD_UNRESOLVED_AT_CLOSE"]
    assert [r.cl_ord_id for r in rejects] == ["x1"]                 # the client's cancel: answered
    assert ers and ers[-1].ord_status in ("4", "C") and h.om.parents[pid].done   # and the order: ended


def test_after_a_refused_cancel_the_venue_is_asked_the_child_s_state_and_its_answer_completes_the_parent():
    h = Harness()
    pid = _waiting_on_a_child(h)
    got = h.send(M.VenueCancelReject("k1", "no", ord_status="0", reason=2, response_to="1"))
    assert [(m.child_id, m.venue) for m in got if isinstance(m, M.ChildStatusRequest)] == [("k1", "XNAS")]
    assert not h.om.parents[pid].done
    h.send(M.VenueOrderStatus("k1", "1", 40, 60))              # still working there: nothing to conclude yet
    assert not h.om.parents[pid].done and h.om.children["k1"].working
    got = h.send(M.VenueOrderStatus("k1", "4", 0, 0))          # the venue says it is canceled after all
    [er] = [m for m in got if isinstance(m, M.ExecReport)]
    assert (er.exec_type, er.ord_status, er.cl_ord_id) == ("4", "4", "x1") and h.om.parents[pid].done


@pytest.mark.parametrize("begin, fields", [
    ("FIX.4.4", {150: "I", 39: "1", 14: "40", 151: "60"}),
    ("FIX.4.2", {20: "3", 150: "1", 39: "1", 14: "40", 151: "60"}),
])
def test_a_venue_status_report_maps_to_venue_order_status(begin, fields):
    from fixgw import mapping
    m = mapping.venue_event("8", {37: "O", 11: "k1", 17: "S1", 55: "AAPL", 54: "1", 6: "0", **fields}, "k1", begin)
    assert m == M.VenueOrderStatus("k1", "1", 40, 60)


def test_venue_cancel_rejects_carry_the_venue_s_status_reason_and_response_to():
    from fixgw import mapping
    m = mapping.venue_event("9", {37: "O", 11: "k1.1", 41: "k1", 39: "2", 102: "0", 434: "1", 58: "filled"}, "k1",
                            "FIX.4.4")
    assert (m.ord_status, m.reason, m.response_to, m.text) == ("2", 0, "1", "filled")


def test_risk_fails_closed_without_any_limits_and_for_each_limit_left_unset():
    h = Harness(limits=())                                  # nothing published: not the client's, not the firm's
    er = h.new(cl="a")
    assert (er.exec_type, er.risk_code) == ("8", "NO_LIMITS") and "[risk.firm]" in er.text
    h.send(firm(credit_limit_px=10**9 * PX, collar_bp=0))  # the firm leaves the collar unset ...
    er = h.new(cl="b")
    assert er.risk_code == "NO_LIMITS" and "collar_bp" in er.text and "credit_limit" not in er.text
    h.send(M.RiskLimits("acme", collar_bp=500))             # ... and the client's own record sets it
    assert h.new(cl="c").exec_type == "0"
    assert h.new(cl="d", client="other").risk_code == "NO_LIMITS"
    h.send(firm(collar_bp=M.UNLIMITED))                     # "unlimited", said explicitly: allowed
    assert h.new(cl="e", client="other").exec_type == "0"


def test_order_mass_cancel_by_client_and_by_symbol():
    h = Harness()
    a = working_parent(h, cl="a")
    b = working_parent(h, cl="b", sym="MSFT")
    c = working_parent(h, cl="c", client="other")
    got = h.send(M.MassCancelRequest("acme", "m1", "1", "MSFT"))     # by security
    [rep] = [m for m in got if isinstance(m, M.MassCancelReport)]
    assert (rep.response, rep.affected) == ("1", 1)
    assert [(e.order_id, e.exec_type) for e in got if isinstance(e, M.ExecReport)] == [(b, "4")]
    got = h.send(M.MassCancelRequest("acme", "m2", "7"))              # all of this client's orders
    [rep] = [m for m in got if isinstance(m, M.MassCancelReport)]
    assert (rep.response, rep.affected) == ("7", 1)
    assert [(e.order_id, e.exec_type) for e in got if isinstance(e, M.ExecReport)] == [(a, "4")]
    assert not h.om.parents[c].done                                    # another client's order is untouched
    [rep] = h.send(M.MassCancelRequest("acme", "m3", "3"))            # by product: not supported
    assert (rep.response, rep.reject_reason, rep.affected) == ("0", 0, 0)
    from fixgw import mapping
    body = dict(mapping.mass_cancel_report(rep))
    assert (body[531], body[532], body[533]) == ("0", 0, 0)
    req = mapping.client_request("q", {11: "m9", 530: "7"}, "acme", "")
    assert req == M.MassCancelRequest("acme", "m9", "7", "", "")


GTD_TODAY = {"expire_ns": 1_790_003_600_000_000_000}


@pytest.mark.parametrize("tif, strategy, ok, text, extra", [
    ("3", "LIMIT", True, "", {}), ("4", "LIMIT", True, "", {}), ("0", "LIMIT", True, "", {}),
    ("6", "LIMIT", True, "", GTD_TODAY), ("6", "LIMIT", False, "GTD needs an ExpireTime", {}),
    ("3", "LIMIT", False, "IOC executes at once: no start, end or expire time", GTD_TODAY),
    ("3", "VWAP", False, "TimeInForce IOC is for LIMIT orders, not VWAP", {}),
    ("1", "LIMIT", False, "TimeInForce GTC is not supported: orders do not live across days", {}),
    ("2", "LIMIT", False, "no opening auction", {}), ("7", "LIMIT", False, "no closing auction", {}),
    ("5", "LIMIT", False, "GTX is not supported", {}), ("9", "LIMIT", False, "unknown TimeInForce", {}),
])
def test_time_in_force_is_worked_or_refused_as_unsupported_never_worked_as_day(tif, strategy, ok, text, extra):
    h = Harness()
    [er] = h.send(M.NewOrder("acme", "t1", "AAPL", "1", 100, "2", 100 * PX, tif=tif, strategy=strategy, **extra))
    if ok:
        assert (er.exec_type, er.ord_status) == ("0", "0")
    else:
        assert (er.exec_type, er.ord_rej_reason, er.risk_code) == ("8", 11, "UNSUPPORTED_TIF") and text in er.text


def test_a_child_of_an_ioc_or_fok_parent_has_its_time_in_force():
    h = Harness()
    for tif in ("3", "4"):
        [er] = h.send(M.NewOrder("acme", f"t{tif}", "AAPL", "1", 100, "2", 100 * PX, tif=tif))
        [ref] = h.send(M.ChildNewRequest(er.order_id, f"k{tif}", "XNAS", "AAPL", "1", 100, "2", 100 * PX, "0"))
        assert isinstance(ref, M.ChildRefused) and ref.code == "TIF_MISMATCH"
        [child] = h.send(M.ChildNewRequest(er.order_id, f"k{tif}b", "XNAS", "AAPL", "1", 100, "2", 100 * PX, tif))
        assert isinstance(child, M.ChildOrder) and child.tif == tif


def test_the_algo_is_told_every_parent_change_by_a_parent_update_not_by_the_client_reports():
    h = Harness()
    assert h.new(cl="r", qty=-5).exec_type == "8"
    pid = working_parent(h, cl="a", qty=300)
    h.child(pid, "k1", 300)
    h.send(M.VenueAck("k1"))
    h.send(M.ReplaceRequest("acme", "a2", "a", "AAPL", "1", 400, "2", 100 * PX))   # pending: the child goes back
    h.send(M.VenueCanceled("k1"))                                                   # replaced
    h.child(pid, "k2", 400)
    h.send(M.VenueAck("k2"))
    h.send(M.VenueFill("k2", "e1", 400, 100 * PX))                                 # done: filled
    h.send(M.VenueTradeCorrection("k2", "b1", "e1", "bust"))                        # corrected: working again
    got = [(u.event, u.status, u.qty, u.cum_qty, u.cl_ord_id) for u in h.updates]
    assert got == [("rejected", "8", -5, 0, "r"), ("accepted", "0", 300, 0, "a"), ("pending", "E", 300, 0, "a"),
                   ("replaced", "0", 400, 0, "a2"), ("done", "2", 400, 400, "a2"), ("corrected", "0", 400, 0, "a2")]


def test_cancel_on_disconnect_ends_every_open_order_of_that_client_only():
    h = Harness()
    a = working_parent(h, cl="a")
    b = working_parent(h, cl="b")
    h.child(b, "kb", 100)
    other = working_parent(h, cl="o", client="other")
    got = h.send(M.CancelOnDisconnect("acme", "clientgw:ACME", "cancel on disconnect"))
    assert [(e.order_id, e.exec_type) for e in h.ers(got)] == [(a, "4")]         # b waits for its child
    assert [m.child_id for m in got if isinstance(m, M.ChildCancel)] == ["kb"]
    got = h.send(M.VenueCanceled("kb"))
    [er] = h.ers(got)
    assert (er.order_id, er.exec_type, er.text) == (b, "4", "cancel on disconnect (clientgw:ACME)")
    assert not h.om.parents[other].done


def test_a_desk_cancel_ends_the_order_and_names_the_user():
    h = Harness()
    a = working_parent(h, cl="a")
    h.child(a, "ka", 100)
    got = h.send(M.DeskCancel("alice", a, "client called"))
    assert [m.child_id for m in got if isinstance(m, M.ChildCancel)] == ["ka"]
    [er] = h.ers(h.send(M.VenueCanceled("ka")))
    assert (er.exec_type, er.text) == ("4", "canceled by the desk (alice): client called")
    [alert] = h.send(M.DeskCancel("bob", a))
    assert alert.code == "DESK_CANCEL_REFUSED" and "bob" in alert.text and "canceled" in alert.text


def test_a_desk_cancel_all_ends_every_open_order_of_that_client_only_and_records_who():
    h = Harness()
    a1, a2 = working_parent(h, cl="a1", client="acme"), working_parent(h, cl="a2", client="acme")
    b = working_parent(h, cl="b", client="beta")
    got = h.send(M.DeskCancelAll("alice", "acme", text="client called"))
    alerts = [m for m in got if isinstance(m, M.OmsAlert)]
    assert [a.code for a in alerts] == ["DESK_CANCEL_ALL"] and "alice" in alerts[0].text and "2" in alerts[0].text
    assert sorted((e.order_id, e.exec_type) for e in h.ers(got)) == sorted([(a1, "4"), (a2, "4")])
    assert all("alice" in e.text for e in h.ers(got))
    assert not h.om.parents[b].done
