"""Snapshots of a live app process: written every N records and at a clean stop, read back at start-up.

A process started with a snapshot directory restores its runner (the app, its timers, its position on the stream and
its not-yet-sequenced outputs) from the latest snapshot of the day and subscribes from the seq after it, instead of
replaying the day from seq 1. The recovery rules do not change: outputs it regenerates that the log already has are
compared byte for byte, outputs the log lacks are sent.

The snapshot is written by a forked child: the fork copies the process's memory copy-on-write, so the app goes on
handling records while the child pickles and writes the state as it was at that seq. The stream pauses only for the
fork itself (measured and logged). The files are ``replay/snapshot.py``'s, so ``seqtrade replay --from-snapshot``
can start from a production snapshot too.

Anything wrong with a snapshot (damaged, another day, another app, ahead of the log) is reported and the process falls
back to replay from seq 1, which always remains correct.
"""
from __future__ import annotations

import os
import sys
import time
import traceback

from . import snapshot

from .runtime import AppRunner

KEEP = 3  # snapshots kept per app and day: the newest might be the one that turns out damaged


class LiveSnapshots:
    def __init__(self, dir: str, every: int, name: str, notice, secret: str):
        self.dir = os.path.join(dir, name)  # apps may share the configured directory; each keeps its own files
        self.key = snapshot.key_for(secret)  # the app's own secret signs its snapshots
        self.every, self.name, self.notice = every, name, notice
        self.trading_day = ""
        self.last_seq = 0          # seq of the newest snapshot written or restored
        self._child = None         # (pid, seq, started, fork pause) of the writer in progress

    # -- start-up -----------------------------------------------------------------------------------------------
    def restore(self, runner: AppRunner, trading_day: str, head_seq: int) -> AppRunner:
        """The runner to use: one loaded from the newest usable snapshot of the day, or ``runner`` itself (fresh,
        replays from seq 1) if there is none."""
        self.trading_day = trading_day
        paths = snapshot.all_of(self.dir, trading_day)
        for path in reversed(paths):
            t0 = time.perf_counter()
            try:
                seq, loaded = self._load(path, runner, head_seq)
            except Exception as e:  # unreadable, damaged, unpicklable, stale: all mean "not usable"; older ones remain
                why = str(e) if str(e).startswith(path) else f"{path}: {type(e).__name__}: {e}"
                self.notice(f"cannot use snapshot {why}")
                continue
            self.last_seq = seq
            self.notice(f"restored from snapshot {os.path.basename(path)} at seq {seq} in "
                        f"{(time.perf_counter() - t0) * 1e3:.0f} ms; the log's tail follows")
            return loaded
        self.notice(f"no usable snapshot of {trading_day} in {self.dir}; replaying from seq 1")
        return runner

    def _load(self, path: str, runner: AppRunner, head_seq: int) -> tuple[int, AppRunner]:
        seq, runners = snapshot.read(path, self.trading_day, self.key)
        loaded = runners.get(self.name)
        if set(runners) != {self.name} or type(loaded.app) is not type(runner.app):
            raise snapshot.SnapshotError(f"{path}: a snapshot of {', '.join(sorted(runners))} "
                                         f"({', '.join(type(r.app).__name__ for r in runners.values())}), not of "
                                         f"app {self.name!r} ({type(runner.app).__name__})")
        if seq > head_seq:
            raise snapshot.SnapshotError(f"{path}: taken at seq {seq} but the sequencer's log ends at seq {head_seq}")
        return seq, loaded

    # -- while running ------------------------------------------------------------------------------------------
    def maybe_write(self, runner: AppRunner) -> None:
        """After a batch of records: start a background snapshot if ``every`` records went by since the last one.
        A failing snapshot (disk full, say) is reported and never stops the app: the log remains its recovery."""
        try:
            self._reap(block=False)
            seq = runner.next_seq - 1
            if self._child is None and seq >= self.last_seq + self.every and self.trading_day:
                self._fork(runner, seq)
        except OSError as e:
            self.notice(f"snapshot problem: {e}; the app runs on, recovery falls back to an older snapshot or seq 1")

    def close(self, runner: AppRunner) -> None:
        """At a clean stop: wait for a writer in progress, then write one at the last seq handled, in the foreground."""
        self._reap(block=True)
        seq = runner.next_seq - 1
        if self.trading_day and seq > self.last_seq:
            t0 = time.perf_counter()
            snapshot.write(self.dir, self.trading_day, seq, {self.name: runner}, self.key)
            self.last_seq = seq
            snapshot.prune(self.dir, self.trading_day, KEEP)
            self.notice(f"snapshot at seq {seq} written at stop in {(time.perf_counter() - t0) * 1e3:.0f} ms")

    def _fork(self, runner: AppRunner, seq: int) -> None:
        t0 = time.perf_counter()
        pid = os.fork()
        if pid == 0:  # the child: write the state as of this seq and leave without touching the parent's loop
            code = 0
            try:
                snapshot.write(self.dir, self.trading_day, seq, {self.name: runner}, self.key)
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                sys.stderr.flush()
                os._exit(code)
        self._child = (pid, seq, t0, time.perf_counter() - t0)

    def _reap(self, block: bool) -> None:
        if self._child is None:
            return
        pid, seq, t0, pause = self._child
        done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
        if done == 0:
            return
        self._child = None
        if os.waitstatus_to_exitcode(status) != 0:
            self.notice(f"snapshot at seq {seq} FAILED (see the traceback above); the last good one stays at seq "
                        f"{self.last_seq}")
            return
        self.last_seq = seq
        snapshot.prune(self.dir, self.trading_day, KEEP)
        self.notice(f"snapshot at seq {seq} written in {(time.perf_counter() - t0) * 1e3:.0f} ms in the background; "
                    f"the stream paused {pause * 1e3:.1f} ms for the fork")
