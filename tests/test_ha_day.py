"""A short trading day as real processes with a primary sequencer and two hot standbys (a real etcd): the primary is
killed with -9 mid-day. A standby takes over; the OMS, the algo, the gateways and the market data gateway follow it;
the clients trade on. Checked as the trading day test checks a day without failures: every client order ended, every
ExecutionReport passed the FIX rules as the client received it, fills equal at the client, the OMS, the venue gateway
and each venue, ExecIDs unique per client; and the new primary's log verifies and replays bit for bit."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest

from seqtrade import clusterconfig, procs, simcluster_files
from seqtrade.cluster import running
from sequencer import messages as M
from sequencer.log import LogReader, log_path, verify
from tests.chaos.harness import etcd_argv
from tests.test_trading_day import script

ETCD = shutil.which("etcd")
pytestmark = pytest.mark.skipif(ETCD is None, reason="needs etcd (Debian's etcd-server; make test installs it)")
DAY = "20261123"


def with_standbys(path: str, etcd: str) -> None:
    """The simulated day's cluster file, its sequencer made node a of three (b and c on free ports)."""
    text = open(path).read()
    port = clusterconfig.load(path).seq.port
    b, c = procs.free_port(), procs.free_port()
    text = text.replace('[process.sequencer]\nkind = "sequencer"\n',
                        '[process.sequencer]\nkind = "sequencer"\nnode = "a"\n\n'
                        '[process.sequencer_b]\nkind = "sequencer"\nnode = "b"\n\n'
                        '[process.sequencer_c]\nkind = "sequencer"\nnode = "c"\n')
    text += f"""
[sequencer.ha]
etcd = ["{etcd}"]
key = "/seqtrade/day-{uuid.uuid4().hex}/leader"
lease_s = 2
sync_standbys = 1

[sequencer.ha.nodes.a]
port = {port}
data_dir = "data-a"

[sequencer.ha.nodes.b]
port = {b}
data_dir = "data-b"

[sequencer.ha.nodes.c]
port = {c}
data_dir = "data-c"

[apps.replication]
password = "pw-replication"
role = "standby"
"""
    with open(path, "w") as f:
        f.write(text)


def test_a_trading_day_survives_kill_9_of_its_primary_sequencer(tmp_path):
    client, peer = procs.free_port(), procs.free_port()
    etcd = subprocess.Popen(etcd_argv("t", str(tmp_path / "etcd"), "127.0.0.1", client, peer),
                            stdout=open(tmp_path / "etcd.out", "w"), stderr=subprocess.STDOUT)
    d = str(tmp_path / "day")
    path = simcluster_files.write(d, speed=60, clock_start="09:29:40", market_close="09:37:00", trading_day=DAY)
    try:
        procs.wait_port("127.0.0.1", client, proc=etcd)
        with_standbys(path, f"127.0.0.1:{client}")
        c = clusterconfig.load(path)
        started = script("start-day.sh", path)
        assert started.returncode == 0, started.stdout + started.stderr
        primary = c.process("sequencer")
        info = running(c, primary)
        logs = {n: log_path(os.path.join(d, f"data-{n}"), DAY) for n in "abc"}
        deadline = time.monotonic() + 60
        while sum(1 for r in LogReader(logs["a"]).records() if type(r.msg) is M.VenueFill) < 50:
            assert time.monotonic() < deadline, "no trading"
            time.sleep(0.5)
        os.kill(info["pid"], signal.SIGKILL)             # the primary, mid-day
        t0 = time.monotonic()
        st = None
        while time.monotonic() - t0 < 30:
            from sequencer.status import query
            try:
                st = query(*c.sequencer_address(), timeout=0.5)
                if st.log_path == "" and c.sequencer_address()[1] != c.seq.port:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        took = time.monotonic() - t0
        new = next(n for n in "bc" if "primary in term" in open(os.path.join(d, "run", f"sequencer_{n}.log")).read())
        print(f"\nfailover in a trading day: {new} serving {took:.1f} s after kill -9 of a")
        procs.seqtrade("cluster", "start", "--config", path).wait()   # the supervisor: a comes back as a standby
        sims = [p for p in c.processes if p.kind == "client-sim"]
        deadline = time.monotonic() + 240
        while any(running(c, p) for p in sims) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not any(running(c, p) for p in sims), "the clients did not finish"
    finally:
        script("stop-day.sh", path)
        etcd.kill()
        etcd.wait()
    reports = [json.load(open(os.path.join(d, "run", f"{p.name}.report.json"))) for p in sims]
    assert [r["violations"] for r in reports] == [[], []]      # every report as received passed the FIX rules
    assert sum(r["orders"] for r in reports) == 32 and all(r["open"] == 0 for r in reports if "open" in r)
    log = logs[new]
    verify(log)
    last: dict[str, M.ExecReport] = {}
    venue_fills, exec_ids = 0, {}
    for rec in LogReader(log).records():
        if isinstance(rec.msg, M.ExecReport):
            last[rec.msg.order_id] = rec.msg
            key = (rec.msg.client, rec.msg.exec_id)
            assert key not in exec_ids, f"ExecID {key} twice"
            exec_ids[key] = rec.seq
        elif isinstance(rec.msg, M.VenueFill):
            venue_fills += rec.msg.last_qty
    assert len(last) == 32 and all(er.ord_status in "248C3" for er in last.values())   # every order ended
    venues_filled = 0
    for p in c.processes:
        if p.kind == "venue":
            text = open(os.path.join(d, "run", f"{p.name}.log")).read()
            venues_filled += int([x for x in text.splitlines() if "fills to FIX clients" in x][-1]
                                 .split(", ")[-1].split()[0])
    client_filled = sum(r["filled_qty"] for r in reports)
    assert client_filled > 0 and client_filled == sum(er.cum_qty for er in last.values()) == venue_fills \
        == venues_filled
    r = subprocess.run([sys.executable, "-m", "seqtrade", "replay", log, "--apps", "oms,algo", "--verify"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "identical" in r.stderr and "differ" not in r.stderr, r.stderr[-2000:]
