"""The algo container as an app on the stream: feeds ``algo.AlgoContainer`` and submits what it decides."""
from __future__ import annotations

from algo.container import AlgoContainer
from sequencer.messages import TAG_OF_CLASS, DayStart
from sequencer.record import Record

from .runtime import MachineApp


_DAY_START = TAG_OF_CLASS[DayStart]


class AlgoApp(MachineApp):
    name = "algo"

    def __init__(self, **settings):
        super().__init__()
        self.box = AlgoContainer(**settings)
        self.watch(self.box)

    def on_message(self, rec: Record) -> None:
        if self.feed(rec) and rec.type == _DAY_START:
            self.schedule_close(rec)   # strategies stop at the close, as the OMS cancels back

    def on_timer(self, token) -> None:
        if token == self.EOD:
            self.on_close()
            return
        self._emit(self.box.on_timer(token, self.now))

    def snapshot_state(self) -> dict:
        from dataclasses import asdict
        return {**super().snapshot_state(),
                "parents": [asdict(p) for p in self.box.parents.values()],
                "children": [asdict(c) for c in self.box.children.values()],
                "strategies": {oid: s.state() for oid, s in self.box.strategies.items()}}
