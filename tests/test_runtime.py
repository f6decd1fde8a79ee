"""App runtime: timers, output checking, recovery by replay, the in-memory cluster."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.memory import MemoryCluster
from apps.runtime import App, AppRunner, DeterminismError, Timers
from apps.sample import PingApp, PongApp
from sequencer import log as L
from sequencer import messages as M
from sequencer.record import Record

MS = 1_000_000


def rec(seq, ts, source="x", sseq=None, msg=None):
    msg = msg or M.Clock()
    return Record(seq, ts, source, sseq or seq, M.tag_of(msg), M.encode(msg))


class Recorder(App):
    def __init__(self, deadlines):
        super().__init__()
        self.deadlines = deadlines
        self.events = []

    def on_message(self, r):
        if r.seq == 1:
            for i, d in enumerate(self.deadlines):
                self.timers.schedule(d, i)
        self.events.append(("rec", r.seq, r.ts))

    def on_timer(self, token):
        self.events.append(("timer", token, self.now))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 100), max_size=30), st.lists(st.integers(0, 20), min_size=1, max_size=30))
def test_timers_fire_in_order_before_the_first_record_past_their_deadline(deadlines, steps):
    app = Recorder(deadlines)
    runner = AppRunner(app, "t")
    ts = 0
    stream = []
    for i, step in enumerate(steps, 1):
        ts += step
        stream.append(rec(i, ts))
    runner.handle_all(stream)
    fired = [(e[1]) for e in app.events if e[0] == "timer"]
    # order: (deadline, scheduling order)
    assert fired == sorted(fired, key=lambda i: (deadlines[i], i))
    # each fires right before the first record (after the scheduling one) whose ts reaches its deadline
    for i, d in enumerate(deadlines):
        later = [r for r in stream[1:] if r.ts >= d]
        if not later:
            assert i not in fired
            continue
        pos = app.events.index(("timer", i, later[0].ts))
        assert app.events[pos + 1:].index(("rec", later[0].seq, later[0].ts)) >= 0
        assert all(e[1] < later[0].seq for e in app.events[:pos] if e[0] == "rec")


def test_cancelled_timer_does_not_fire():
    t = Timers()
    a = t.schedule(10, "a")
    t.schedule(10, "b")
    t.cancel(a)
    assert len(t) == 1
    assert [tok for _, tok in t.pop_due(10)] == ["b"]
    t.cancel(a)  # already cancelled / fired: no effect
    assert len(t) == 0 and t.pending() == []


def test_mismatched_output_is_a_determinism_error_showing_both():
    sent = []
    runner = AppRunner(PongApp(), "pong", send=lambda *a: sent.append(a))
    runner.connected(last_source_seq=1, head_seq=10)  # the log already has our output #1
    runner.handle(rec(1, 5, "ping", 1, M.Ping(7)))
    assert sent == []  # held back: the log has it
    with pytest.raises(DeterminismError) as e:
        runner.handle(rec(2, 6, "pong", 1, M.Pong(7, ping_seq=99)))
    text = str(e.value)
    assert "'ping_seq': 1" in text and "'ping_seq': 99" in text and "seq 1" in text


def test_output_in_log_that_app_never_made():
    runner = AppRunner(PongApp(), "pong")
    runner.connected(1, 10)
    with pytest.raises(DeterminismError, match="regenerated: \\(nothing\\)"):
        runner.handle(rec(1, 6, "pong", 1, M.Pong(1, 1)))


def run_day(data_dir, pings=50, kill_pong_at=None):
    """Ping/pong on the in-memory cluster; optionally 'kill' pong at a time and attach a fresh instance."""
    c = MemoryCluster(str(data_dir), start_ns=1_000 * MS)
    c.add(PingApp(count=pings, interval_ms=3))
    pong = c.add(PongApp())
    t = 1_000 * MS
    c.run()
    while t < 1_000 * MS + pings * 3 * MS + 10 * MS:
        t += 1 * MS
        if kill_pong_at is not None and t == kill_pong_at:
            c.runners.remove(pong)       # the process died: it sees nothing more ...
            c.advance(t)                 # ... while the day goes on
            pong = c.add(PongApp())      # restarted: replays the log, checks its outputs, carries on
        c.advance(t)
    c.close()
    return c.path


def test_memory_cluster_is_deterministic(tmp_path):
    a = run_day(tmp_path / "a")
    b = run_day(tmp_path / "b")
    assert open(a, "rb").read() == open(b, "rb").read()
    recs = L.read_all(a)
    pongs = [r.msg for r in recs if isinstance(r.msg, M.Pong)]
    assert [p.n for p in pongs] == list(range(1, 51))


def test_restarted_app_loses_and_duplicates_nothing(tmp_path):
    path = run_day(tmp_path / "k", kill_pong_at=1_000 * MS + 60 * MS)
    recs = L.read_all(path)
    pings = {r.msg.n: r.seq for r in recs if isinstance(r.msg, M.Ping)}
    pongs = [r.msg for r in recs if isinstance(r.msg, M.Pong)]
    assert sorted(p.n for p in pongs) == list(range(1, 51))
    assert all(pings[p.n] == p.ping_seq for p in pongs)
    L.verify(path)


def test_replay_of_a_finished_day_regenerates_every_output(tmp_path):
    path = run_day(tmp_path / "r")
    c = MemoryCluster(str(tmp_path / "r"))
    ping = c.add(PingApp(count=50, interval_ms=3))
    pong = c.add(PongApp())
    assert ping.verified == 50 and pong.verified == 50 and not ping.pending and not pong.pending
    size = len(open(path, "rb").read())
    c.run()
    c.close()
    assert len(open(path, "rb").read()) == size  # nothing new: every output was already there


def test_changed_code_is_caught_on_replay(tmp_path):
    run_day(tmp_path / "r")
    c = MemoryCluster(str(tmp_path / "r"))
    with pytest.raises(DeterminismError, match="'n': 1"):
        c.add(PingApp(count=50, interval_ms=4))  # a "code change": different timing, different outputs
