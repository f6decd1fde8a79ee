"""Whole-cluster simulations in one process (OMS, algo container, seeded simulated street): what each strategy
achieves, that the invariants hold, and that a day replays exactly. The figures are printed (pytest -s shows them)."""
from __future__ import annotations

import pytest

from apps.algo import AlgoApp
from apps.oms import OmsApp
from apps.simcluster import SECOND, SimCluster
from apps.street_sim import SimStreetApp
from sequencer import messages as M

QTY = 20_000
POV_QTY, POV_BP = 400_000, 500         # more than 5% of the hour's volume: it participates to the end
ORDERS = [("V1", "AAPL", "VWAP", {}), ("T1", "MSFT", "TWAP", {"interval_s": "120"}),
          ("P1", "NVDA", "POV", {}), ("L1", "GOOG", "LIMIT", {})]


def run_day(tmp_path, seed=3, name="day"):
    c = SimCluster(str(tmp_path / name), "refdata/sample", seed=seed)
    c.run_until(c.at("09:31"))
    start, end = c.at("09:31"), c.at("10:31")
    for cl, sym, strat, params in ORDERS:
        c.inject("client", M.NewOrder("C1", cl, sym, "1" if cl != "P1" else "2", POV_QTY if cl == "P1" else QTY, "1",
                                      0, "0", strategy=strat, end_ns=end, participation_bp=POV_BP if cl == "P1" else 0,
                                      params=params))
    c.run_until(c.at("09:31:05"))
    c.strategies_at_start = dict(c.algo.box.strategies)  # kept for their schedules once they finish
    c.run_until(c.at("10:35"))
    return c, start, end


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    c, start, end = run_day(tmp_path_factory.mktemp("sim"))
    recs = list(c.history(1))
    yield c, recs, start, end
    c.close()


def parent_of(c, cl):
    return next(p for p in c.oms.om.parents.values() if p.cl_ord_id == cl)


def fills_of(recs, c, parent_id):
    kids = set(c.oms.om.parents[parent_id].children)
    return [(r.ts, r.msg.last_qty) for r in recs if isinstance(r.msg, M.VenueFill) and r.msg.child_id in kids]


def test_every_parent_ends_filled_or_cancelled_by_its_end_time(day):
    c, recs, start, end = day
    for cl, *_ in ORDERS:
        p = parent_of(c, cl)
        assert p.status in ("2", "4"), (cl, p.status)
        assert p.status == "2" or cl == "P1"  # the POV order is sized to outlast the hour
        last = max(r.ts for r in recs if isinstance(r.msg, M.ExecReport) and r.msg.order_id == p.order_id)
        assert last <= end + 5 * SECOND, f"{cl} ended {(last - end) / SECOND:.0f}s after its end time"
        assert not any(ch.working for ch in map(c.oms.om.children.get, p.children))


def test_invariants_never_broke(day):
    c, recs, start, end = day
    refusals = [r.msg for r in recs if isinstance(r.msg, M.ChildRefused) and r.msg.request == "new"]
    assert refusals == []                                    # the container's checks kept every child valid
    assert [r.msg for r in recs if isinstance(r.msg, (M.AlgoPause, M.OmsAlert))] == []
    for r in recs:
        if isinstance(r.msg, M.ChildOrder):
            assert r.ts < end, "a child after its parent's end time"


def test_vwap_tracks_the_volume_curve(day):
    c, recs, start, end = day
    p = parent_of(c, "V1")
    fills = fills_of(recs, c, p.order_id)
    ref = c.algo.box.ref
    whole = ref.curve_weight("AAPL", start, end)
    errs = []
    for k in range(1, 60):
        t = start + k * 60 * SECOND
        target = QTY * ref.curve_weight("AAPL", start, t) // whole
        errs.append((sum(q for ts, q in fills if ts <= t) - target) / QTY)
    rms = (sum(e * e for e in errs) / len(errs)) ** 0.5
    print(f"\nVWAP tracking error vs the volume curve, per minute: rms {rms:.2%}, max {max(map(abs, errs)):.2%}")
    assert rms < 0.04 and max(map(abs, errs)) < 0.08


def test_pov_participation_stays_in_its_band(day):
    c, recs, start, end = day
    p = parent_of(c, "P1")
    kids = set(p.children)
    volume = mine = 0
    lows, next_sample = [], start + 60 * SECOND
    sweep_ts, sweep = 0, 0
    for r in recs:
        if r.ts < start:
            continue
        if isinstance(r.msg, M.Trade) and r.msg.symbol == "NVDA":
            volume += r.msg.qty
        elif isinstance(r.msg, M.VenueFill) and r.msg.child_id in kids:
            mine += r.msg.last_qty
            sweep = sweep + r.msg.last_qty if r.ts == sweep_ts else r.msg.last_qty
            sweep_ts = r.ts
            # never more than the rate of the volume seen, but for the fills of one sweep (IOCs sent together to
            # several venues print before their own trades are counted)
            assert mine <= volume * POV_BP // 10_000 + sweep, (mine, volume)
        if r.ts >= next_sample and r.ts < end:
            lows.append(mine / volume)
            next_sample += 60 * SECOND
    print(f"\nPOV 5% (band 4-5%): participation sampled per minute min {min(lows):.2%} max {max(lows):.2%}")
    assert all(0.035 <= x <= 0.0505 for x in lows[1:]), lows


