"""Replaying a day's log through the current code of the deterministic apps: no network, full speed.

Every output an app regenerates is held until the log's output with the same source and source_seq comes by, and
compared byte for byte (``--verify`` stops at the first difference; without it differences are counted). The apps
see the records exactly as they did live: same seqs, same sequenced times, the same timers.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field

from apps.runtime import AppRunner, DeterminismError
from sequencer.log import LogReader, stderr_notice

from apps import snapshot
from .diff import side_by_side


class Divergence(Exception):
    def __init__(self, err: DeterminismError):
        self.err = err
        self.at_seq = err.input_seq or 0
        super().__init__(f"divergence in app {err.app!r}: output source_seq {err.source_seq}"
                         f"{f', made while handling seq {err.input_seq}' if err.input_seq else ''}\n"
                         f"{side_by_side(err.regenerated, err.recorded)}")

    def __reduce__(self):
        return (Divergence, (self.err,))


class WorkerDied(Exception):
    """A parallel replay's worker process ended without a result (killed, or out of memory)."""


class _Replaying(AppRunner):
    """Every output is compared with the recorded one; nothing is sent anywhere."""

    def __init__(self, app, name: str, strict: bool):
        super().__init__(app, name)
        self.recorded_upto = 1 << 62
        self.strict = strict
        self.mismatches = 0

    @classmethod
    def resume(cls, runner: AppRunner, strict: bool) -> "_Replaying":
        """A runner from a snapshot (a replay's, or a live app process's) as a replaying one, at the same place."""
        r = cls.__new__(cls)
        r.__dict__.update(runner.__dict__)          # position, outputs, counts: whatever the runner holds
        r.send, r.recorded_upto, r.strict = (lambda *a: None), 1 << 62, strict
        r.mismatches = getattr(runner, "mismatches", 0)
        r.app._submit = r._submit                   # the app's outputs now come to this runner
        return r

    def _check_own(self, rec) -> None:
        try:
            super()._check_own(rec)
        except DeterminismError as e:
            if self.strict:
                raise Divergence(e) from None
            self.mismatches += 1


@dataclass
class Result:
    records: int = 0
    seconds: float = 0.0
    last_seq: int = 0
    stopped_at: int | None = None
    verified: dict = field(default_factory=dict)
    mismatches: dict = field(default_factory=dict)
    state_hashes: dict = field(default_factory=dict)   # app -> state_hash() where the replay ended


