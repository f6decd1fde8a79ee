"""Each deterministic app's state_hash() (apps/statehash.py), as exchange-core checks its stateHash(): a replay of the
log to the same seq hashes equal to the live app; a snapshot restores to an equal hash, or is refused; one changed
field changes the hash."""
from __future__ import annotations

import pytest

from apps.algo import AlgoApp
from apps.oms import OmsApp
from apps.runtime import AppRunner
from apps.simcluster import SimCluster
from apps import snapshot
from sequencer import messages as M
from sequencer.log import LogReader


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    c = SimCluster(str(tmp_path_factory.mktemp("hash")), "refdata/sample", seed=3)
    c.run_until(c.at("09:31"))
    for cl, sym, strat in (("V1", "AAPL", "VWAP"), ("T1", "MSFT", "TWAP"), ("P1", "NVDA", "POV")):
        c.inject("client", M.NewOrder("C1", cl, sym, "1", 20_000, "1", 0, "0", strategy=strat, end_ns=c.at("10:31"),
                                      participation_bp=500 if strat == "POV" else 0))
    c.run_until(c.at("09:50"))
    yield c
    c.close()


def replayed(c, app_cls, name):
    app, last = app_cls(), c.log.last_seq
    r = AppRunner(app, name)
    for rec in LogReader(c.log.path).records(1):
        if rec.seq > last:
            break
        r.handle(rec)
    return r


@pytest.mark.parametrize("app_cls,live,name", [(OmsApp, "oms", "oms"), (AlgoApp, "algo", "algo")])
def test_a_replay_to_the_same_seq_hashes_equal_to_the_live_app(day, app_cls, live, name):
    r = replayed(day, app_cls, name)
    assert r.app.state_hash() == getattr(day, live).state_hash()


def test_one_changed_field_changes_the_hash(day):
    r = replayed(day, OmsApp, "oms")
    before = r.app.state_hash()
    p = next(iter(r.app.om.parents.values()))
    p.cum_qty += 1
    assert r.app.state_hash() != before
    p.cum_qty -= 1
    assert r.app.state_hash() == before
    r.app.om.now += 1                                  # the clock it has seen is state too
    assert r.app.state_hash() != before


def test_a_snapshot_restores_to_an_equal_hash_and_one_that_would_not_is_refused(day, tmp_path):
    r = replayed(day, AlgoApp, "algo")
    key = snapshot.key_for("s3cret")
    d = str(tmp_path / "snaps")
    path = snapshot.write(d, day.log.trading_day, r.next_seq - 1, {"algo": r}, key)
    seq, runners = snapshot.read(path, day.log.trading_day, key)
    assert runners["algo"].app.state_hash() == r.app.state_hash()
    # a snapshot whose recorded hash is not what its body restores to (signed with the right key, so only the hash
    # check can catch it)
    import hashlib
    import hmac
    data = open(path, "rb").read()
    head, _, body = data[len(snapshot.MAGIC):].partition(b"\n")
    signed = head.rpartition(b" ")[0]
    forged = signed[:-4] + b"0000"
    mac = hmac.new(key, snapshot.MAGIC + forged + b"\n" + body, hashlib.sha256).hexdigest().encode()
    with open(path, "wb") as f:
        f.write(snapshot.MAGIC + forged + b" " + mac + b"\n" + body)
    with pytest.raises(snapshot.SnapshotError, match="does not hash"):
        snapshot.read(path, day.log.trading_day, key)
