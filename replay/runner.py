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
from sequencer.log import LogReader

from . import snapshot
from .diff import side_by_side


class Divergence(Exception):
    def __init__(self, err: DeterminismError):
        self.err = err
        super().__init__(f"divergence in app {err.app!r}: output source_seq {err.source_seq}"
                         f"{f', made while handling seq {err.input_seq}' if err.input_seq else ''}\n"
                         f"{side_by_side(err.regenerated, err.recorded)}")


class _Replaying(AppRunner):
    """Every output is compared with the recorded one; nothing is sent anywhere."""

    def __init__(self, app, name: str, strict: bool):
        super().__init__(app, name)
        self.recorded_upto = 1 << 62
        self.strict = strict
        self.mismatches = 0

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


def replay(path: str, apps: dict, verify: bool = True, until_seq: int | None = None, until_ns: int | None = None,
           break_at: int | None = None, progress=None, progress_every: int = 250_000, snapshot_dir: str = "",
           snapshot_every: int = 0, snapshot_at: int | None = None, from_snapshot: str = "") -> tuple[Result, dict]:
    """Feed ``apps`` (name -> App) the log at ``path``. Returns the result and the runners (name -> AppRunner).
    ``from_snapshot``: start from that snapshot's runners and the log after its seq (``apps`` is then unused).
    ``snapshot_at`` / ``snapshot_every``: write snapshots into ``snapshot_dir`` after that seq / every N records."""
    reader = LogReader(path)
    start = 1
    if from_snapshot:
        seq, runners = snapshot.read(from_snapshot, reader.trading_day)
        for r in runners.values():
            r.strict = verify
        start = seq + 1
    else:
        runners = {name: _Replaying(app, name, verify) for name, app in apps.items()}
    res = Result()
    t0 = time.perf_counter()
    handle = [r.handle for r in runners.values()]
    for rec in reader.records(start):
        if (until_seq is not None and rec.seq > until_seq) or (until_ns is not None and rec.ts > until_ns):
            res.stopped_at = res.last_seq
            break
        if break_at is not None and rec.seq == break_at:
            _debug(rec, runners)
        for h in handle:
            h(rec)
        res.records += 1
        res.last_seq = rec.seq
        if snapshot_dir and (rec.seq == snapshot_at or (snapshot_every and rec.seq % snapshot_every == 0)):
            snapshot.write(snapshot_dir, reader.trading_day, rec.seq, runners)
        if progress and res.records % progress_every == 0:
            progress(res.records, rec, time.perf_counter() - t0)
    res.seconds = time.perf_counter() - t0
    res.verified = {n: r.verified for n, r in runners.items()}
    res.mismatches = {n: r.mismatches for n, r in runners.items()}
    return res, runners


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
