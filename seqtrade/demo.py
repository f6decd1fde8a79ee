"""``seqtrade demo``: what the engine can do today, end to end, with real processes on loopback.

It starts a sequencer and two apps (ping, pong), kills the pong app with SIGKILL in the middle of the stream and
restarts it (it recovers by replaying the log), lets the exchange finish, stops everything, checks the log, and prints
what happened. The whole trading day (gateways, OMS, algos, venues) is not built yet; see the README.
"""
from __future__ import annotations

import os
import shutil
import time
from collections import Counter

from sequencer import messages
from sequencer.log import LogReader, log_path, verify

from . import procs

TRADING_DAY = "20261123"

CONFIG = """\
[sequencer]
host = "127.0.0.1"
port = {port}
data_dir = "{data}"
trading_day = "{day}"
fsync = "batch"
clock_interval_ms = 5
clock_start = "09:30:00"

[apps.ping]
password = "ping-demo"
class = "apps.sample:PingApp"
params = {{ count = {pings}, interval_ms = 2 }}

[apps.pong]
password = "pong-demo"
class = "apps.sample:PongApp"
"""


def _say(msg: str) -> None:
    print(msg, flush=True)


def _count(path: str, state: dict) -> None:
    for rec in LogReader(path).records(state["next"]):
        state["types"][messages.type_name(rec.type)] += 1
        state["next"] = rec.seq + 1


def run(out_dir: str = "demo-data", pings: int = 2000) -> int:
    out_dir = os.path.abspath(out_dir)
    shutil.rmtree(out_dir, ignore_errors=True)
    data = os.path.join(out_dir, "data")
    logs = os.path.join(out_dir, "logs")
    os.makedirs(data)
    os.makedirs(logs)
    port = procs.free_port()
    cfg_path = os.path.join(out_dir, "cluster.toml")
    with open(cfg_path, "w") as f:
        f.write(CONFIG.format(port=port, data=data, day=TRADING_DAY, pings=pings))
    path = log_path(data, TRADING_DAY)
    _say(f"seqtrade demo: sequencer + ping/pong apps as real processes on 127.0.0.1:{port}; output in {out_dir}")

    t0 = time.monotonic()
    seq = procs.seqtrade("sequencer", "--config", cfg_path, log_path=os.path.join(logs, "sequencer.log"))
    started = {}
    try:
        procs.wait_port("127.0.0.1", port, proc=seq)
        for name in ("pong", "ping"):
            started[name] = procs.seqtrade("app", "run", name, "--config", cfg_path,
                                           log_path=os.path.join(logs, f"{name}.log"))
        state = {"next": 1, "types": Counter()}
        killed = False
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(0.5)
            _count(path, state)
            t = state["types"]
            _say(f"  {time.monotonic() - t0:5.1f}s  seq {state['next'] - 1:>7}  pings {t['Ping']:>5}/{pings}  "
                 f"pongs {t['Pong']:>5}  clock records {t['Clock']:>6}")
            if not killed and t["Ping"] >= pings // 3:
                _say("  ... kill -9 the pong app mid-stream, then restart it: it replays the log and carries on")
                procs.kill9(started["pong"])
                started["pong"] = procs.seqtrade("app", "run", "pong", "--config", cfg_path,
                                                 log_path=os.path.join(logs, "pong.log"))
                killed = True
            if t["Pong"] >= pings:
                break
            for name, p in started.items():
                if p.poll() is not None:
                    raise RuntimeError(f"app {name} exited with {p.returncode}; see {logs}/{name}.log")
    finally:
        for p in started.values():
            procs.stop(p)
        procs.stop(seq)
    elapsed = time.monotonic() - t0
    return _summary(path, pings, elapsed, logs)


def _summary(path: str, pings: int, elapsed: float, logs: str) -> int:
    res = verify(path)
    recs = list(LogReader(path).records())
    by_type = Counter(messages.type_name(r.type) for r in recs)
    by_source = Counter(r.source for r in recs)
    ping_seq = {r.msg.n: r.seq for r in recs if r.type == messages.Ping.__struct_config__.tag}
    pongs = [r for r in recs if r.type == messages.Pong.__struct_config__.tag]
    answered = Counter(p.msg.n for p in pongs)
    dup = sum(1 for n, c in answered.items() if c > 1)
    missing = sum(1 for n in range(1, pings + 1) if answered[n] == 0)
    ts_of = {r.seq: r.ts for r in recs}
    lat_us = sorted((p.ts - ts_of[p.msg.ping_seq]) / 1000 for p in pongs)
    ok = dup == 0 and missing == 0 and all(ping_seq.get(p.msg.n) == p.msg.ping_seq for p in pongs)

    _say("")
    _say(f"log {path}: {res.count} records, seq 1..{res.last_seq}, verified (CRCs, no gaps, time in order)")
    _say(f"  by type:   {', '.join(f'{k} {v}' for k, v in sorted(by_type.items()))}")
    _say(f"  by source: {', '.join(f'{k} {v}' for k, v in sorted(by_source.items()))}")
    _say(f"  pings sent {len(ping_seq)}, answered {len(answered)}; duplicates {dup}, unanswered {missing}")
    if lat_us:
        _say(f"  ping -> pong in sequenced time: p50 {lat_us[len(lat_us) // 2]:.0f} us, "
             f"p99 {lat_us[int(len(lat_us) * 0.99)]:.0f} us, max {lat_us[-1]:.0f} us (a round trip through two "
             f"processes and two fsyncs; the tail is the pings that waited while pong was restarting)")
    _say(f"  wall time {elapsed:.1f}s; process logs in {logs}")
    _say(f"  look at it:  seqtrade log dump {path} --type Pong --from {max(1, res.last_seq - 20)}")
    _say("RESULT: " + ("OK: every ping answered exactly once, in order, across a kill -9 and restart" if ok
                       else "FAILED: see above"))
    return 0 if ok else 1
