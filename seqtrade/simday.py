"""``seqtrade demo``: a whole simulated trading day in one process, and the summary a trader wants.

The cluster is the real OMS and algo container on the real sequencing core and log, trading against the seeded
simulated street (``apps/street_sim.py``), with the shipped sample reference data published at the start of the day.
A client flow of VWAP, TWAP, POV and limit orders over the sample symbols (with a cancel and a replace) is entered
through the sequenced stream as the client gateway would, the day runs from 09:29 to the close, the OMS cancels
back what is left at the close, and the summary is read back from the log.
"""
from __future__ import annotations

import os
import shutil
import time

from apps.simcluster import SECOND, SimCluster
from sequencer import messages as M
from sequencer.log import verify

STRATEGY_PLAN = [  # (strategy, start, end, qty, extra) per symbol, staggered so the day has flow at all times
    ("VWAP", "09:35", "15:55", 60_000, {}),
    ("TWAP", "10:00", "12:00", 20_000, {"interval_s": "300"}),
    ("POV", "13:00", "15:30", 400_000, {}),
    ("LIMIT", "11:00", "", 5_000, {}),
]


def client_flow(c: SimCluster, symbols: list[str]) -> list[tuple[int, M.Msg]]:
    """The day's client orders, (time, message), in time order: deterministic from the sample symbols."""
    flow = []
    for i, sym in enumerate(symbols):
        side = "1" if i % 2 == 0 else "2"
        for strat, start, end, qty, params in STRATEGY_PLAN:
            cl = f"{strat[0]}{i:02d}"
            # the limit order is priced at the previous close: it trades when the market comes to it
            px = c.oms.om.market.securities[sym].prev_close_px if strat == "LIMIT" else 0
            flow.append((c.at(start), M.NewOrder("CLIENT1", cl, sym, side, qty, "2" if px else "1", px,
                                                 strategy=strat, end_ns=c.at(end) if end else 0,
                                                 participation_bp=500 if strat == "POV" else 0, params=params)))
    # a cancel and a replace, as clients do
    flow.append((c.at("10:30"), M.CancelRequest("CLIENT1", "X-T00", "T00", symbols[0], "1")))
    flow.append((c.at("11:30"), M.ReplaceRequest("CLIENT1", "R-L01", "L01", symbols[1], "2", 8_000, "1")))
    return sorted(flow, key=lambda x: x[0])


def run(out_dir: str = "demo-data", seed: int = 7, refdata_dir: str | None = None) -> int:
    refdata_dir = refdata_dir or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                              "refdata", "sample")
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    t0 = time.monotonic()
    c = SimCluster(out_dir, refdata_dir, seed=seed)
    symbols = sorted(c.street.securities)
    flow = client_flow(c, symbols)
    print(f"seqtrade demo: a simulated trading day {c.log.trading_day} for {len(symbols)} symbols on "
          f"{len(c.street.venue_refs)} venues (seed {seed}); {len(flow)} client requests", flush=True)
    end = c.at("16:00:30")
    t, last_print = c.now, c.now
    while t < end:
        t = min(t + SECOND, end)
        while flow and flow[0][0] <= t:
            c.inject("client", flow.pop(0)[1])
        c.advance(t)
        if t - last_print >= 1800 * SECOND or t == end:
            last_print = t
            filled = sum(p.cum_qty for p in c.oms.om.parents.values())
            print(f"  {_hhmm(c, t)}  {c.log.committed_seq:>9,} records  {filled:>9,} shares filled  "
                  f"{time.monotonic() - t0:5.1f}s", flush=True)
    c.close()
    summary(c, time.monotonic() - t0)
    return 0


def _hhmm(c: SimCluster, t: int) -> str:
    s = (t - c.open_ns) // SECOND + 9 * 3600 + 30 * 60
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}"


