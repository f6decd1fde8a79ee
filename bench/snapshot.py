"""Snapshot costs on a recorded day: how big an app's state is late in the day, how long a snapshot takes to write
and read, how long the fork that a live app writes it from pauses the stream, and what recovery costs from the
latest snapshot plus the log's tail against a replay from seq 1.

Uses the day ``bench/replay.py`` records (``--log`` for another). One process; the snapshot is of each app alone, as
a live app process writes it (``apps/live_snapshots.py``).

Last line: ``snapshot_recovery_s=<N> full_replay_s=<N>`` (the slower app's figures).
"""
from __future__ import annotations

import argparse
import glob
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from replay import apps as registry  # noqa: E402
from apps import snapshot  # noqa: E402
KEY = snapshot.key_for("bench")   # the bench signs and checks its own snapshots
from replay.runner import replay  # noqa: E402
from sequencer.log import LogReader  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", help="a recorded day's log (default: the one bench/replay.py recorded)")
    ap.add_argument("--at", type=float, default=0.9, help="where in the day the snapshot is taken (fraction)")
    a = ap.parse_args()
    path = a.log or (sorted(glob.glob(os.path.join(ROOT, "bench-data", "day", "seq-*.log"))) or [None])[-1]
    if not path:
        print("no recorded day: run bench/replay.py first (it records one)", file=sys.stderr)
        return 2
    day = LogReader(path).trading_day
    head = sum(len(b) for b in LogReader(path).batches())
    at = int(head * a.at)
    worst = (0.0, 0.0)
    with tempfile.TemporaryDirectory() as tmp:
        for name in registry.DEFAULT:
            t0 = time.perf_counter()
            full, _ = replay(path, {name: registry.make(name)})
            full_s = time.perf_counter() - t0
            _, runners = replay(path, {name: registry.make(name)}, until_seq=at)
            t0 = time.perf_counter()
            snap = snapshot.write(os.path.join(tmp, name), day, at, runners, KEY)
            write_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            fork_s = time.perf_counter() - t0
            os.waitpid(pid, 0)
            t0 = time.perf_counter()
            tail, _ = replay(path, {}, from_snapshot=snap, snapshot_key=KEY)
            recover_s = time.perf_counter() - t0
            assert tail.verified == full.verified and tail.mismatches == {name: 0}  # counts carry over
            print(f"{name}: state at seq {at:,} of {head:,}: {os.path.getsize(snap) / 1e6:.1f} MB; write "
                  f"{write_s * 1e3:.0f} ms (in a forked child when live: the fork paused {fork_s * 1e3:.1f} ms); "
                  f"recovery from it (read + {tail.records:,} records of tail) {recover_s:.1f} s against a replay "
                  f"from seq 1 in {full_s:.1f} s")
            worst = max(worst, (recover_s, full_s))
    print(f"snapshot_recovery_s={worst[0]:.1f} full_replay_s={worst[1]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
