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
from posttrade.daylog import DayLog
from sequencer import messages as M
from sequencer.log import verify

from . import clientflow
from .daysummary import print_summary


def client_flow(c: SimCluster, symbols: list[str]) -> list[tuple[int, M.Msg]]:
    """The day's client orders, (time, message), in time order: deterministic from the sample symbols."""
    return clientflow.plan(c.open_ns, c.close_ns, {s: c.oms.om.market.securities[s].prev_close_px for s in symbols})


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
    facts = DayLog(c.path)
    print_summary(facts)
    res = verify(c.path)
    print(f"\nmessages sequenced: {facts.records:,} in {elapsed:.0f}s of wall time ({facts.records / elapsed:,.0f}/s, "
          f"whole cluster in one process)")
    print(f"log: {c.path} ({os.path.getsize(c.path) / 1e6:.1f} MB; verified: {res.count:,} records, CRCs and seqs ok)")
    print("replay it:  seqtrade replay " + c.path + " --verify")
