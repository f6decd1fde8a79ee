"""An edge process's link to the sequencer (FIX gateways): the day's stream from seq 1 to rebuild state, then live;
submissions numbered on from what the log already has; after a lost connection it reconnects with backoff, resumes
the stream where it stopped, and resends whatever it submitted that never came back sequenced.

Unlike a deterministic app, an edge's outputs are records of the outside world (a client's order, a venue's fill),
so there is nothing to verify on replay: the log is the truth and the edge numbers on from it.
"""
from __future__ import annotations

import asyncio
import sys

from . import messages
from .client import SequencerError, connect


class EdgeClient:
    def __init__(self, name: str, password: str, host: str, port: int, on_records, notice=None):
        self.name, self.password, self.host, self.port = name, password, host, port
        self.on_records = on_records
        self.notice = notice or (lambda m: print(f"{name}: {m}", file=sys.stderr, flush=True))
        self.caught_up = asyncio.Event()
        self.next_seq = 1
        self.sseq = 0
        self.pending: dict[int, tuple[int, bytes]] = {}   # submitted, not yet seen sequenced
        self.conn = None
        self.fatal: BaseException | None = None
        self._stop = asyncio.Event()

    def submit(self, msg: messages.Msg) -> int:
        """Numbers and sends ``msg``. It is encoded first: a message that cannot be encoded raises here and takes no
        number, so later submissions are not refused as a gap."""
        item = (messages.tag_of(msg), messages.encode(msg))
        self.sseq += 1
        self.pending[self.sseq] = item
        if self.conn is not None and not self.conn.closed:
            self.conn.submit(self.sseq, *item)
        return self.sseq

    def flush(self) -> None:
        if self.conn is not None and not self.conn.closed:
            self.conn.flush()

    def _records(self, recs) -> None:
        if self.fatal is not None:
            return
        fresh = [r for r in recs if r.seq >= self.next_seq]
        if not fresh:
            return
        self.next_seq = fresh[-1].seq + 1
        for r in fresh:
            if r.source == self.name:
                self.pending.pop(r.source_seq, None)
        try:
            self.on_records(fresh)
        except Exception as e:  # a bug in the edge: stop rather than send on from a state nobody can trust
            self.fatal = e
            self._stop.set()

    def _caught_up(self, seq: int) -> None:
        if not self.caught_up.is_set():
            self.notice(f"caught up with the stream at seq {seq}")
            from .notify import ready
            ready(f"caught up at seq {seq}")
            self.caught_up.set()

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        backoff = 0.05
        first = True
        stopper = asyncio.ensure_future(stop.wait())
        while not stop.is_set() and not self._stop.is_set():
            lost = loop.create_future()
            try:
                conn, welcome = await connect(self.host, self.port, self.name, self.password,
                                              on_records=self._records, on_caught_up=self._caught_up,
                                              on_lost=lambda exc, f=lost: f.done() or f.set_result(exc))
            except (OSError, SequencerError) as e:
                self.notice(f"cannot reach the sequencer at {self.host}:{self.port}: {e}; retrying in {backoff:.2f}s")
                await asyncio.wait([stopper], timeout=backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            backoff = 0.05
            if first:
                self.sseq = max(self.sseq, welcome.last_source_seq)
                first = False
            for sseq in sorted(self.pending):  # what the sequencer never got before the connection dropped
                if sseq > welcome.last_source_seq:
                    conn.submit(sseq, *self.pending[sseq])
            self.conn = conn
            conn.subscribe(self.next_seq)
            conn.flush()
            inner_stop = asyncio.ensure_future(self._stop.wait())
            await asyncio.wait([lost, stopper, inner_stop], return_when=asyncio.FIRST_COMPLETED)
            inner_stop.cancel()
            self.conn = None
            if stop.is_set() or self._stop.is_set():
                conn.close()
            else:
                self.notice(f"lost the sequencer ({lost.result()}); reconnecting")
        stopper.cancel()
        if self.fatal is not None:
            raise self.fatal
