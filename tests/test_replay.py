"""Replay: a recorded day through the current code, verified byte for byte in a fresh process under another hash
seed; a divergence shown field by field; state at a seq; a debugger stop; the causal chain of an order."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from apps.simcluster import SimCluster
from oms.manager import OrderManager
from replay import apps as registry
from replay.explain import chain
from replay.runner import Divergence, replay
from sequencer import messages as M
from sequencer.log import log_path


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("replay"))
    c = SimCluster(d, "refdata/sample", seed=5)
    c.run_until(c.at("09:31"))
    c.inject("client", M.NewOrder("C1", "V1", "AAPL", "1", 5_000, "1", 0, strategy="VWAP", end_ns=c.at("09:41")))
    c.inject("client", M.NewOrder("C1", "L1", "MSFT", "2", 3_000, "1", 0, strategy="LIMIT"))
    c.run_until(c.at("09:36"))
    c.inject("client", M.CancelRequest("C1", "V2", "V1", "AAPL", "1"))
    c.run_until(c.at("09:42"))
    path = log_path(d, c.log.trading_day)
    c.close()
    return path


def cli(*args, env=None):
    e = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "seqtrade", "replay", *args], capture_output=True, text=True,
                          env=e, timeout=300)


def test_verified_replay_in_a_fresh_process_with_another_hash_seed(day):
    for seed in ("0", "4242"):
        out = cli(day, "--verify", env={"PYTHONHASHSEED": seed})
        assert out.returncode == 0, out.stderr
        assert "oms" in out.stderr and "outputs identical" in out.stderr and "differ" not in out.stderr


def test_a_divergence_stops_with_both_messages_side_by_side(day, monkeypatch):
    real = OrderManager._exec_id

    def changed(self):
        return real(self) + "x"          # the kind of change a code edit makes to an output
    monkeypatch.setattr(OrderManager, "_exec_id", changed)
    with pytest.raises(Divergence) as e:
        replay(day, {"oms": registry.make("oms")})
    text = str(e.value)
    assert "app 'oms'" in text and "made while handling seq" in text
    differing = [line for line in text.splitlines() if "<-- differs" in line]
    assert len(differing) == 1 and differing[0].split()[0] == "exec_id"


def test_apps_replayed_in_parallel_processes_end_as_in_one(day, monkeypatch):
    from replay.runner import state_json
    one, one_runners = replay(day, {n: registry.make(n) for n in ("oms", "algo")}, until_seq=3000, jobs=1)
    two, two_runners = replay(day, {n: registry.make(n) for n in ("oms", "algo")}, until_seq=3000, jobs=2)
    assert (one.records, one.last_seq, one.stopped_at, one.verified) == (two.records, two.last_seq, two.stopped_at,
                                                                        two.verified)
    assert one.verified["oms"] > 0 and one.verified["algo"] > 0
    assert state_json(one_runners) == state_json(two_runners)
    # a divergence in a worker process comes back as the same report a single process gives
    real = OrderManager._exec_id
    monkeypatch.setattr(OrderManager, "_exec_id", lambda self: real(self) + "x")
    texts = []
    for jobs in (1, 2):
        with pytest.raises(Divergence) as e:
            replay(day, {n: registry.make(n) for n in ("oms", "algo")}, jobs=jobs)
        texts.append(str(e.value))
    assert texts[0] == texts[1] and "app 'oms'" in texts[0]


def test_until_dumps_readable_state(day):
    out = cli(day, "--until", "3000")
    assert out.returncode == 0, out.stderr
    state = json.loads(out.stdout)
    assert set(state) == {"oms", "algo"}
    assert {p["cl_ord_id"] for p in state["oms"]["parents"]} == {"V1", "L1"}
    assert "strategies" in state["algo"] and "timers" in state["algo"]


def test_break_at_stops_before_that_record_with_the_apps_in_scope(day, monkeypatch):
    seen = {}

    def hook(*a, **k):
        f = sys._getframe(1)
        seen.update(seq=f.f_locals["rec"].seq, apps=sorted(f.f_locals["apps"]), state=f.f_locals["state"])
    monkeypatch.setattr(sys, "breakpointhook", hook)
    res, runners = replay(day, {"oms": registry.make("oms")}, break_at=2500, until_seq=2600)
    assert seen["seq"] == 2500 and seen["apps"] == ["oms"] and "parents" in seen["state"]["oms"]
    assert res.last_seq == 2600


def test_explain_follows_an_order_from_client_to_venue_and_back(day):
    lines = chain(day, "V1")
    text = "\n".join(lines)
    for what in ("NewOrder", "ExecReport", "ChildNewRequest", "ChildOrder", "VenueAck", "VenueFill", "CancelRequest"):
        assert f" {what} " in text, what
    assert "(decided on seq" in "\n".join(chain(day, "L1"))   # LIMIT acts on quotes: each child names its tick
    seqs = [int(line.split()[0]) for line in lines[2:]]
    assert seqs == sorted(seqs)
    with pytest.raises(ValueError, match="no order"):
        chain(day, "NOPE")


def test_snapshot_plus_tail_gives_exactly_the_state_of_a_full_replay(day, tmp_path, monkeypatch):
    monkeypatch.setenv("SEQTRADE_SNAPSHOT_SECRET", "replay-secret")
    from replay import apps as registry
    from apps import snapshot
    from replay.runner import replay, state_json
    from sequencer.log import LogReader
    full, full_runners = replay(day, {n: registry.make(n) for n in ("oms", "algo")})
    middle = full.last_seq // 2
    snaps = str(tmp_path / "snaps")
    replay(day, {n: registry.make(n) for n in ("oms", "algo")}, until_seq=middle, snapshot_dir=snaps,
           snapshot_at=middle)
    path = snapshot.latest(snaps, LogReader(day).trading_day)
    assert path and path.endswith(f"{middle:012d}.state")
    tail, tail_runners = replay(day, {}, from_snapshot=path)
    assert tail.records == full.last_seq - middle and tail.last_seq == full.last_seq
    assert state_json(tail_runners) == state_json(full_runners)
    assert sum(tail.mismatches.values()) == 0 and sum(tail.verified.values()) > 0
    # through the command line, in a fresh process: from the latest snapshot, verified
    out = cli(day, "--verify", "--snapshot-dir", snaps, "--from-latest-snapshot")
    assert out.returncode == 0 and f"{tail.records:,} records" in out.stderr
    # a damaged snapshot is refused, naming the file
    with open(path, "r+b") as f:
        f.seek(-10, 2)
        f.write(b"XXXXXXXXXX")
    bad = cli(day, "--from-snapshot", path)
    assert bad.returncode == 2 and "signature does not match" in bad.stderr and path in bad.stderr


def test_a_snapshot_survives_code_that_keeps_the_state_s_shape_and_is_refused_when_the_shape_changed(day, tmp_path,
                                                                                                    monkeypatch):
    """The state is written by attribute name (apps/statecodec.py), so code that changed without changing the state's
    shape reads it (no fingerprint of the code refuses it). A state whose shape no longer fits, here an order written
    by code whose Parent had no cum_qty, is refused naming the class, and recovery replays from the start instead."""
    import hashlib
    import hmac

    import msgspec

    from apps import snapshot
    from sequencer.log import LogReader
    monkeypatch.setenv("SEQTRADE_SNAPSHOT_SECRET", "replay-secret")
    snaps = str(tmp_path / "snaps")
    replay(day, {"oms": registry.make("oms")}, until_seq=5000, snapshot_dir=snaps, snapshot_at=5000)
    path = snapshot.latest(snaps, LogReader(day).trading_day)
    assert snapshot.read(path, LogReader(day).trading_day, snapshot.env_key())[0] == 5000
    data = open(path, "rb").read()
    head, _, body = data[len(snapshot.MAGIC):].partition(b"\n")
    signed = head.rpartition(b" ")[0]
    table, tree = msgspec.msgpack.decode(body)
    shape = next(i for i, (path, _) in enumerate(table) if path == "oms.orders:Parent")
    gone = table[shape][1].index("cum_qty")       # as if written by code whose Parent had no cum_qty
    del table[shape][1][gone]

    def drop(n):
        if isinstance(n, list):
            if len(n) == 3 and n[0] == "o" and n[1] == shape:
                del n[2][gone]
            for x in n:
                drop(x)
    drop(tree)
    tree = [table, tree]
    body = msgspec.msgpack.encode(tree)
    mac = hmac.new(snapshot.env_key(), snapshot.MAGIC + signed + b"\n" + body, hashlib.sha256).hexdigest().encode()
    with open(path, "wb") as f:
        f.write(snapshot.MAGIC + signed + b" " + mac + b"\n" + body)
    with pytest.raises(snapshot.SnapshotError, match=r"oms\.orders:Parent: fields .* the state's shape changed"):
        snapshot.read(path, LogReader(day).trading_day, snapshot.env_key())


def test_a_replay_worker_that_dies_is_named(day, monkeypatch):
    from replay.runner import WorkerDied
    oms = registry.make("oms")
    real = type(oms).on_message

    def dies(self, rec):
        if rec.seq == 1000:
            os._exit(9)               # as if killed, or out of memory
        real(self, rec)
    monkeypatch.setattr(type(oms), "on_message", dies)
    with pytest.raises(WorkerDied, match=r"apps oms\) died without a result \(exit code 9\)"):
        replay(day, {"oms": oms, "algo": registry.make("algo")}, jobs=2)


def test_a_forged_snapshot_runs_no_code_and_a_shared_directory_is_refused(day, tmp_path, monkeypatch):
    """A file planted by someone without the secret is refused before it is decoded; and even a correctly signed state
    that names a class outside the deterministic packages (os.system, a pickle's favourite) is refused, not called."""
    import hashlib
    import hmac

    import msgspec

    from apps import snapshot
    from sequencer.log import LogReader
    monkeypatch.setenv("SEQTRADE_SNAPSHOT_SECRET", "replay-secret")
    marker = tmp_path / "pwned"
    snaps = tmp_path / "snaps"
    snaps.mkdir(mode=0o700)
    trading_day = LogReader(day).trading_day
    body = msgspec.msgpack.encode([[["os:system", ["x"]]], ["d", [["oms", ["o", 0, [f"touch {marker}"]]]]]])
    head = f"{trading_day} 100 {snapshot.messages.SCHEMA_VERSION} oms 0".encode()
    forged = snapshot.path_for(str(snaps), trading_day, 100)
    with open(forged, "wb") as f:                 # as an attacker writes it: a plausible header, any "signature"
        f.write(snapshot.MAGIC + head + b" " + b"0" * 64 + b"\n" + body)
    with pytest.raises(snapshot.SnapshotError, match="signature does not match"):
        snapshot.read(forged, trading_day, snapshot.env_key())
    out = cli(day, "--snapshot-dir", str(snaps), "--from-latest-snapshot", "--apps", "oms")
    assert out.returncode == 2 and "signature does not match" in out.stderr
    mac = hmac.new(snapshot.env_key(), snapshot.MAGIC + head + b"\n" + body, hashlib.sha256).hexdigest().encode()
    with open(forged, "wb") as f:                 # signed with the key: still only data, and refused as such
        f.write(snapshot.MAGIC + head + b" " + mac + b"\n" + body)
    with pytest.raises(snapshot.SnapshotError, match="outside the deterministic packages"):
        snapshot.read(forged, trading_day, snapshot.env_key())
    assert not marker.exists()
    os.chmod(snaps, 0o777)                        # a directory others may write to is refused outright
    with pytest.raises(snapshot.SnapshotError, match="writable by group or others"):
        snapshot.read(forged, trading_day, snapshot.env_key())
    assert not marker.exists()
    with pytest.raises(snapshot.SnapshotError, match="need a secret"):
        snapshot.key_for("")
