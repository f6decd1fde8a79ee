"""A short compressed trading day as real processes on loopback, run the way operations runs it: the start script,
the status script, the client simulators trading over FIX until every order has ended (the OMS cancels back at the
close), the stop script. Then the final state is checked from every side: each client's view (its execution reports,
checked against the FIX state rules as they arrived), the OMS's (its reports on the log), the venue gateway's (venue
fills on the log) and each venue simulator's own count; and the recorded day replays bit for bit in a fresh process
under another hash seed, and archives with checksums that check."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from seqtrade import clusterconfig, day, simcluster_files
from sequencer import messages as M
from sequencer.log import LogReader, log_path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEPLOY = os.path.join(ROOT, "deploy")


def script(name: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    return subprocess.run([os.path.join(DEPLOY, name), *args], capture_output=True, text=True, env=env, timeout=180)


@pytest.fixture(scope="module")
def traded_day(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("day"))
    path = simcluster_files.write(d, speed=60, clock_start="09:29:40", market_close="09:36:00",
                                  trading_day="20261120", snapshot_every=2_000)
    c = clusterconfig.load(path)
    started = script("start-day.sh", path)
    restarted = None
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        status = script("status.sh", path)
        restarted = crash_and_restart_the_algo(c, path)
        sims = [p for p in c.processes if p.kind == "client-sim"]
        deadline = time.monotonic() + 150
        from seqtrade.cluster import running
        while any(running(c, p) for p in sims) and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        stopped = script("stop-day.sh", path)
    return c, started, status, stopped, restarted


def crash_and_restart_the_algo(c, path):
    """Mid-day, once the algo has written a snapshot: kill -9 it, and run the start script again, as operations
    would. It must restart only the algo, which resumes from its snapshot; the conservation checks below then show
    that the crash lost and duplicated nothing."""
    from apps import snapshot
    from seqtrade.cluster import running
    algo = next(p for p in c.processes if p.name == "algo")
    snaps = os.path.join(c.dir, "run", "snapshots", "algo")
    deadline = time.monotonic() + 60
    while not snapshot.all_of(snaps, "20261120") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert snapshot.all_of(snaps, "20261120"), "the algo wrote no snapshot"
    pid = running(c, algo)["pid"]
    os.kill(pid, 9)
    while running(c, algo) is not None:
        time.sleep(0.05)
    return script("start-day.sh", path)


def test_start_status_and_stop_scripts(traded_day):
    c, started, status, stopped, _ = traded_day
    names = [p.name for p in c.processes]
    # started in dependency order, each healthy before the next; the day's data published once the apps were up
    order = [line.split()[0] for line in started.stdout.splitlines() if line.strip().endswith(")") and " up (" in line]
    assert order == names
    assert "reference data" in started.stdout and "records published" in started.stdout
    # the status table: every process up; the sequencer's subscribers have been delivered the head
    rows = {line.split()[0]: line.split() for line in status.stdout.splitlines()[1:] if line.split()
            and line.split()[0] in names}
    assert status.returncode == 0, status.stdout
    assert sorted(rows) == sorted(names) and all(r[4] == "up" for r in rows.values())
    assert rows["oms"][5] != "-" and rows["oms"][6].replace(",", "").isdigit()
    # stopped in reverse order, the sequencer last, nothing killed
    lines = [line.split() for line in stopped.stdout.splitlines()[1:]]
    assert [x[0] for x in lines] == names[::-1]
    assert all(x[1] in ("stopped", "not") for x in lines), stopped.stdout
    assert not any(os.path.exists(os.path.join(c.at(c.run_dir), f"{n}.pid")) for n in names)


def test_a_crashed_algo_restarts_from_its_snapshot(traded_day):
    c, restarted = traded_day[0], traded_day[4]
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    relaunched = [line.split()[0] for line in restarted.stdout.splitlines() if " up (" in line]
    assert relaunched == ["algo"], restarted.stdout        # the running processes were left alone
    text = open(os.path.join(c.at(c.run_dir), "algo.log")).read()
    assert "restored from snapshot" in text and "FATAL" not in text, text[-3000:]


def test_every_order_ended_and_fills_are_conserved(traded_day):
    c = traded_day[0]
    reports = [json.load(open(os.path.join(c.at(c.run_dir), f"{p.name}.report.json")))
               for p in c.processes if p.kind == "client-sim"]
    assert [r["violations"] for r in reports] == [[], []]
    assert sum(r["orders"] for r in reports) == 32
    client_filled = sum(r["filled_qty"] for r in reports)
    # the OMS's view: the last report of each client order, from the log
    last: dict[str, M.ExecReport] = {}
    venue_fills = 0
    log = log_path(c.at(c.seq.data_dir), "20261120")
    for rec in LogReader(log).records():
        if isinstance(rec.msg, M.ExecReport):
            last[rec.msg.order_id] = rec.msg
        elif isinstance(rec.msg, M.VenueFill):
            venue_fills += rec.msg.last_qty
    assert len(last) == 32
    assert all(er.ord_status in "248C3" for er in last.values())         # every order ended
    oms_filled = sum(er.cum_qty for er in last.values())
    # each venue simulator's own count, printed as it stopped
    venues_filled = 0
    for p in c.processes:
        if p.kind == "venue":
            text = open(os.path.join(c.at(c.run_dir), f"{p.name}.log")).read()
            line = [x for x in text.splitlines() if "fills to FIX clients" in x][-1]
            venues_filled += int(line.split(", ")[-1].split()[0])
    assert client_filled > 0
    assert client_filled == oms_filled == venue_fills == venues_filled


def test_the_day_replays_bit_for_bit_and_archives(traded_day):
    c = traded_day[0]
    log = log_path(c.at(c.seq.data_dir), "20261120")
    r = subprocess.run([sys.executable, "-m", "seqtrade", "replay", log, "--apps", "oms,algo", "--verify"],
                       capture_output=True, text=True, env=dict(os.environ, PYTHONHASHSEED="4242"), timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "identical" in r.stderr and "differ" not in r.stderr
    dest = day.archive(c, "20261120", log, os.path.join(c.dir, "no-reports"))
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=dest, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "log/seq-20261120.log: OK" in check.stdout and "config/cluster.toml: OK" in check.stdout


def test_the_automated_day_starts_a_dead_core_process_again_and_gives_up_after_three(monkeypatch, tmp_path):
    """Issue 20: `seqtrade cluster day` gave up when a core process died. It now starts it again as an operator
    would (the sequencer first: the others need it), and stops the day, naming the process, when it keeps dying."""
    from seqtrade import cluster as ops
    path = simcluster_files.write(str(tmp_path), speed=60, clock_start="09:29:40", market_close="09:36:00",
                                  trading_day="20261120")
    c = clusterconfig.load(path)
    core = [p for p in c.processes if p.kind != "client-sim"]
    dead = {"oms", "sequencer"}
    started = []
    monkeypatch.setattr(ops, "running", lambda c, p: None if p.name in dead else {"pid": 1})
    monkeypatch.setattr(ops, "start_one", lambda c, p: started.append(p.name))
    restarts: dict = {}
    day._revive(c, core, restarts)
    assert started == ["sequencer", "oms"] and restarts == {"sequencer": 1, "oms": 1}
    dead.discard("sequencer")
    day._revive(c, core, restarts)
    day._revive(c, core, restarts)
    assert restarts == {"sequencer": 1, "oms": 3}
    with pytest.raises(ops.ClusterError, match="oms died 4 times during the day"):
        day._revive(c, core, restarts)


def test_the_live_apps_states_equal_a_replay_of_the_log_by_state_hash(traded_day):
    """The OMS and algo processes wrote snapshots as they traded; each, replayed from the log to its seq in a fresh
    process, gives the same state (apps/statehash.py): the processes ran exactly what the log says."""
    c = traded_day[0]
    from apps import snapshot
    log = log_path(c.at(c.seq.data_dir), "20261120")
    checked = 0
    for name in ("oms", "algo"):
        snaps = snapshot.all_of(os.path.join(c.dir, "run", "snapshots", name), "20261120")
        assert snaps, f"{name} wrote no snapshot"
        r = subprocess.run([sys.executable, "-m", "seqtrade", "replay", log, "--config", c.path, "--compare-snapshot",
                            snaps[-1]], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0 and "identical" in r.stderr, r.stderr[-2000:]
        checked += 1
    assert checked == 2