def summary(c: SimCluster, elapsed: float) -> None:
    recs = list(c.history(1))
    om = c.oms.om
    # interval VWAP of the market per symbol, from the sequenced trades
    trades: dict[str, list] = {}
    for r in recs:
        if isinstance(r.msg, M.Trade):
            trades.setdefault(r.msg.symbol, []).append((r.ts, r.msg.px, r.msg.qty))
    start_of, end_of = {}, {}   # each order's first (New) and last report: its trading interval
    for r in recs:
        if isinstance(r.msg, M.ExecReport):
            if r.msg.exec_type == "0":
                start_of[r.msg.order_id] = r.ts
            if r.msg.order_id in start_of:
                end_of[r.msg.order_id] = r.ts
    print("\norders by strategy")
    print(f"  {'strategy':8} {'orders':>6} {'filled %':>9} {'slippage bp vs interval VWAP (mean, worst)':>44}")
    by = {}
    for p in om.parents.values():
        by.setdefault(p.strategy, []).append(p)
    for strat in sorted(by):
        ps = by[strat]
        filled = sum(p.cum_qty for p in ps) / max(sum(p.qty for p in ps), 1)
        slips = []
        for p in ps:
            tr = [(px, q) for ts, px, q in trades.get(p.symbol, []) if start_of.get(p.order_id, 0) <= ts
                  <= end_of.get(p.order_id, 0)]
            vol = sum(q for _, q in tr)
            if p.cum_qty and vol:
                mkt = sum(px * q for px, q in tr) / vol
                avg = p.cum_notional / p.cum_qty
                sign = 1 if p.side == "1" else -1
                slips.append(sign * (avg - mkt) / mkt * 10_000)
        s = f"{sum(slips) / len(slips):+.1f}, {max(slips, key=abs):+.1f}" if slips else "-"
        print(f"  {strat:8} {len(ps):>6} {filled:>8.1%} {s:>44}")
    status = {}
    for p in om.parents.values():
        status[p.status] = status.get(p.status, 0) + 1
    names = {"2": "filled", "4": "canceled", "8": "rejected", "C": "expired", "3": "done for day"}
    print("  final status: " + ", ".join(f"{names.get(k, k)} {v}" for k, v in sorted(status.items())))
    venues = {}
    for ch in om.children.values():
        venues[ch.venue] = venues.get(ch.venue, 0) + 1
    print(f"\nchild orders: {len(om.children):,} ("
          + ", ".join(f"{v} {n:,}" for v, n in sorted(venues.items())) + ")")
    reasons = {}
    for r in recs:
        m = r.msg
        if isinstance(m, M.ExecReport) and m.exec_type == "8":
            k = f"order rejected: {m.risk_code or m.text}"
            reasons[k] = reasons.get(k, 0) + 1
        elif isinstance(m, M.ChildRefused) and m.request != "new":
            k = f"child {m.request} too late (it had filled or closed): {m.code}"
            reasons[k] = reasons.get(k, 0) + 1
        elif isinstance(m, (M.ChildRefused, M.VenueReject)):
            k = f"{type(m).__name__}: {getattr(m, 'code', '') or m.text}"
            reasons[k] = reasons.get(k, 0) + 1
        elif isinstance(m, (M.AlgoPause, M.OmsAlert)):
            k = f"{type(m).__name__}: {m.code}"
            reasons[k] = reasons.get(k, 0) + 1
    print("rejects and alerts: " + ("; ".join(f"{k} x{v}" for k, v in sorted(reasons.items())) or "none"))
    res = verify(c.path)
    print(f"\nmessages sequenced: {len(recs):,} in {elapsed:.0f}s of wall time ({len(recs) / elapsed:,.0f}/s, "
          f"whole cluster in one process)")
    print(f"log: {c.path} ({os.path.getsize(c.path) / 1e6:.1f} MB; verified: {res.count:,} records, CRCs and seqs ok)")
    print("replay it:  seqtrade log dump " + c.path + " --type ExecReport | head")
