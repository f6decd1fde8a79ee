"""The positions app on the stream: feeds ``positions.PositionBook`` the client fills the OMS reports (with their busts
and corrections), market data for the marks, and submits PositionUpdate / AccountPnl. Deterministic like the OMS: it
replays and snapshots the same way (``seqtrade replay LOG --apps positions``)."""
from __future__ import annotations

from positions.book import PositionBook
from sequencer.messages import TAG_OF_CLASS
from sequencer.record import Record
from sequencer.rights import TABLE_TYPES, SourceGuard

from .runtime import MachineApp


class PositionsApp(MachineApp):
    name = "positions"

    def __init__(self):
        super().__init__()
        self.book = PositionBook()
        self.machine = self.book
        self._wanted = frozenset(TAG_OF_CLASS[t] for t in PositionBook._handlers)
        self.guard = SourceGuard()

    def on_message(self, rec: Record) -> None:
        if rec.type in TABLE_TYPES:
            self.guard.observe(rec)
        if rec.type in self._wanted:
            if not self.guard.allows(rec):
                self._emit([self.guard.alert(rec)])
                return
            self._emit(self.book.handle(rec.msg, rec.ts, rec.seq))

    def on_timer(self, token) -> None:
        self._emit(self.book.on_timer(token, self.now))

    def snapshot_state(self) -> dict:
        return {**super().snapshot_state(), "state_hash": self.book.state_hash(),
                "positions": {f"{a} {s}": (p.qty, p.cost, p.realized) for (a, s), p in self.book.positions.items()}}
