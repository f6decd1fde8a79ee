"""The positions app: average-cost positions and P&L per account and symbol from the client fills, checked against an
independent computation (exact fractions, written here from the textbook rule, not from the book's code), busts and
corrections, marks, a state digest that survives a snapshot, and a replay that regenerates every output."""
from __future__ import annotations

import pickle
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.positions import PositionsApp
from apps.simcluster import SimCluster
from positions.book import MARK_EVERY_NS, PositionBook
from replay.runner import replay
from sequencer import messages as M
from sequencer.log import log_path

PX = M.PRICE_SCALE
T0 = 1_790_000_000_000_000_000


def reference(fills: list[tuple[int, int]]) -> tuple[int, Fraction, Fraction]:
    """(qty, average cost, realised) by the average-cost rule, in exact fractions: a fill on the position's side
    re-averages the cost; against it, it realises (fill price - average) per share closed; past zero the rest opens
    at the fill's price."""
    qty, avg, realized = 0, Fraction(0), Fraction(0)
    for q, px in fills:
        if qty == 0 or (qty > 0) == (q > 0):
            avg = (avg * qty + Fraction(q * px)) / (qty + q)
            qty += q
            continue
        closed = min(abs(q), abs(qty))
        sign = 1 if qty > 0 else -1
        realized += sign * closed * (px - avg)
        qty -= sign * closed
        rest = q + sign * closed
        if qty == 0:
            avg = Fraction(0)
        if rest:
            qty, avg = rest, Fraction(px)
    return qty, avg, realized


def er(order_id, exec_id, side, qty, px, exec_type="F", ref="", client="acme", cl="c1", symbol="AAPL"):
    return M.ExecReport(client, order_id, cl, "", exec_id, exec_type, "1", symbol, side, 10**6, px, 0, 0, 0, qty, px,
                        "XNAS", exec_ref_id=ref)


FILLS = st.lists(st.tuples(st.sampled_from(["1", "2"]), st.integers(1, 900), st.integers(95 * PX // 100, 105 * PX // 100)),
                 min_size=1, max_size=40)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(FILLS)
def test_positions_follow_the_average_cost_rule(fills):
    b = PositionBook()
    for i, (side, q, px) in enumerate(fills):
        b.handle(er("O1", f"X{i}", side, q, px), T0 + i, i + 1)
    p = b.positions[("acme", "AAPL")]
    qty, avg, realized = reference([(q if side == "1" else -q, px) for side, q, px in fills])
    assert p.qty == qty
    closes = sum(1 for i in range(1, len(fills)) if fills[i][0] != fills[0][0]) + len(fills)
    assert abs(p.cost - avg * qty) < closes                     # each partial close floors the cost taken off once
    assert p.realized - p.cost == realized - avg * qty          # ... and what it floors moves between the two exactly
    if qty == 0:                                                # flat: exact, the cash in and out
        assert p.cost == 0 and p.realized == realized == -sum((q if s == "1" else -q) * px for s, q, px in fills)


def test_a_bust_and_a_correction_leave_the_position_of_the_fills_that_stand_and_marks_follow_the_nbbo():
    b = PositionBook()
    b.handle(M.Security("AAPL", lot_size=100, tick_px=PX // 100, prev_close_px=100 * PX), T0, 1)
    b.handle(M.NewOrder("acme", "c1", "AAPL", "1", 1000, "2", 110 * PX, account="ACCT-7"), T0, 2)
    out = b.handle(er("O3", "X1", "1", 300, 100 * PX), T0 + 1, 3)
    assert out[0] == M.PositionUpdate("ACCT-7", "AAPL", 300, 300 * 100 * PX, 0, 100 * PX, 0)   # marked: prev close
    b.handle(er("O3", "X2", "1", 200, 101 * PX), T0 + 2, 4)
    b.handle(er("O3", "X3", "2", 100, 103 * PX, cl="c2"), T0 + 3, 5)   # sells 100 of 500 at an average of 100.40
    p = b.positions[("ACCT-7", "AAPL")]
    assert (p.qty, p.realized) == (400, 100 * (103 * PX) - 100 * (100 * PX + PX * 2 // 5))   # 100.40 average
    b.handle(er("O3", "X4", "1", 200, 0, exec_type="H", ref="X2"), T0 + 4, 6)           # the 200 @ 101 busted
    b.handle(er("O3", "X5", "1", 250, 99 * PX, exec_type="G", ref="X1"), T0 + 5, 7)     # 300 @ 100 -> 250 @ 99
    qty, avg, realized = reference([(250, 99 * PX), (-100, 103 * PX)])
    assert (p.qty, p.cost, p.realized) == (qty, avg * qty, realized) == (150, 150 * 99 * PX, 100 * 4 * PX)
    b.handle(M.Quote("AAPL", "", 104 * PX, 100, 104 * PX + PX // 50, 100), T0 + 6, 8)
    [update, account] = b.on_timer(("mark",), T0 + 6 + MARK_EVERY_NS)
    mark = 104 * PX + PX // 100
    assert update == M.PositionUpdate("ACCT-7", "AAPL", 150, 150 * 99 * PX, 400 * PX, mark, 150 * mark - 150 * 99 * PX)
    assert account == M.AccountPnl("ACCT-7", 400 * PX, 150 * mark - 150 * 99 * PX, 150 * mark, 150 * mark)
    assert b.handle(er("O3", "X9", "1", 1, 0, exec_type="H", ref="NOPE"), T0 + 7, 9)[0].code == "POSITION_UNKNOWN_FILL"
    restored = pickle.loads(pickle.dumps(b))                    # a snapshot's state: the same digest
    assert restored.state_hash() == b.state_hash()
    b.handle(er("O3", "X10", "1", 1, 99 * PX), T0 + 8, 10)
    assert restored.state_hash() != b.state_hash()


def test_the_positions_app_in_a_simulated_day_matches_the_fills_and_replays_identically(tmp_path):
    c = SimCluster(str(tmp_path / "day"), "refdata/sample", seed=8)
    c.add(PositionsApp())
    c.run_until(c.at("09:31"))
    for i, sym in enumerate(("AAPL", "MSFT", "NVDA")):
        c.inject("client", M.NewOrder("CLIENT1", f"P{i}", sym, "1" if i % 2 == 0 else "2", 3_000, "1", 0,
                                      strategy="TWAP", end_ns=c.at("09:41"), account=f"ACC{i % 2}"))
    c.run_until(c.at("09:45"))
    path = log_path(str(tmp_path / "day"), c.log.trading_day)
    recs = list(c.history(1))
    c.close()
    fills: dict[tuple, list] = {}
    account = {f"P{i}": f"ACC{i % 2}" for i in range(3)}
    for r in recs:
        m = r.msg
        if isinstance(m, M.ExecReport) and m.exec_type == "F":
            fills.setdefault((account[m.cl_ord_id], m.symbol), []).append(
                (m.last_qty if m.side == "1" else -m.last_qty, m.last_px))
    last = {}
    for r in recs:
        if isinstance(r.msg, M.PositionUpdate) and r.source == "positions":
            last[(r.msg.account, r.msg.symbol)] = r.msg
    assert fills and set(last) == set(fills)
    for key, fs in fills.items():
        qty, avg, _ = reference(fs)
        assert last[key].qty == qty and abs(last[key].cost_px - avg * qty) < len(fs)
    res, _ = replay(path, {"positions": PositionsApp()}, verify=True)
    assert not any(res.mismatches.values()) and res.verified["positions"] > 0