def test_twap_slices_are_even(day):
    c, recs, start, end = day
    p = parent_of(c, "T1")
    fills = fills_of(recs, c, p.order_id)
    at = c.strategies_at_start[p.order_id].slice_at + [end]
    per = [sum(q for ts, q in fills if at[i] <= ts < at[i + 1]) for i in range(len(at) - 1)]
    mean = QTY / (len(at) - 1)
    # slices starting in the last interval are swept together with it, so the order finishes by its end time
    last = sum(1 for b in at[1:] if b <= end - 120 * SECOND)
    worst = max(abs(x - mean) for x in per[:last]) / mean
    gaps = sorted((b - a) // SECOND for a, b in zip(at, at[1:-1]))
    print(f"\nTWAP {len(per)} slices of {mean:.0f} shares, {gaps[0]}-{gaps[-1]}s apart (seeded jitter): executed per "
          f"slice {per}; worst of the first {last} off by {worst:.1%}")
    assert sum(per) == QTY and worst < 0.25 and gaps[0] != gaps[-1]


def test_limit_order_works_at_the_best_venues(day):
    c, recs, start, end = day
    p = parent_of(c, "L1")
    assert p.cum_qty == QTY
    venues = {r.msg.venue for r in recs if isinstance(r.msg, M.ChildOrder) and r.msg.parent_id == p.order_id}
    assert len(venues) >= 2   # it took liquidity wherever it was shown


def test_a_day_is_identical_for_the_same_seed_and_replays_exactly(day, tmp_path):
    c, recs, start, end = day
    c.log.commit()
    with open(c.path, "rb") as f:
        first = f.read()
    again, *_ = run_day(tmp_path, name="again")
    again.log.commit()
    with open(again.path, "rb") as f:
        assert f.read() == first
    again.close()
    # and fresh apps fed the recorded log regenerate every output byte for byte (AppRunner checks each)
    for app in (OmsApp(), AlgoApp(), SimStreetApp(3)):
        runner = c.add(app)
        assert runner.verified == sum(1 for r in recs if r.source == app.name) > 0


def test_ioc_and_fok_orders_execute_at_once_against_the_simulated_venues_and_never_rest(tmp_path):
    c = SimCluster(str(tmp_path / "tif"), "refdata/sample", seed=5)
    try:
        c.inject("client", M.NewOrder("C1", "S0", "AAPL", "1", 100, "2", 1_000_000))   # to get AAPL's quotes
        c.run_until(c.at("09:31"))
        bid, ask = c.oms.om.market.nbbo["AAPL"]
        through = ask + 5 * 10_000                                   # 5 cents through the offer: marketable
        t0 = c.at("09:31")
        shown = max(top[3] for top in c.algo.box.md.tops["AAPL"].values())   # the most one venue offers
        orders = {"F1": (shown, through, "4"), "I1": (50_000, through, "3"), "F2": (5_000_000, through, "4")}
        for cl, (qty, px, tif) in orders.items():     # one at a time: the IOC takes what the FOK would have found
            c.inject("client", M.NewOrder("C1", cl, "AAPL", "1", qty, "2", px, tif))
            c.run_until(c.now + SECOND // 10)
        c.run_until(c.at("09:31:05"))
        recs = list(c.history(1))
        for cl, (qty, px, tif) in orders.items():
            p = parent_of(c, cl)
            kids = [c.oms.om.children[k] for k in p.children]
            assert p.done and not any(k.working for k in kids), (cl, p.status)
            assert all(k.tif == tif for k in kids)                  # never a resting child
            last = max(r.ts for r in recs if isinstance(r.msg, M.ExecReport) and r.msg.order_id == p.order_id)
            assert last - t0 < 2 * SECOND, f"{cl} took {(last - t0) / SECOND:.1f}s"
        small, ioc, huge = (parent_of(c, cl) for cl in orders)
        assert ioc.status == "4" and 0 < ioc.cum_qty < 50_000       # took what was shown, the rest canceled
        assert small.status == "2" and small.cum_qty == shown and len(small.children) == 1
        assert huge.status == "4" and huge.cum_qty == 0 and huge.children == []   # no venue shows 5m: nothing sent
    finally:
        c.close()


def test_the_desk_pauses_an_algo_order_and_resumes_it_and_the_client_is_told_each_time(tmp_path):
    c = SimCluster(str(tmp_path / "pause"), "refdata/sample", seed=5)
    c.run_until(c.at("09:31"))
    c.inject("client", M.NewOrder("C1", "PZ", "AAPL", "1", QTY, "1", 0, "0", strategy="VWAP", end_ns=c.at("10:31")))
    c.run_until(c.at("09:40"))
    oid = next(p.order_id for p in c.algo.box.parents.values() if p.cl_ord_id == "PZ")
    c.inject("web", M.DeskPause("alice", oid, True, "client wants to wait"))
    c.run_until(c.at("09:41"))
    paused_at = c.now
    c.run_until(c.at("09:50"))
    sent = [r for r in c.history(1) if type(r.msg) is M.ChildNewRequest and r.msg.parent_id == oid]
    assert sent and all(r.ts < paused_at for r in sent), "no child while paused"
    assert not c.algo.box.open_children(c.algo.box.parents[oid])
    cum_paused = c.algo.box.parents[oid].cum_qty
    c.inject("web", M.DeskPause("alice", oid, False))
    c.run_until(c.at("10:35"))
    p = c.algo.box.parents[oid]
    assert p.cum_qty > cum_paused and p.done, (cum_paused, p.cum_qty, p.status)
    texts = [r.msg.text for r in c.history(1) if type(r.msg) is M.ExecReport and r.msg.order_id == oid
             and r.msg.exec_type == "D"]
    assert any("paused by the desk (alice): client wants to wait" in t for t in texts), texts
    assert any("resumed by the desk (alice)" in t for t in texts), texts
    c.close()
