"""The client's side of FIX: the requests the client simulator sends (``mapping.client_fix``, held to the gateway's
``client_request`` by a property test) and the order-state rules it checks every ExecutionReport against
(``fixgw/er_check.py``): a correct report stream passes, and each broken rule is caught."""
from __future__ import annotations

import pytest
import simplefix
from hypothesis import given, settings
from hypothesis import strategies as st

from fixgw import dictionary
from fixgw.framing import split_fields
from fixgw.er_check import ErChecker
from fixgw.mapping import client_fix, client_request
from sequencer import messages as M

T0 = 1_795_271_400_000_000_000   # 2026-11-21 09:30 New York
MS = 1_000_000

orders = st.builds(
    M.NewOrder, client=st.just("C1"), cl_ord_id=st.text("ABCXYZ0123-", min_size=1, max_size=12),
    symbol=st.sampled_from(["AAPL", "MSFT"]), side=st.sampled_from(["1", "2", "5"]), qty=st.integers(1, 10**7),
    ord_type=st.just("1"), px=st.just(0), tif=st.sampled_from(["0", "3"]), account=st.sampled_from(["", "ACC1"]),
    strategy=st.sampled_from(["LIMIT", "VWAP", "TWAP", "POV"]),
    start_ns=st.sampled_from([0, T0 + 60_000 * MS]), end_ns=st.sampled_from([0, T0 + 3_600_000 * MS]),
    expire_ns=st.just(0), participation_bp=st.sampled_from([0, 1, 500, 1234]),
    locate_broker=st.just(""), params=st.sampled_from([{}, {"interval_s": "300"}, {"tol_bp": "25", "max_bp": "900"}]))


@settings(max_examples=200, deadline=None)
@given(orders, st.sampled_from([0, 10_000, 1_234_567_890]))
def test_client_fix_is_what_the_gateway_reads_back(o, px):
    if px:
        o = M.NewOrder(**{**{f: getattr(o, f) for f in o.__struct_fields__}, "ord_type": "2", "px": px})
    msgtype, body = client_fix(o, T0)
    values = {tag: str(v) for tag, v in body}
    assert client_request(msgtype, values, "C1", "") == o


def test_client_fix_cancel_and_replace_read_back():
    for m in (M.CancelRequest("C1", "X-1", "A-1", "AAPL", "1"),
              M.ReplaceRequest("C1", "R-1", "A-1", "AAPL", "2", 800, "2", 101_250_000)):
        msgtype, body = client_fix(m, T0)
        assert client_request(msgtype, {tag: str(v) for tag, v in body}, "C1", "") == m


def test_client_fix_messages_pass_the_dictionary():
    o = M.NewOrder("C1", "A-1", "AAPL", "1", 100, "2", 100_000_000, strategy="POV", participation_bp=500,
                   end_ns=T0 + 3_600_000 * MS, params={"min_bp": "100"})
    msgtype, body = client_fix(o, T0)
    head = [(35, msgtype), (49, "C1"), (56, "SEQTRADE"), (34, "2"), (52, "20261121-14:30:00.000")]
    for begin in ("FIX.4.2", "FIX.4.4"):
        m = simplefix.FixMessage()
        m.append_pair(8, begin)
        for t, v in head + body:
            m.append_pair(t, v)
        assert dictionary.get(begin, dictionary.SEQTRADE_CLIENT).validate(split_fields(m.encode())) == (msgtype, None)


# -- the execution report rules -------------------------------------------------------------------------------------
def er(cl, et, st_, qty, cum, leaves, avg="0", last=None, orig=None, more=None, exec_id=[0]):
    exec_id[0] += 1
    v = {11: cl, 17: f"E{exec_id[0]}", 150: et, 39: st_, 38: str(qty), 14: str(cum), 151: str(leaves), 6: avg}
    if last:
        v[32], v[31] = str(last[0]), last[1]
    if orig:
        v[41] = orig
    v.update(more or {})
    return v


def checker_with_order(qty=1000, ord_type="2", px="10.00", side="1") -> ErChecker:
    c = ErChecker()
    c.sent("D", {11: "A", 54: side, 38: str(qty), 40: ord_type, **({44: px} if px else {})})
    return c


def run(c: ErChecker, reports) -> list[str]:
    for v in reports:
        c.received(v)
    return c.violations


def test_a_correct_life_passes_in_fix44():
    c = checker_with_order()
    c.sent("G", {11: "B", 41: "A", 38: "1500", 40: "2", 44: "10.00"})
    c.sent("F", {11: "C", 41: "B"})
    assert run(c, [
        er("A", "0", "0", 1000, 0, 1000),
        er("A", "F", "1", 1000, 300, 700, "9.99", last=(300, "9.99")),
        er("B", "5", "1", 1500, 300, 1200, "9.99", orig="A"),
        er("C", "6", "6", 1500, 300, 1200, "9.99", orig="B"),
        er("C", "F", "6", 1500, 400, 1100, "9.9925", last=(100, "10.00")),   # a fill while the cancel is pending
        er("C", "4", "4", 1500, 400, 0, "9.9925", orig="B"),
        {11: "C", 17: "S1", 150: "I", 39: "4", 38: "1500", 14: "400", 151: "0", 6: "9.9925"},   # status after
    ]) == []
    assert c.open_orders() == []


