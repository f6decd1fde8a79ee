"""Runs one deterministic app as a process connected to the sequencer over TCP.

On start and after every lost connection it connects (with backoff), learns what of its output the log already has,
subscribes from the next seq it needs, and resends outputs the sequencer never got. The first connection of a new
process subscribes from seq 1 (recovery is replay), or, with a snapshot directory, from the seq after the latest
snapshot of the day (``live_snapshots.py``).
"""
from __future__ import annotations

import asyncio
import importlib
import signal
import sys

from sequencer.client import SequencerError, connect

from .live_snapshots import LiveSnapshots
from .runtime import App, AppRunner, DeterminismError, StreamGap


def load_app_class(spec: str) -> type[App]:
    """``"package.module:ClassName"`` to the class, with a clear error."""
    mod_name, _, cls_name = spec.partition(":")
    if not cls_name:
        raise ValueError(f"app class {spec!r} must look like 'package.module:ClassName'")
    try:
        cls = getattr(importlib.import_module(mod_name), cls_name)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"cannot load app class {spec!r}: {e}") from None
    if not (isinstance(cls, type) and issubclass(cls, App)):
        raise ValueError(f"{spec!r} is not an App subclass")
    return cls


class AppHost:
    def __init__(self, app: App, name: str, password: str, host: str, port: int, notice=None,
                 snapshot_dir: str = "", snapshot_every: int = 100_000):
        self.runner = AppRunner(app, name)
        self.name, self.password, self.host, self.port = name, password, host, port
        self.notice = notice or (lambda m: print(f"{name}: {m}", file=sys.stderr, flush=True))
        self.snapshots = LiveSnapshots(snapshot_dir, snapshot_every, name, self.notice, password) \
            if snapshot_dir else None
        self.stop = asyncio.Event()
        self.fatal: BaseException | None = None
        self.caught_up = asyncio.Event()
        self.conn = None

    def _on_records(self, recs):
        if self.fatal is not None:
            return
        try:
            self.runner.handle_all(recs)
        except (DeterminismError, StreamGap) as e:
            self._die(e)
            return
        except Exception as e:  # an app bug: stop rather than run on with state nobody can trust
            self._die(e)
            return
        if self.snapshots is not None:
            self.snapshots.maybe_write(self.runner)

    def _die(self, e: BaseException):
        self.fatal = e
        self.stop.set()

    def _on_caught_up(self, seq: int):
        if not self.caught_up.is_set():
            self.notice(f"caught up at seq {seq} ({self.runner.verified} outputs verified against the log); live")
            from sequencer.notify import ready
            ready(f"caught up at seq {seq}")
        self.caught_up.set()

    async def _report_progress(self, conn, every_s: float = 0.25) -> None:
        """The seq this app has processed, to the sequencer, when it moved (``cluster status`` shows the real lag)."""
        told = 0
        while True:
            done = self.runner.next_seq - 1
            if done != told:
                conn.progress(done)
                told = done
            await asyncio.sleep(every_s)

    async def run(self, max_backoff: float = 2.0) -> None:
        loop = asyncio.get_running_loop()
        backoff = 0.05
        while not self.stop.is_set():
            lost = loop.create_future()

            def on_lost(exc, lost=lost):
                if not lost.done():
                    lost.set_result(exc)
            try:
                conn, welcome = await connect(self.host, self.port, self.name, self.password,
                                              on_records=self._on_records, on_caught_up=self._on_caught_up,
                                              on_lost=on_lost)
            except (OSError, SequencerError) as e:
                self.notice(f"cannot reach the sequencer at {self.host}:{self.port}: {e}; retrying in {backoff:.2f}s")
                try:
                    await asyncio.wait_for(self.stop.wait(), backoff)
                except asyncio.TimeoutError:
                    pass
                backoff = min(backoff * 2, max_backoff)
                continue
            backoff = 0.05
            if welcome.note:
                self.notice(f"the sequencer cut the previous connection: {welcome.note}")
            self.conn = conn
            if self.snapshots is not None and self.runner.next_seq == 1:
                self.runner = self.snapshots.restore(self.runner, welcome.trading_day, welcome.head_seq)
            self.runner.send = conn.submit
            try:
                self.runner.connected(welcome.last_source_seq, welcome.head_seq)
            except StreamGap as e:
                self._die(e)
                conn.close()
                break
            conn.subscribe(self.runner.next_seq)
            stopping = asyncio.ensure_future(self.stop.wait())
            reporter = asyncio.ensure_future(self._report_progress(conn))
            await asyncio.wait([lost, stopping], return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            reporter.cancel()
            self.runner.send = lambda *a: None  # kept in runner.pending; resent after reconnecting
            self.conn = None
            if self.stop.is_set():
                conn.close()
            else:
                self.notice(f"lost the sequencer ({lost.result()}); reconnecting")
        if self.fatal is not None:
            raise self.fatal
        if self.snapshots is not None:
            self.snapshots.close(self.runner)


def run_process(app: App, name: str, password: str, host: str, port: int, snapshot_dir: str = "",
                snapshot_every: int = 100_000) -> int:
    """Entry point for ``seqtrade app run``: runs until SIGTERM/SIGINT. Exit code 0, or 3 on a fatal app error."""
    async def main():
        h = AppHost(app, name, password, host, port, snapshot_dir=snapshot_dir, snapshot_every=snapshot_every)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, h.stop.set)
        await h.run()
    try:
        asyncio.run(main())
    except (DeterminismError, StreamGap) as e:
        print(f"{name}: FATAL: {e}", file=sys.stderr, flush=True)
        return 3
    except Exception:  # a bug in the app's own code: its traceback is what a developer needs
        import traceback
        traceback.print_exc()
        print(f"{name}: FATAL: the app raised; stopped so that it never runs on with broken state", file=sys.stderr)
        return 3
    return 0
