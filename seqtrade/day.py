"""``seqtrade cluster day``: the automated trading day on this host.

start the cluster (the day's reference data and risk limits are published as part of it) -> the market opens and
the client simulators trade on the sequenced clock -> at the close the OMS cancels back what is left -> the clients
log out once every order is done -> stop (apps first, sequencer last) -> post-trade jobs on the closed log ->
archive the day (log, reports, configs, process logs, SHA-256 checksums) into ``archive_dir/YYYYMMDD/`` -> the
trader's summary.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

from posttrade.daylog import DayLog
from sequencer.log import index_path, verify
from sequencer.server import day_time_ns
from sequencer.status import query

from . import cluster as ops
from .clusterconfig import Cluster
from .daysummary import print_summary


def _say(msg: str) -> None:
    print(msg, flush=True)


def _ny(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns / 1e9, ops.NY).strftime("%H:%M:%S")


MAX_RESTARTS = 3     # per process and day: a process that keeps dying needs a person, not a loop


def _revive(c: Cluster, core: list, restarts: dict) -> None:
    """A core process that died is started again (the sequencer first: the others need it), as an operator would
    with ``seqtrade cluster start``; each recovers from the log. After MAX_RESTARTS the day stops, naming it."""
    for p in sorted(core, key=lambda p: p.kind != "sequencer"):
        if ops.running(c, p) is not None:
            continue
        n = restarts.get(p.name, 0) + 1
        if n > MAX_RESTARTS:
            raise ops.ClusterError(f"{p.name} died {n} times during the day; its log {ops.log_path(c, p)} ends:\n"
                                   f"{ops.tail(ops.log_path(c, p))}")
        restarts[p.name] = n
        _say(f"  {p.name} died during the day: starting it again ({n} of {MAX_RESTARTS}); its log ends:\n"
             f"{ops.tail(ops.log_path(c, p), 3)}")
        ops.start_one(c, p)


def trade(c: Cluster, progress_s: float = 5.0) -> tuple[str, float]:
    """Wait for the trading day to end: every client simulator finished (or, without any, the close passed and
    the OMS had a minute of sequenced time to cancel back). A core process that dies is started again (at most
    MAX_RESTARTS times). Returns the log path and the clock speed."""
    sims = [p for p in ops.local(c, None) if p.kind == "client-sim"]
    core = [p for p in ops.local(c, None) if p.kind != "client-sim"]
    st = query(*c.sequencer_address(), auth=c.status_auth())
    close_ns = day_time_ns(st.trading_day, c.seq.market_close)
    last = (time.monotonic(), st.head_seq)
    next_print = 0.0
    restarts: dict[str, int] = {}
    while True:
        time.sleep(0.5)
        _revive(c, core, restarts)
        try:
            st = query(*c.sequencer_address(), auth=c.status_auth())
        except OSError:
            continue                                  # the sequencer is on its way back up
        left = [p.name for p in sims if ops.running(c, p)]
        now = time.monotonic()
        if now >= next_print:
            rate = (st.head_seq - last[1]) / max(now - last[0], 1e-9)
            last, next_print = (now, st.head_seq), now + progress_s
            _say(f"  {_ny(st.clock_ns)} New York  {st.head_seq:>10,} records  {rate:>8,.0f}/s  "
                 f"clients trading: {', '.join(left) or 'none'}")
        if sims and not left:
            return st.log_path, st.clock_speed
        if not sims and st.clock_ns >= close_ns + 60 * 1_000_000_000:
            return st.log_path, st.clock_speed


def post_trade(c: Cluster, log: str, out: str) -> list[str]:
    """Runs the configured jobs on the closed log; returns the problems found (empty: all good)."""
    problems = []
    os.makedirs(out, exist_ok=True)
    for job in c.post_trade:
        t0 = time.monotonic()
        if job == "verify":
            res = verify(log)
            _say(f"  verify: {res.count:,} records, framing, CRCs, seqs and time order ok")
            continue
        if job == "replay":
            # the recorded day through the OMS and algo code again, in a fresh process with another hash seed
            apps = ",".join(n for n in ("oms", "algo", "positions")
                            if n in c.seq.apps and c.seq.apps[n].cls)   # the deterministic apps this day ran
            cmd = [sys.executable, "-m", "seqtrade", "replay", log, "--apps", apps, "--verify"]
            r = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, PYTHONHASHSEED="12345"))
            lines = r.stderr.strip().splitlines() or ["no output"]
            line = next((x for x in lines if "records to seq" in x), lines[-1])
            hashes = next((x for x in lines if "state hashes" in x), "")
            _say(f"  replay --verify: {line}" + (f"\n  {hashes}" if hashes else ""))
            if r.returncode:
                problems.append(f"replay diverged: {r.stderr.strip()[-2000:]}")
            continue
        cmd = [sys.executable, "-m", "seqtrade", "report", job, "--log", log, "--out", out, "--config", c.path]
        r = subprocess.run(cmd, capture_output=True, text=True)
        tail = (r.stdout.strip().splitlines() or r.stderr.strip().splitlines() or ["no output"])[-1]
        _say(f"  report {job}: {tail} ({time.monotonic() - t0:.1f}s)")
        if r.returncode:
            problems.append(f"report {job} failed: {r.stderr.strip()[-2000:]}")
    return problems


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def archive(c: Cluster, day: str, log: str, reports: str) -> str:
    """Copies the day into archive_dir/YYYYMMDD/ with a SHA256SUMS file (``sha256sum -c SHA256SUMS`` checks it).
    The log is copied, not moved: the live data directory keeps the day until the operator clears it."""
    dest = os.path.join(c.at(c.archive_dir), day)
    if os.path.exists(dest):
        dest += "-" + dt.datetime.now().strftime("%H%M%S")
    for sub in ("log", "reports", "config", "processes"):
        os.makedirs(os.path.join(dest, sub))
    for f in (log, index_path(log)):
        if os.path.exists(f):
            shutil.copy2(f, os.path.join(dest, "log"))
    if os.path.isdir(reports):
        shutil.copytree(reports, os.path.join(dest, "reports"), dirs_exist_ok=True)
    shutil.copy2(c.path, os.path.join(dest, "config"))
    shutil.copytree(c.at(c.refdata), os.path.join(dest, "config", "refdata"))
    run = c.at(c.run_dir)
    for f in sorted(os.listdir(run)):
        if f.endswith((".log", ".json")):
            shutil.copy2(os.path.join(run, f), os.path.join(dest, "processes"))
    fixlog = os.path.join(run, "fixlog")      # the FIX gateways' message logs (their default place)
    if os.path.isdir(fixlog):
        shutil.copytree(fixlog, os.path.join(dest, "fixlog"))
    sums = []
    for root, _dirs, files in sorted(os.walk(dest)):
        for f in sorted(files):
            p = os.path.join(root, f)
            sums.append(f"{sha256(p)}  {os.path.relpath(p, dest)}")
    with open(os.path.join(dest, "SHA256SUMS"), "w") as f:
        f.write("\n".join(sorted(sums, key=lambda s: s.split("  ", 1)[1])) + "\n")
    return dest


def client_reports(c: Cluster) -> list[dict]:
    out = []
    for p in c.processes:
        if p.kind == "client-sim":
            try:
                with open(os.path.join(c.at(c.run_dir), f"{p.name}.report.json")) as f:
                    out.append(json.load(f))
            except (OSError, ValueError):
                out.append({"sender": p.sender, "violations": ["the client simulator wrote no report"]})
    return out


def run_day(c: Cluster) -> int:
    from . import clustercheck
    if rc := clustercheck.run(c):        # the whole cluster file checked before anything starts
        return rc
    t0 = time.monotonic()
    for f in os.listdir(c.at(c.run_dir)) if os.path.isdir(c.at(c.run_dir)) else []:
        if f.endswith(".report.json"):
            os.remove(os.path.join(c.at(c.run_dir), f))
    try:
        ops.start(c)
        _say(f"cluster up in {time.monotonic() - t0:.1f}s; trading")
        for p in c.processes:
            if p.kind == "web":
                _say(f"the desk's screen: http://{p.listen}/ (users in {c.at(p.users)}; the demo's: alice, bob, rita, "
                     f"sam, each with password demo-NAME)")
        log, speed = trade(c)
    finally:
        ops.stop(c)
    day = os.path.basename(log)[4:12]
    trading_s = time.monotonic() - t0
    _say(f"day over after {trading_s:.0f}s; post-trade jobs on {log}")
    reports = os.path.join(c.at(c.run_dir), "reports")
    shutil.rmtree(reports, ignore_errors=True)
    problems = post_trade(c, log, reports)
    clients = client_reports(c)
    for r in clients:
        problems += [f"client {r['sender']}: {v}" for v in r.get("violations", [])]
    dest = archive(c, day, log, reports)
    facts = DayLog(log)
    print_summary(facts, speed)
    for r in clients:
        lat = r.get("ack_latency_us", {})
        _say(f"client {r['sender']}: {r.get('orders', 0)} orders, {r.get('reports', 0)} execution reports checked "
             f"against the FIX state rules, {len(r.get('violations', []))} violations; request to ack as the client "
             f"saw it p50 {lat.get('p50', 0):,} us p99 {lat.get('p99', 0):,} us (real time)")
    _say(f"\nmessages sequenced: {facts.records:,} ({facts.records / trading_s:,.0f}/s over the {trading_s:.0f}s from "
         f"start to stop, clock x{speed:g}); post-trade jobs took {time.monotonic() - t0 - trading_s:.0f}s")
    _say(f"log: {log} ({os.path.getsize(log) / 1e6:.1f} MB)")
    _say(f"archive: {dest} (check it: cd {dest} && sha256sum -c SHA256SUMS)")
    _say(f"replay it: seqtrade replay {os.path.join(dest, 'log', os.path.basename(log))} --verify")
    if problems:
        _say("\nPROBLEMS:\n  " + "\n  ".join(problems[:30]))
        return 1
    return 0