def test_a_correct_life_passes_in_fix42():
    c = checker_with_order(qty=500, ord_type="1", px=None)
    assert run(c, [
        er("A", "0", "0", 500, 0, 500, more={20: "0"}),
        er("A", "1", "1", 500, 200, 300, "10.01", last=(200, "10.01"), more={20: "0"}),
        er("A", "2", "2", 500, 500, 0, "10.016", last=(300, "10.02"), more={20: "0"}),
        er("A", "2", "2", 500, 500, 0, "10.016", more={20: "3"}),   # a status reply
    ]) == []


@pytest.mark.parametrize("reports, wanted", [
    ([er("Z", "0", "0", 1000, 0, 1000)], "never sent"),
    ([er("A", "F", "1", 1000, 100, 900, "10.00", last=(100, "10.00"))], "first report"),
    ([er("A", "0", "2", 1000, 0, 1000)], "ExecType 0 with OrdStatus 2"),
    ([er("A", "0", "0", 1000, 0, 1000), er("A", "F", "1", 1000, 150, 850, "10.00", last=(100, "10.00"))],
     "CumQty 150 after a trade of 100"),
    ([er("A", "0", "0", 1000, 0, 1000), er("A", "F", "1", 1000, 100, 800, "10.00", last=(100, "10.00"))],
     "+ LeavesQty 800 is not OrderQty"),
    ([er("A", "0", "0", 1000, 0, 1000), er("A", "F", "1", 1000, 1000, 0, "10.00", last=(1000, "10.00"))],
     "OrdStatus 1 with CumQty 1000"),
    ([er("A", "0", "0", 1000, 0, 1000), er("A", "F", "1", 1000, 100, 900, "10.05", last=(100, "10.05"))],
     "through the limit"),
    ([er("A", "0", "0", 1000, 0, 1000), er("A", "F", "1", 1000, 100, 900, "9.00", last=(100, "9.99"))],
     "AvgPx 9.00"),
    ([er("A", "0", "0", 1000, 0, 1000), er("A", "4", "4", 1000, 0, 0), er("A", "F", "2", 1000, 100, 0, "9.99",
                                                                             last=(100, "9.99"))],
     "after the order was done"),
    ([er("A", "0", "0", 1000, 0, 1000), er("A", "4", "4", 1000, 0, 10)], "LeavesQty 10 on a done order"),
    ([er("A", "0", "0", 1000, 0, 1000), er("A", "0", "0", 900, 0, 900)], "OrderQty 900"),
    ([er("A", "0", "0", 1000, 0, 1000), er("A", "3", "3", 1000, 50, 0)], "CumQty moved from 0 to 50"),
    ([er("A", "0", "0", 1000, 0, 1000), er("A", "F", "1", 1000, 0, 1000, "0", last=(0, "9.99"))],
     "a trade with LastQty 0"),
])
def test_each_broken_rule_is_caught(reports, wanted):
    c = checker_with_order()
    got = run(c, reports)
    assert any(wanted in v for v in got), got


def test_reused_exec_id_is_caught():
    c = checker_with_order()
    a = er("A", "0", "0", 1000, 0, 1000)
    b = er("A", "F", "1", 1000, 100, 900, "9.99", last=(100, "9.99"))
    b[17] = a[17]
    assert any("reused" in v for v in run(c, [a, b]))
    assert c.open_orders() == ["A"]


def test_trade_cancel_and_correct_are_checked_against_the_fill_they_name():
    c = checker_with_order()
    f1 = er("A", "F", "1", 1000, 300, 700, "10.00", last=(300, "10.00"))
    f1[17] = "F1"
    f2 = er("A", "F", "2", 1000, 1000, 0, "9.972", last=(700, "9.96"))
    f2[17] = "F2"
    corr = er("A", "G", "2", 1000, 1000, 0, "9.966", last=(300, "9.98"))
    corr[17], corr[19] = "G1", "F1"
    bust = er("A", "H", "1", 1000, 300, 700, "9.98")
    bust[17], bust[19] = "H1", "F2"
    assert run(c, [er("A", "0", "0", 1000, 0, 1000), f1, f2, corr, bust]) == []
    c2 = checker_with_order()
    wrong = er("A", "H", "0", 1000, 0, 1000)
    wrong[17], wrong[19] = "H9", "NOPE"
    assert any("ExecRefID" in v for v in run(c2, [er("A", "0", "0", 1000, 0, 1000), wrong]))
