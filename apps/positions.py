"""The positions app on the stream: feeds ``positions.PositionBook`` the client fills the OMS reports (with their busts
and corrections), market data for the marks, and submits PositionUpdate / AccountPnl. Deterministic like the OMS: it
replays and snapshots the same way (``seqtrade replay LOG --apps positions``)."""
from __future__ import annotations

from positions.book import PositionBook
from sequencer.record import Record

from .runtime import MachineApp


class PositionsApp(MachineApp):
    name = "positions"

    def __init__(self):
        super().__init__()
        self.book = PositionBook()
        self.watch(self.book)

    def on_message(self, rec: Record) -> None:
        self.feed(rec)

    def on_timer(self, token) -> None:
        self._emit(self.book.on_timer(token, self.now))

    def snapshot_state(self) -> dict:
        return {**super().snapshot_state(), "state_hash": self.book.state_hash(),
                "positions": {f"{a} {s}": (p.qty, p.cost, p.realized) for (a, s), p in self.book.positions.items()}}
