"""A whole cluster in one process, over an in-memory transport, fully deterministic.

It uses the same sequencing core and log writer as the TCP server (a real log file, fsync off) and the same
``AppRunner`` as a live app process; only the transport differs: submissions go into a queue, and each committed
batch is parsed back from its bytes, exactly as a TCP subscriber parses them, and handed to every app in a fixed
order. Time is whatever the test says it is (``advance``).
"""
from __future__ import annotations

from sequencer import messages, record, rights
from sequencer.core import SequencerCore
from sequencer.log import LogReader, LogWriter, log_path

from .runtime import App, AppRunner


class MemoryCluster:
    def __init__(self, data_dir: str, trading_day: str = "20260102", start_ns: int = 0, validate: bool = True,
                 close_ns: int = 0, open_ns: int = 0, roles: dict | None = None, enforce: bool = True):
        """``roles``: source -> its roles (``sequencer/rights.py``): the rights table goes into DayStart and, with
        ``enforce``, the core refuses what a source may not send, as the sequencer does. None: no rights at all."""
        self.path = log_path(data_dir, trading_day)
        self.log = LogWriter(self.path, trading_day, fsync="never", notice=lambda m: None)
        table = {src: rights.tags_of(r) for src, r in sorted(roles.items())} if roles is not None else None
        self.core = SequencerCore(self.log, validate, table if enforce else None)
        self.now = max(start_ns, self.log.last_ts)
        self.runners: list[AppRunner] = []
        self._queue: list[tuple[str, int, int, bytes]] = []
        self._input_seq: dict[str, int] = {}
        if self.log.last_seq == 0:
            self.core.emit(messages.DayStart(trading_day, open_ns=open_ns, close_ns=close_ns,
                                             rights={s: sorted(t) for s, t in (table or {}).items()}), self.now)
        self.delivered = 0

    def add(self, app: App, name: str | None = None) -> AppRunner:
        """Attach an app. It replays whatever the log already holds, checking its outputs, before going live."""
        name = name or app.name
        runner = AppRunner(app, name, send=lambda s, t, p, n=name: self._queue.append((n, s, t, p)))
        runner.connected(self.core.last_source_seq(name), self.log.committed_seq)
        self.runners.append(runner)
        for rec in self.history(runner.next_seq):
            runner.handle(rec)
        return runner

    def history(self, from_seq: int):
        self.log.commit()
        return LogReader(self.path).records(from_seq)

    def inject(self, source: str, msg: messages.Msg) -> None:
        """An input from outside the apps (what a gateway would submit)."""
        sseq = self._input_seq.get(source, self.core.last_source_seq(source)) + 1
        self._input_seq[source] = sseq
        self._queue.append((source, sseq, messages.tag_of(msg), messages.encode(msg)))

    def advance(self, to_ns: int, clock_record: bool = True) -> None:
        """Move sequenced time forward; a Clock record lets timers due by then fire."""
        self.now = max(self.now, to_ns)
        if clock_record:
            self.core.emit(messages.Clock(), self.now)
        self.run()

    def run(self, max_rounds: int = 1_000_000) -> int:
        """Sequence and deliver until nothing is left to do. Returns how many records were delivered."""
        delivered = 0
        for _ in range(max_rounds):
            queue, self._queue = self._queue, []
            for source, sseq, typ, payload in queue:
                self.core.sequence(source, [(sseq, typ, payload)], self.now)
            data = self.core.commit()
            if not data:
                return delivered
            recs, _ = record.parse(data)
            for rec in recs:
                for runner in self.runners:
                    runner.handle(rec)
            delivered += len(recs)
            self.delivered += len(recs)
        raise RuntimeError("cluster did not settle: apps keep producing outputs")

    def close(self) -> None:
        self.log.close()
