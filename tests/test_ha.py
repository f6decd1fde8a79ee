"""A primary sequencer and a hot standby elected through a real etcd (Debian's ``etcd-server``), as real processes:
the standby's log is byte-identical to the primary's; kill -9 of the primary, or a pause longer than its lease
(SIGSTOP), hands the day to the standby, the apps follow it and nothing is lost or duplicated; the old primary never
publishes again, and comes back as a standby that cuts what its term never committed."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid

import pytest

from sequencer import messages as M
from sequencer.log import LogReader, log_path
from seqtrade import procs
from tests.chaos.harness import etcd_argv, write_config
from tests.test_processes import DAY, PINGS, assert_each_ping_and_pong_once, count, wait_for

ETCD = shutil.which("etcd")
pytestmark = pytest.mark.skipif(ETCD is None, reason="needs etcd (Debian's etcd-server; .ci/run installs it)")


@pytest.fixture
def etcd(tmp_path):
    client, peer = procs.free_port(), procs.free_port()
    out = open(tmp_path / "etcd.out", "w")
    p = subprocess.Popen(etcd_argv("t", str(tmp_path / "etcd"), "127.0.0.1", client, peer), stdout=out, stderr=out)
    try:
        procs.wait_port("127.0.0.1", client, proc=p)
        yield f"127.0.0.1:{client}"
    finally:
        p.kill()
        p.wait()


class Day:
    def __init__(self, tmp, etcd):
        self.tmp = tmp
        self.ports = (procs.free_port(), procs.free_port(), procs.free_port())
        self.cfg = write_config(str(tmp / "cluster.toml"), [etcd],
                                {n: ("127.0.0.1", p) for n, p in zip("abc", self.ports)}, PINGS, 2,
                                f"/seqtrade/test-{uuid.uuid4().hex}/leader")
        self.logs = {n: log_path(str(tmp / f"data-{n}"), DAY) for n in "abc"}
        self.procs: dict[str, subprocess.Popen] = {}
        self.runs: dict[str, int] = {}

    def node(self, n: str) -> subprocess.Popen:
        self.runs[n] = self.runs.get(n, 0) + 1
        p = procs.seqtrade("sequencer", "--config", self.cfg, "--node", n,
                           log_path=str(self.tmp / f"node-{n}-{self.runs[n]}.out"))
        self.procs[n] = p
        return p

    def app(self, name: str) -> subprocess.Popen:
        p = procs.seqtrade("app", "run", name, "--config", self.cfg, log_path=str(self.tmp / f"{name}.out"))
        self.procs[name] = p
        return p

    def out(self, n: str, run: int | None = None) -> str:
        return (self.tmp / f"node-{n}-{run or self.runs[n]}.out").read_text()

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                os.kill(p.pid, signal.SIGCONT)
                p.kill()
                p.wait()


def terms(path: str) -> list[tuple[int, str, int]]:
    return [(r.msg.term, r.msg.node, r.seq) for r in LogReader(path).records() if type(r.msg) is M.TermStart]


def same_prefix(a: str, b: str) -> bool:
    """The two logs hold the same bytes up to the shorter one's end (the standby may trail by a batch)."""
    with open(a, "rb") as fa, open(b, "rb") as fb:
        x, y = fa.read(), fb.read()
    n = min(len(x), len(y))
    return n > 1000 and x[:n] == y[:n]


def leader_of(d: Day, *nodes: str) -> str:
    """The node among ``nodes`` that says it became the primary."""
    return next(n for n in nodes if "primary in term" in d.out(n))


