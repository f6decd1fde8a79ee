"""Market data gateway throughput and feed-to-stream latency, real processes on loopback.

Starts a sequencer, one venue simulator (``seqtrade venue``, its simulated clock at ``--speed`` times real time so
the feed is busy) and the market data gateway (``seqtrade mdgw``). This process subscribes every symbol with a
sequenced MdSubscribe, then for ``--seconds`` counts the Quote/Trade records the gateway got sequenced and, for each,
the time from the venue's feed sending the update (``feed_ns``, monotonic, same host) to this subscriber receiving
the sequenced record (so it includes the sequencer's persist and publish).

Last line: ``md_updates_per_s=<N> tick_to_stream_p99_us=<X>``. Four processes share the machine's cores.
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

from refdata.load import load_dir  # noqa: E402
from sequencer import messages as M  # noqa: E402
from sequencer.client import connect  # noqa: E402
from seqtrade import procs  # noqa: E402

CONFIG = """
[sequencer]
port = {port}
data_dir = "{data}"
fsync = "{fsync}"
[apps.mdgw]
password = "md"
role = "marketdata"
[apps.bench]
password = "b"
role = "algo"
"""


async def measure(port: int, symbols: list[str], seconds: float):
    lat, count = [], 0
    first = last = 0.0

    def on_records(recs):
        nonlocal count, first, last
        now = time.monotonic_ns()
        for r in recs:
            if r.source == "mdgw" and r.type in (260, 261):
                m = r.msg
                if m.feed_ns:
                    lat.append(now - m.feed_ns)
                count += 1
                last = time.monotonic()
                if not first:
                    first = last

    conn, welcome = await connect("127.0.0.1", port, "bench", "b", on_records=on_records)
    conn.subscribe(welcome.head_seq + 1)
    for i, s in enumerate(symbols, welcome.last_source_seq + 1):
        m = M.MdSubscribe(s, "bench")
        conn.submit(i, M.tag_of(m), M.encode(m))
    conn.flush()
    await asyncio.sleep(1.0)       # warm up: snapshots, connections
    lat.clear()
    count, first = 0, 0.0
    await asyncio.sleep(seconds)
    conn.close()
    return count / max(last - first, 1e-9), sorted(lat)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--speed", type=float, default=30, help="the venue's simulated clock speed")
    ap.add_argument("--fsync", default="batch")
    a = ap.parse_args()
    symbols = sorted(load_dir(os.path.join(ROOT, "refdata/sample")).securities)
    with tempfile.TemporaryDirectory() as tmp:
        port, fix, md = procs.free_port(), procs.free_port(), procs.free_port()
        cfg = os.path.join(tmp, "seq.toml")
        with open(cfg, "w") as f:
            f.write(CONFIG.format(port=port, data=os.path.join(tmp, "data"), fsync=a.fsync))
        ps = [procs.seqtrade("sequencer", "--config", cfg, log_path=os.path.join(tmp, "seq.out"))]
        try:
            procs.wait_port("127.0.0.1", port, proc=ps[0])
            ps.append(procs.seqtrade("venue", "--id", "XNAS", "--speed", str(a.speed), "--fix-port", str(fix),
                                     "--md-port", str(md), "--clock-start", "09:30:00",
                                     log_path=os.path.join(tmp, "venue.out")))
            procs.wait_port("127.0.0.1", md, proc=ps[1])
            ps.append(procs.seqtrade("mdgw", "--config", cfg, "--feed", f"XNAS=127.0.0.1:{md}",
                                     log_path=os.path.join(tmp, "mdgw.out")))
            rate, lat = asyncio.run(measure(port, symbols, a.seconds))
        finally:
            for p in reversed(ps):
                procs.stop(p)
    p = lambda q: lat[min(int(len(lat) * q), len(lat) - 1)] / 1000 if lat else float("nan")  # noqa: E731
    print(f"venue speed {a.speed}x, {len(symbols)} symbols subscribed, {a.seconds:.0f}s measured, fsync={a.fsync}; "
          f"4 processes on {os.cpu_count()} cores")
    print(f"feed-to-stream latency us: p50 {p(0.5):.0f} p99 {p(0.99):.0f} max {p(1.0) if lat else 0:.0f} "
          f"({len(lat)} samples)")
    print(f"md_updates_per_s={rate:.0f} tick_to_stream_p99_us={p(0.99):.0f}")


if __name__ == "__main__":
    main()
