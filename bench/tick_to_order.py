"""Tick to order: from a venue market data tick that makes a strategy act to that child's NewOrderSingle arriving at
the venue. Real processes on loopback: sequencer, OMS, algo, market data gateway and venue gateway are started as a
user starts them (``seqtrade ...``); this process is the venue (``street.server.VenueServer``: FIX order entry and
feed, no background liquidity) and a subscriber of the stream.

A market buy parent (LIMIT strategy, 10M shares of AAPL) is entered on the stream. Then, for each rate, this process
adds and cancels bids below the market at ``--rates`` ticks per second (feed updates the strategy sees and has
nothing to do about), and every 10 ms, when nothing is offered, posts one offer: that tick makes the strategy act.
Its child goes algo -> OMS -> venue gateway -> FIX -> venue and fills against the offer. The child's ``ChildNewRequest.cause_seq`` names the record the algo was handling when it
decided; when that record is a market data record from the gateway, its ``feed_ns`` (monotonic, this process) is
when the venue sent the tick, and the NewOrderSingle's arrival in the venue's order entry (monotonic, this process)
closes the interval. Children made on a timer or on a venue report are not counted.

Last line: ``tick_to_order_p50_us=<X> tick_to_order_p99_us=<Y>`` at the highest rate run. Six processes share the
machine's cores.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from oms.risk import open_limits  # noqa: E402
from refdata.load import load_dir  # noqa: E402
from seqtrade.localcluster import LocalCluster, refdata_with_ports  # noqa: E402
from sequencer import messages as M  # noqa: E402
from sequencer.client import connect  # noqa: E402
from street.book import BUY, SELL  # noqa: E402
from street.server import VenueServer  # noqa: E402

T = M.TAG_OF_CLASS
MD = (T[M.Quote], T[M.Trade])


class Recorder:
    def __init__(self):
        self.feed_ns: dict[int, int] = {}     # seq of a market data record -> the venue's send time
        self.cause: dict[str, int] = {}       # child id -> cause_seq
        self.arrived: dict[str, int] = {}     # child id -> NewOrderSingle arrival at the venue
        self.records = 0

    def on_records(self, recs) -> None:
        self.records += len(recs)
        for r in recs:
            if r.type in MD:
                if r.source == "mdgw":
                    self.feed_ns[r.seq] = r.msg.feed_ns
            elif r.type == T[M.ChildNewRequest]:
                self.cause[r.msg.child_id] = r.msg.cause_seq

    def samples(self, since: int) -> list[float]:
        out = []
        for child, arrived in self.arrived.items():
            sent = self.feed_ns.get(self.cause.get(child, -1), 0)
            if sent and arrived >= since:
                out.append((arrived - sent) / 1000)
        return sorted(out)


async def run(c: LocalCluster, refdata: str, fix_port: int, md_port: int, rates: list[int], seconds: float):
    rec = Recorder()
    srv = VenueServer("XNAS", refdata, liquidity=False, begin="FIX.4.2")
    entry = srv.entry

    def on_app(conn, msgtype, fields):
        if msgtype == "D":
            now = time.monotonic_ns()
            for t, v in fields:
                if t == b"11":
                    rec.arrived.setdefault(v.decode(), now)
                    break
        entry(conn, msgtype, fields)
        srv._publish(srv.sim.events)
    srv._on_app = on_app
    srv.acceptor.on_app = on_app
    venue = asyncio.create_task(srv.serve("127.0.0.1", fix_port, md_port, 0))
    await asyncio.sleep(0.3)
    for name, args in (("mdgw", ("mdgw", "--config", c.config, "--refdata", refdata)),
                       ("venuegw", ("fixgw", "--config", c.config, "--name", "venuegw"))):
        c.start(name, *args)
    conn, welcome = await connect("127.0.0.1", c.port, "bench", "pw-bench", on_records=rec.on_records)
    conn.subscribe(1)
    sec = load_dir(refdata).securities["AAPL"]
    order = M.NewOrder("BENCH", "TTO-1", "AAPL", "1", 10_000_000, "1", 0, "0", "", "LIMIT")
    conn.submit(welcome.last_source_seq + 1, T[M.NewOrder], M.encode(order))
    conn.flush()
    deadline = time.monotonic() + 20
    while not any(k for k in rec.cause) and time.monotonic() < deadline:
        # until the parent is working and the venue session is up, a maker order now and then
        srv._publish(srv.sim.new_order(("mm", time.monotonic_ns()), "AAPL", SELL, 100, "2",
                                       sec["prev_close"] + 5 * sec["tick"], "0"))
        await asyncio.sleep(0.2)
    if not rec.cause:
        raise SystemExit("the strategy never sent a child order: see the process outputs in the cluster dir")
    results = []
    n = 0
    book = srv.sim.books["AAPL"]
    for rate in rates:
        await asyncio.sleep(0.5)
        start = time.monotonic_ns()
        t0 = time.monotonic()
        sent = triggers = 0
        next_trigger = t0
        while time.monotonic() - t0 < seconds:
            # background ticks: bids come and go below the market (the strategy sees them and has nothing to do)
            due = int((time.monotonic() - t0) * rate)
            while sent < due:
                n += 1
                sent += 1
                px = sec["prev_close"] - (1 + n % 5) * sec["tick"]
                srv._publish(srv.sim.new_order(("bid", n), "AAPL", BUY, 100, "2", px, "0"))
                if n > 20:
                    srv._publish(srv.sim.cancel(("bid", n - 20)))
            # a trigger tick when nothing is offered: one offer the strategy takes
            if time.monotonic() >= next_trigger and book.best_ask() is None:
                triggers += 1
                srv._publish(srv.sim.new_order(("ask", n), "AAPL", SELL, 100, "2", sec["prev_close"] + sec["tick"],
                                               "0"))
                next_trigger = time.monotonic() + 0.01
            await asyncio.sleep(0.0005)
        await asyncio.sleep(1.0)   # let the last children arrive
        lat = rec.samples(start)
        if not lat:
            raise SystemExit(f"no tick-caused child order at {rate} ticks/s")
        p50, p99 = lat[len(lat) // 2], lat[min(int(len(lat) * 0.99), len(lat) - 1)]
        print(f"{rate:>6} ticks/s for {seconds:.0f} s: {sent} background ticks, {triggers} offers, {len(lat)} "
              f"tick-caused child orders at the venue;"
              f" p50 {p50:.0f} us, p99 {p99:.0f} us, max {lat[-1]:.0f} us", flush=True)
        results.append((rate, p50, p99))
    conn.close()
    venue.cancel()
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="1000,10000", help="ticks per second, comma-separated")
    ap.add_argument("--seconds", type=float, default=10.0, help="per rate")
    ap.add_argument("--fsync", default="batch", choices=("batch", "interval", "never"))
    a = ap.parse_args()
    rates = [int(x) for x in a.rates.split(",")]
    with tempfile.TemporaryDirectory() as d:
        ports = refdata_with_ports(os.path.join(d, "refdata"), {"XNAS": ["S1"]})
        c = LocalCluster(d, seq={"fsync": a.fsync, "trading_day": "20261123", "clock_start": "10:00:00",
                                 "clock_interval_ms": 10})
        c.app("oms", **{"class": "apps.oms:OmsApp"})
        c.app("algo", **{"class": "apps.algo:AlgoApp"})
        for name in ("refdata", "venuegw", "bench"):
            c.app(name)
        c.app("mdgw", role="marketdata")
        c.extra = '[fixgw.venuegw]\nkind = "venue"\nbegin = "FIX.4.2"\n'
        c.start_sequencer()
        try:
            c.start("oms", "app", "run", "oms", "--config", c.config)
            c.start("algo", "app", "run", "algo", "--config", c.config)
            c.run("refdata", "publish", os.path.join(d, "refdata"), "--config", c.config)
            c.submit("refdata", open_limits())   # the firm's limits, explicitly: the OMS fails closed
            results = asyncio.run(run(c, os.path.join(d, "refdata"), *ports["XNAS"], rates, a.seconds))
        finally:
            c.stop_all()
    print(f"setup: sequencer (fsync={a.fsync}), OMS, algo, market data gateway, venue gateway and this venue/"
          f"subscriber: 6 processes on {os.cpu_count()} cores")
    rate, p50, p99 = results[-1]
    print(f"tick_to_order_p50_us={p50:.0f} tick_to_order_p99_us={p99:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