def test_kill_9_of_the_primary_hands_the_day_to_a_standby_and_the_old_primary_rejoins(tmp_path, etcd):
    """Three nodes, one standby's acknowledgement per batch: after the primary dies, the standby with the most of
    the log leads and the other follows it, so the day goes on with a standby."""
    d = Day(tmp_path, etcd)
    try:
        d.node("a")
        procs.wait_port("127.0.0.1", d.ports[0], proc=d.procs["a"])     # a leads: only the primary listens
        d.node("b")
        d.node("c")
        wait_for(lambda: "caught up" in d.out("b") and "caught up" in d.out("c"), 20, "the standbys to catch up")
        d.app("pong")
        d.app("ping")
        wait_for(lambda: count(d.logs["a"], M.Pong(0, 0)) >= PINGS // 4, 60, "a quarter of the pongs")
        assert same_prefix(d.logs["a"], d.logs["b"]) and same_prefix(d.logs["a"], d.logs["c"])
        procs.kill9(d.procs["a"])
        t0 = time.monotonic()
        wait_for(lambda: "primary in term" in d.out("b") + d.out("c"), 20, "a standby to take over")
        took_over = time.monotonic() - t0
        new, other = ("b", "c") if leader_of(d, "b", "c") == "b" else ("c", "b")
        n_before = count(d.logs[new], M.Pong(0, 0))
        wait_for(lambda: count(d.logs[new], M.Pong(0, 0)) > n_before, 20, "the apps to carry on")
        resumed = time.monotonic() - t0
        print(f"\nfailover: {new} primary {took_over * 1000:.0f} ms after kill -9 of a, apps trading on it "
              f"{resumed * 1000:.0f} ms after (lease 2 s)")
        wait_for(lambda: count(d.logs[new], M.Pong(0, 0)) >= PINGS, 120, "every pong")
        assert_each_ping_and_pong_once(d.logs[new], live=True)
        assert same_prefix(d.logs[new], d.logs[other])                  # the other standby follows the new primary
        # as if a had sequenced a batch and died before any standby had it: records its term never committed
        from sequencer.core import SequencerCore
        from sequencer.log import LogWriter
        w = LogWriter(d.logs["a"], DAY)
        SequencerCore(w).emit(M.Note("sequenced by a, never replicated"), w.last_ts + 1)
        w.close()
        # the old primary comes back: a standby now, it cuts that, catches up, and its log is the new primary's
        d.node("a")
        wait_for(lambda: "caught up" in d.out("a"), 30, "the old primary to catch up as a standby")
        assert "records the old term never committed" in d.out("a")
        time.sleep(0.5)
        assert same_prefix(d.logs["a"], d.logs[new])
        assert not [r for r in LogReader(d.logs["a"]).records() if type(r.msg) is M.Note]
        (ta, na, sa), (tb, nb, sb) = terms(d.logs[new])
        assert (na, nb) == ("a", new) and tb > ta and sb > sa
    finally:
        d.stop()


def test_a_primary_paused_past_its_lease_is_replaced_and_never_publishes_again(tmp_path, etcd):
    """SIGSTOP of the primary for longer than its lease: a standby takes over and the apps follow it (the stopped
    primary still accepts connections, so they give up on its silence and on its unanswered HELLO). Woken up, the
    old primary finds its lease gone and stops without publishing what it sequenced on waking; restarted, it cuts
    that from its log and follows the new primary."""
    d = Day(tmp_path, etcd)
    try:
        d.node("a")
        procs.wait_port("127.0.0.1", d.ports[0], proc=d.procs["a"])
        d.node("b")
        d.node("c")
        wait_for(lambda: "caught up" in d.out("b") and "caught up" in d.out("c"), 20, "the standbys to catch up")
        d.app("pong")
        d.app("ping")
        wait_for(lambda: count(d.logs["a"], M.Pong(0, 0)) >= PINGS // 4, 60, "a quarter of the pongs")
        os.kill(d.procs["a"].pid, signal.SIGSTOP)
        wait_for(lambda: "primary in term" in d.out("b") + d.out("c"), 20, "a standby to take over")
        new = leader_of(d, "b", "c")
        n_before = count(d.logs[new], M.Pong(0, 0))
        wait_for(lambda: count(d.logs[new], M.Pong(0, 0)) > n_before, 30, "the apps to carry on with the new primary")
        os.kill(d.procs["a"].pid, signal.SIGCONT)
        assert d.procs["a"].wait(timeout=10) == 3                       # it stopped, knowing it is not the primary
        assert "no longer the primary" in d.out("a")
        wait_for(lambda: count(d.logs[new], M.Pong(0, 0)) >= PINGS, 120, "every pong")
        # what the apps acted on came from the new primary only: each pong answers its ping as the new log has it
        assert_each_ping_and_pong_once(d.logs[new], live=True)
        d.node("a")
        wait_for(lambda: "caught up" in d.out("a"), 30, "the old primary to catch up as a standby")
        time.sleep(0.5)
        assert same_prefix(d.logs["a"], d.logs[new])
    finally:
        d.stop()
