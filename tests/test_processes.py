"""Real processes on loopback, started the way a user starts them: `seqtrade sequencer` and `seqtrade app run`."""
import json
import os
import subprocess
import sys
import time

from sequencer import messages as M
from sequencer.log import LogReader, log_path, verify
from seqtrade import procs

DAY = "20260105"
PINGS = 400


def write_config(tmp, port, snapshots=""):
    cfg = tmp / "cluster.toml"
    cfg.write_text(f"""
[sequencer]
port = {port}
data_dir = "{tmp / 'data'}"
trading_day = "{DAY}"
fsync = "batch"
clock_interval_ms = 2

[apps.ping]
password = "p1"
class = "apps.sample:PingApp"
params = {{ count = {PINGS}, interval_ms = 2 }}
{snapshots}
[apps.pong]
password = "p2"
class = "apps.sample:PongApp"
{snapshots}
""")
    return str(cfg)


def count(path, typ):
    if not os.path.exists(path):
        return 0
    return sum(1 for r in LogReader(path).records() if r.type == M.tag_of(typ))


def wait_for(pred, timeout=60, what=""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def assert_each_ping_and_pong_once(path, live=False):
    """``live``: a sequencer is still writing the log (it may have grown since it was verified)."""
    res = verify(path)  # CRCs, seq 1..N with no gap, time in order, no repeated source_seq
    recs = list(LogReader(path).records())
    if live:
        recs = recs[:res.count]
    assert res.count == len(recs)
    pings = [r for r in recs if r.type == M.tag_of(M.Ping(0))]
    pongs = [r for r in recs if r.type == M.tag_of(M.Pong(0, 0))]
    assert [r.msg.n for r in pings] == list(range(1, PINGS + 1))
    assert [r.msg.n for r in pongs] == list(range(1, PINGS + 1))
    ping_seq = {r.msg.n: r.seq for r in pings}
    assert all(p.msg.ping_seq == ping_seq[p.msg.n] and p.seq > p.msg.ping_seq for p in pongs)


def test_kill_9_apps_and_sequencer_mid_stream_loses_and_duplicates_nothing(tmp_path):
    port = procs.free_port()
    cfg = write_config(tmp_path, port)
    path = log_path(str(tmp_path / "data"), DAY)
    logs = {n: str(tmp_path / f"{n}.out") for n in ("sequencer", "ping", "pong")}

    def start_seq():
        p = procs.seqtrade("sequencer", "--config", cfg, log_path=logs["sequencer"])
        procs.wait_port("127.0.0.1", port, proc=p)
        return p

    def start_app(name):
        return procs.seqtrade("app", "run", name, "--config", cfg, log_path=logs[name])

    seq = start_seq()
    ping, pong = start_app("ping"), start_app("pong")
    try:
        wait_for(lambda: count(path, M.Pong) >= PINGS // 4, what="a quarter of the pongs")
        procs.kill9(pong)
        pong = start_app("pong")
        wait_for(lambda: count(path, M.Pong) >= PINGS // 2, what="half of the pongs")
        procs.kill9(seq)
        time.sleep(0.3)  # the apps notice and retry with backoff
        seq = start_seq()
        wait_for(lambda: count(path, M.Pong) >= 3 * PINGS // 4, what="three quarters of the pongs")
        procs.kill9(ping)
        ping = start_app("ping")
        wait_for(lambda: count(path, M.Pong) >= PINGS, what="all pongs")
        for p in (ping, pong):
            assert p.poll() is None, open(logs["ping" if p is ping else "pong"]).read()
        # each app tells the sequencer what it has processed: the operators' lag is real, not what was sent
        from sequencer.status import query

        def processed():
            st = query("127.0.0.1", port, auth=("pong", "p2"))
            s = {x.app: x for x in st.sessions}
            return st, s
        wait_for(lambda: all(processed()[1][a].processed_seq > 0 for a in ("ping", "pong")), 10, "PROGRESS")
        st, s = processed()
        assert all(0 < s[a].processed_seq <= st.head_seq for a in ("ping", "pong"))
        assert all(s[a].processed_seq <= s[a].delivered_seq for a in ("ping", "pong"))
    finally:
        for p in (ping, pong, seq):
            procs.stop(p)

    assert_each_ping_and_pong_once(path)
    out = open(logs["pong"]).read()
    assert "outputs verified against the log" in out  # the restarted pong replayed and checked its outputs


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "seqtrade", *args], capture_output=True, text=True, timeout=60)


def test_log_cli_dump_and_verify(tmp_path):
    from apps.memory import MemoryCluster
    from apps.sample import PingApp, PongApp
    c = MemoryCluster(str(tmp_path), trading_day=DAY, start_ns=1_700_000_000_000_000_000)
    c.add(PingApp(count=5, interval_ms=1))
    c.add(PongApp())
    c.run()
    for i in range(1, 10):
        c.advance(1_700_000_000_000_000_000 + i * 1_000_000)
    c.close()
    path = c.path
    r = run_cli("log", "dump", path, "--type", "Ping", "--from", "3")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["n"] for row in rows] == [1, 2, 3, 4, 5] and rows[0]["px"] == "100.0125"
    assert all(row["seq"] >= 3 and row["type"] == "Ping" for row in rows)
    r = run_cli("log", "verify", path)
    assert r.returncode == 0 and "OK" in r.stdout, r.stderr
    b = bytearray(open(path, "rb").read())
    b[300] ^= 0x55
    open(path, "wb").write(bytes(b))
    r = run_cli("log", "verify", path)
    assert r.returncode != 0 and "corrupt log at byte offset" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("log", "dump", str(tmp_path / "missing.log"))
    assert r.returncode == 2 and "no such log file" in r.stderr


def test_apps_restart_from_their_latest_snapshot_and_end_as_a_full_replay(tmp_path):
    """Apps write snapshots while live; killed with -9 they restart from the newest usable snapshot plus the log's
    tail (a damaged newest one is skipped for the one before). Nothing is lost or duplicated, and each app's state
    at its final snapshot is exactly the state a full replay of the log reaches at that seq."""
    from apps.sample import PingApp, PongApp
    from apps import snapshot
    from replay.runner import replay, state_json

    port = procs.free_port()
    snaps = tmp_path / "snaps"
    cfg = write_config(tmp_path, port, snapshots=f'snapshot_dir = "{snaps}"\nsnapshot_every = 40\n')
    path = log_path(str(tmp_path / "data"), DAY)
    logs = {n: str(tmp_path / f"{n}.out") for n in ("sequencer", "ping", "pong")}
    seq = procs.seqtrade("sequencer", "--config", cfg, log_path=logs["sequencer"])
    procs.wait_port("127.0.0.1", port, proc=seq)

    def start_app(name):
        return procs.seqtrade("app", "run", name, "--config", cfg, log_path=logs[name])

    def written(name):
        return snapshot.all_of(str(snaps / name), DAY)

    ping, pong = start_app("ping"), start_app("pong")
    try:
        wait_for(lambda: count(path, M.Pong) >= PINGS // 4 and written("pong") and written("ping"),
                 what="a quarter of the pongs and a snapshot of each app")
        procs.kill9(pong)
        pong = start_app("pong")
        wait_for(lambda: count(path, M.Pong) >= PINGS // 2, what="half of the pongs")
        procs.kill9(ping)
        time.sleep(0.5)  # a writer the killed process had forked finishes its snapshot: that one is the newest
        ping_snaps = written("ping")
        with open(ping_snaps[-1], "r+b") as f:  # damage ping's newest: it must fall back to the one before
            f.seek(-10, os.SEEK_END)
            f.write(b"XXXXXXXXXX")
        ping = start_app("ping")
        wait_for(lambda: count(path, M.Pong) >= PINGS, what="all pongs")
        for p in (ping, pong):
            assert p.poll() is None, open(logs["ping" if p is ping else "pong"]).read()
        # each app tells the sequencer what it has processed: the operators' lag is real, not what was sent
        from sequencer.status import query

        def processed():
            st = query("127.0.0.1", port, auth=("pong", "p2"))
            s = {x.app: x for x in st.sessions}
            return st, s
        wait_for(lambda: all(processed()[1][a].processed_seq > 0 for a in ("ping", "pong")), 10, "PROGRESS")
        st, s = processed()
        assert all(0 < s[a].processed_seq <= st.head_seq for a in ("ping", "pong"))
        assert all(s[a].processed_seq <= s[a].delivered_seq for a in ("ping", "pong"))
    finally:
        for p in (ping, pong):
            procs.stop(p)  # SIGTERM: each writes a last snapshot
        procs.stop(seq)
    assert_each_ping_and_pong_once(path)

    pong_out, ping_out = open(logs["pong"]).read(), open(logs["ping"]).read()
    assert "restored from snapshot" in pong_out, pong_out
    assert "signature does not match" in ping_out and "restored from snapshot" in ping_out, ping_out
    assert "stream paused" in pong_out
    last_pong = max(r.seq for r in LogReader(path).records() if r.type == M.tag_of(M.Pong(0, 0)))

    for name, fresh in (("ping", PingApp(count=PINGS, interval_ms=2)), ("pong", PongApp())):
        last = written(name)[-1]
        at, live = snapshot.read(last, DAY, snapshot.key_for({"ping": "p1", "pong": "p2"}[name]))
        assert at >= last_pong   # the stop (or the last background snapshot) covered the whole of the app's work
        res, full = replay(path, {name: fresh}, verify=True, until_seq=at)
        assert res.last_seq == at and res.mismatches == {name: 0}
        assert state_json(live) == state_json(full)
        a, b = live[name], full[name]
        assert (a.next_seq, a.out_seq, sorted(a.pending)) == (b.next_seq, b.out_seq, sorted(b.pending))
        assert len(written(name)) == 3  # pruned to the newest three
        # a live app's snapshot starts a verified replay too: it ends where the full replay ends
        oldest = written(name)[0]
        tail, resumed = replay(path, {}, verify=True, from_snapshot=oldest, until_seq=at,
                               snapshot_key=snapshot.key_for({"ping": "p1", "pong": "p2"}[name]))
        assert tail.mismatches == {name: 0} and state_json(resumed) == state_json(full)


def test_processes_tell_their_supervisor_they_are_ready_only_once_healthy(tmp_path):
    """systemd Type=notify: READY=1 from the sequencer once it listens, from an app once it has caught up with the
    stream (sequencer/notify.py), on the socket systemd names in NOTIFY_SOCKET."""
    import socket
    port = procs.free_port()
    cfg = write_config(tmp_path, port)
    sock_path = str(tmp_path / "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sock_path)
    s.settimeout(15)
    env = {"NOTIFY_SOCKET": sock_path}
    seq = procs.seqtrade("sequencer", "--config", cfg, log_path=str(tmp_path / "seq.out"), env=env)
    app = None
    try:
        msg = s.recv(1000).decode()
        assert msg.startswith("READY=1") and "listening" in msg
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass                                     # it said ready, and it does listen
        app = procs.seqtrade("app", "run", "pong", "--config", cfg, log_path=str(tmp_path / "pong.out"), env=env)
        msg = s.recv(1000).decode()
        assert msg.startswith("READY=1") and "caught up" in msg
        assert "caught up at seq" in open(tmp_path / "pong.out").read()
    finally:
        for p in (app, seq):
            if p is not None:
                procs.stop(p)
        s.close()
