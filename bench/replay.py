"""Verified replay speed: a recorded simulated day (at least one million records) through the OMS and the algo
container, every regenerated output compared byte for byte with the log's.

``--log PATH`` replays that log; otherwise the demo's simulated day is recorded first into ``--dir`` (about two
minutes; kept, so the next run reuses it). No network: ``replay.runner.replay`` as ``seqtrade replay --verify``
runs it, the OMS and the algo in two processes by default (``--jobs 1``: one process).

Last line: ``replay_msgs_per_s=<N>``.
"""
from __future__ import annotations

import argparse
import glob
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from replay import apps as registry  # noqa: E402
from replay.runner import replay  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", help="a recorded day's log (default: record the demo day into --dir)")
    ap.add_argument("--dir", default=os.path.join(ROOT, "bench-data", "day"))
    ap.add_argument("--apps", default="oms,algo")
    ap.add_argument("--jobs", type=int, default=2, help="processes the apps are replayed in (1: all in this one)")
    a = ap.parse_args()
    path = a.log
    if not path:
        found = sorted(glob.glob(os.path.join(a.dir, "seq-*.log")))
        if not found:
            from seqtrade import simday
            print(f"recording a simulated day into {a.dir} (once)", flush=True)
            simday.run(a.dir)
            found = sorted(glob.glob(os.path.join(a.dir, "seq-*.log")))
        path = found[-1]
    apps = {n: registry.make(n) for n in a.apps.split(",")}
    res, _ = replay(path, apps, verify=True, jobs=a.jobs,
                    progress=lambda n, rec, s: print(f"  {n:,} records, {n / s:,.0f} msgs/s", flush=True),
                    progress_every=500_000)
    rate = res.records / res.seconds
    print(f"replayed {res.records:,} records of {path} through {a.apps} in {res.seconds:.1f} s "
          f"({min(a.jobs, len(apps))} process(es) on {os.cpu_count()} cores); outputs identical: "
          + ", ".join(f"{n} {v:,}" for n, v in res.verified.items()))
    print(f"replay_msgs_per_s={rate:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