def replay(path: str, apps: dict, verify: bool = True, until_seq: int | None = None, until_ns: int | None = None,
           break_at: int | None = None, progress=None, progress_every: int = 250_000, snapshot_dir: str = "",
           snapshot_every: int = 0, snapshot_at: int | None = None, from_snapshot: str = "",
           jobs: int = 1, snapshot_key: bytes | None = None) -> tuple[Result, dict]:
    """Feed ``apps`` (name -> App) the log at ``path``. Returns the result and the runners (name -> AppRunner).
    ``from_snapshot``: start from that snapshot's runners and the log after its seq (``apps`` is then unused).
    ``snapshot_key``: signs the snapshots written and checks the one read (default: from SEQTRADE_SNAPSHOT_SECRET).
    ``snapshot_at`` / ``snapshot_every``: write snapshots into ``snapshot_dir`` after that seq / every N records.
    ``jobs``: replay the apps in up to this many processes (see ``_parallel``); a debugger stop, snapshots and a
    start from a snapshot keep to one process."""
    writes_snapshots = bool(snapshot_dir and (snapshot_every or snapshot_at is not None))
    if jobs > 1 and len(apps) > 1 and break_at is None and not writes_snapshots and not from_snapshot:
        return _parallel(path, apps, verify, until_seq, until_ns, progress, progress_every, jobs)
    reader = LogReader(path, notice=stderr_notice)
    start = 1
    if (from_snapshot or writes_snapshots) and snapshot_key is None:
        snapshot_key = snapshot.env_key()
    if from_snapshot:
        seq, loaded = snapshot.read(from_snapshot, reader.trading_day, snapshot_key)
        runners = {name: _Replaying.resume(r, verify) for name, r in loaded.items()}
        start = seq + 1
    else:
        runners = {name: _Replaying(app, name, verify) for name, app in apps.items()}
    res = Result()
    t0 = time.perf_counter()
    handle = [r.handle for r in runners.values()]
    next_progress = progress_every
    for batch in reader.batches(start):
        first, last = batch[0].seq, batch[-1]
        stops = ((until_seq is not None and last.seq > until_seq) or (until_ns is not None and last.ts > until_ns)
                 or (break_at is not None and first <= break_at <= last.seq))
        snaps = writes_snapshots and ((snapshot_at is not None and first <= snapshot_at <= last.seq) or bool(
            snapshot_every and (first - 1) // snapshot_every != last.seq // snapshot_every))
        if not (stops or snaps):
            for rec in batch:         # nothing stops or snapshots in this batch: the plain loop
                for h in handle:
                    h(rec)
            res.records += len(batch)
            res.last_seq = last.seq
        elif _one_by_one(batch, handle, runners, res, reader.trading_day, until_seq, until_ns, break_at,
                         snapshot_dir, snapshot_every, snapshot_at, snapshot_key):
            break
        if progress and res.records >= next_progress:
            progress(res.records, last, time.perf_counter() - t0)
            next_progress += progress_every
    res.seconds = time.perf_counter() - t0
    res.verified = {n: r.verified for n, r in runners.items()}
    res.mismatches = {n: r.mismatches for n, r in runners.items()}
    res.state_hashes = {n: r.app.state_hash() for n, r in runners.items()}
    return res, runners


def _parallel(path, apps, verify, until_seq, until_ns, progress, progress_every, jobs) -> tuple[Result, dict]:
    """The apps never talk to each other in a replay (each sees the log and checks its own outputs), so they can be
    replayed in separate processes, each reading the log itself: the day is verified in the time of its slowest app
    instead of the sum. Workers are forked (they inherit the apps as built) and send back their result and runners
    (the state ``--until`` prints) or the exception that stopped them. With several divergences the one made at the
    earliest seq is raised, as a single process would have met it first."""
    import multiprocessing
    ctx = multiprocessing.get_context("fork")
    names = list(apps)
    groups = [names[i::jobs] for i in range(min(jobs, len(names)))]
    t0 = time.perf_counter()
    workers = []
    for i, group in enumerate(groups):
        recv, send = ctx.Pipe(duplex=False)
        w = ctx.Process(target=_worker, args=(send, path, {n: apps[n] for n in group}, verify, until_seq, until_ns,
                                              progress if i == 0 else None, progress_every), daemon=True)
        w.start()
        send.close()
        workers.append((w, recv))
    outcomes = []
    for w, recv in workers:
        try:
            outcomes.append(recv.recv())
        except EOFError:
            w.join()
            outcomes.append(("error", WorkerDied(f"replay worker {w.pid} (apps {', '.join(groups[len(outcomes)])}) "
                                                 f"died without a result (exit code {w.exitcode})")))
        w.join()
    errors = [x for kind, x in outcomes if kind == "error"]
    if errors:
        raise min(errors, key=lambda e: getattr(e, "at_seq", 1 << 62))
    res = Result(seconds=time.perf_counter() - t0)
    runners: dict = {}
    for _kind, (r, group_runners) in outcomes:
        res.records, res.last_seq, res.stopped_at = r.records, r.last_seq, r.stopped_at
        res.verified.update(r.verified)
        res.mismatches.update(r.mismatches)
        res.state_hashes.update(r.state_hashes)
        runners.update(group_runners)
    return res, {n: runners[n] for n in names}


def _worker(send, path, apps, verify, until_seq, until_ns, progress, progress_every) -> None:
    try:
        res, runners = replay(path, apps, verify, until_seq, until_ns, progress=progress,
                              progress_every=progress_every)
        out = ("ok", (res, runners))
    except BaseException as e:  # handed to the parent, which raises it
        out = ("error", e)
    try:
        send.send(out)
    except Exception as e:  # an exception that does not pickle: its text still gets through
        send.send(("error", RuntimeError(f"{type(out[1]).__name__}: {out[1]}; ({e})")))
    send.close()


def _one_by_one(batch, handle, runners, res, trading_day, until_seq, until_ns, break_at, snapshot_dir,
                snapshot_every, snapshot_at, snapshot_key=None) -> bool:
    """A batch in which the replay stops, breaks or snapshots: record by record. True when the replay stops."""
    for rec in batch:
        if (until_seq is not None and rec.seq > until_seq) or (until_ns is not None and rec.ts > until_ns):
            res.stopped_at = res.last_seq
            return True
        if break_at is not None and rec.seq == break_at:
            _debug(rec, runners)
        for h in handle:
            h(rec)
        res.records += 1
        res.last_seq = rec.seq
        if snapshot_dir and (rec.seq == snapshot_at or (snapshot_every and rec.seq % snapshot_every == 0)):
            snapshot.write(snapshot_dir, trading_day, rec.seq, runners, snapshot_key)
    return False


def _debug(rec, runners) -> None:
    """Stop before the apps handle ``rec``: ``apps`` (name -> app), ``rec`` and ``state`` are in scope; ``c`` goes
    on exactly as the day went."""
    apps = {n: r.app for n, r in runners.items()}  # noqa: F841 - for the person at the prompt
    state = {n: a.snapshot_state() for n, a in apps.items()}  # noqa: F841
    print(f"replay: stopped before seq {rec.seq} ({rec.msg!r}); in scope: rec, apps, state", file=sys.stderr)
    breakpoint()


def state_json(runners) -> str:
    return json.dumps({n: r.app.snapshot_state() for n, r in runners.items()}, indent=1, sort_keys=True,
                      default=str)
