"""Pre-trade risk: every refusal has its code, FIX reason and text, and is an ExecReport on the stream."""
import pytest

from sequencer import messages as M
from tests.oms_harness import PX, Harness, firm, state

LIMITS = M.RiskLimits("acme", max_order_qty=10_000, max_order_notional_px=500_000 * PX, credit_limit_px=1_000_000 * PX,
                      collar_bp=500, dup_window_ms=1_000, max_orders_per_sec=5)


def refused(er, code, fix_reason=None):
    assert state(er)[:2] == ("8", "8"), er
    assert er.risk_code == code, er
    if fix_reason is not None:
        assert er.ord_rej_reason == fix_reason
    assert er.text


@pytest.mark.parametrize("kw, code, reason", [
    (dict(sym="ZZZZ"), "UNKNOWN_SYMBOL", 1),
    (dict(qty=20_000, px=10 * PX), "MAX_QTY", 3),
    (dict(qty=6_000, px=100 * PX), "MAX_NOTIONAL", 3),
    (dict(px=106 * PX), "PRICE_COLLAR", 99),          # buy 6% above previous close, collar 5%
    (dict(side="2", px=94 * PX), "PRICE_COLLAR", 99),
    (dict(side="5"), "SHORT_NO_LOCATE", 99),
    (dict(qty=150), "BAD_ORDER", 13),                  # mixed lot above one round lot
    (dict(px=100 * PX + 1), "BAD_ORDER", 99),          # off tick
    (dict(ord_type="3"), "BAD_ORDER", 11),
    (dict(strategy="SNIPER"), "BAD_PARAMS", 99),
    (dict(strategy="POV", participation_bp=0), "BAD_PARAMS", 99),
])
def test_single_order_refusals(kw, code, reason):
    h = Harness(limits=[firm(), LIMITS])
    refused(h.new(**kw), code, reason)


def test_short_with_locate_and_odd_lot_are_fine():
    h = Harness(limits=[firm(), LIMITS])
    assert h.new(cl="a", side="5", locate_broker="GSCO").exec_type == "0"
    assert h.new(cl="b", qty=50).exec_type == "0"


def test_halted_and_restricted():
    h = Harness(limits=[firm(), LIMITS])
    h.send(M.SymbolStatus("AAPL", True))
    refused(h.new(cl="a"), "HALTED", 2)
    h.send(M.SymbolStatus("AAPL", False))
    assert h.new(cl="b").exec_type == "0"
    h.send(M.Security("MSFT", lot_size=100, tick_px=PX // 100, prev_close_px=100 * PX, restricted=True))
    refused(h.new(cl="c", sym="MSFT"), "RESTRICTED")


def test_collar_uses_nbbo_mid_over_last_trade_over_previous_close():
    h = Harness(limits=[firm(), LIMITS])
    h.send(M.Trade("AAPL", "XNAS", 110 * PX, 100))
    assert h.new(cl="a", px=115 * PX).exec_type == "0"       # within 5% of last trade 110
    h.send(M.Quote("AAPL", "", 90 * PX, 100, 92 * PX, 100))  # NBBO mid 91 takes over
    refused(h.new(cl="b", px=115 * PX), "PRICE_COLLAR")
    assert "NBBO mid" in h.out[-1].text


def test_duplicate_window():
    h = Harness(limits=[firm(), LIMITS])
    assert h.new(cl="a").exec_type == "0"
    refused(h.new(cl="b"), "DUPLICATE_ORDER", 6)
    h.now += 2 * 10**9
    assert h.new(cl="c").exec_type == "0"


def test_throttle_on_sequenced_time():
    h = Harness(limits=[firm(), LIMITS])
    results = [h.new(cl=f"o{i}", qty=100 + 100 * i).exec_type for i in range(7)]
    assert results == ["0"] * 5 + ["8"] * 2
    assert h.out[-1].risk_code == "THROTTLE"
    h.now += 10**9
    assert h.new(cl="later", qty=9_000, px=10 * PX).exec_type == "0"


def test_credit_counts_open_and_executed_notional():
    h = Harness(limits=[M.RiskLimits("acme", credit_limit_px=300_000 * PX), firm(credit_limit_px=500_000 * PX)])
    a = h.new(cl="a", qty=2000, px=100 * PX)                   # 200k open
    refused(h.new(cl="b", qty=1100, px=100 * PX), "CREDIT_CLIENT", 0)
    h.child(a.order_id, "k1", 2000)
    h.send(M.VenueFill("k1", "v1", 2000, 100 * PX))            # open becomes executed: still 200k used
    refused(h.new(cl="c", qty=1100, px=100 * PX), "CREDIT_CLIENT")
    assert h.new(cl="d", qty=1000, px=100 * PX).exec_type == "0"   # 300k: at the limit, allowed
    assert h.new(cl="e", qty=1000, px=100 * PX, client="other").exec_type == "0"
    refused(h.new(cl="f", qty=1100, px=100 * PX, client="other"), "CREDIT_FIRM")  # 400k used + 110k > 500k
    h.send(M.CancelRequest("acme", "d2", "d", "AAPL", "1"))     # cancelling frees its open notional
    assert h.om.risk.exposure["acme"] == 200_000 * PX


def test_replace_is_risk_checked():
    h = Harness(limits=[firm(), M.RiskLimits("acme", credit_limit_px=150_000 * PX, max_order_qty=2000)])
    h.new(cl="a", qty=1000)
    [r] = h.send(M.ReplaceRequest("acme", "b", "a", "AAPL", "1", 1600, "2", 100 * PX))
    assert isinstance(r, M.CancelReject) and r.reason == 2 and r.risk_code == "CREDIT_CLIENT"
    [r] = h.send(M.ReplaceRequest("acme", "c", "a", "AAPL", "1", 3000, "2", 10 * PX))
    assert r.risk_code == "MAX_QTY"
    [ok] = h.send(M.ReplaceRequest("acme", "d", "a", "AAPL", "1", 1400, "2", 100 * PX))
    assert ok.exec_type == "5"


def test_kill_switch_blocks_and_cancels_open_orders():
    h = Harness()
    a = h.new(cl="a")
    h.child(a.order_id, "k1", 500)
    h.new(cl="b", client="other")
    got = h.send(M.KillSwitch("acme", True, cancel_open=True, text="runaway algo"))
    assert [type(m).__name__ for m in got] == ["ChildCancel"]
    refused(h.new(cl="c"), "KILL_SWITCH")
    assert h.new(cl="d", client="other").exec_type == "0"
    [x] = h.send(M.VenueCanceled("k1"))
    assert state(x) == ("4", "4", 0, 0) and "runaway algo" in x.text
    h.send(M.KillSwitch("*", True, text="firm stop"))
    refused(h.new(cl="e", client="other"), "KILL_SWITCH")
    h.send(M.KillSwitch("*", False))
    h.send(M.KillSwitch("acme", False))
    assert h.new(cl="f").exec_type == "0"


def test_market_order_needs_a_reference_price():
    h = Harness(securities=())
    h.send(M.Security("NEWCO", lot_size=100, tick_px=PX // 100))
    refused(h.new(sym="NEWCO", ord_type="1", px=0), "NO_REFERENCE_PRICE")
    h.send(M.Quote("NEWCO", "", 10 * PX, 100, 10 * PX + PX // 100, 100))
    assert h.new(cl="x", sym="NEWCO", ord_type="1", px=0).exec_type == "0"
