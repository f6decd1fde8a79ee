"""The OMS as an app on the stream: feeds ``oms.OrderManager`` and submits what it decides."""
from __future__ import annotations

from oms.manager import OrderManager
from sequencer.messages import TAG_OF_CLASS, DayStart
from sequencer.record import Record

from .runtime import MachineApp


_DAY_START = TAG_OF_CLASS[DayStart]


class OmsApp(MachineApp):
    name = "oms"

    def __init__(self):
        super().__init__()
        self.om = OrderManager()
        self.watch(self.om)

    def on_message(self, rec: Record) -> None:
        if not self.feed(rec) and rec.type == _DAY_START:
            self.schedule_close(rec)

    def on_timer(self, token) -> None:
        if token == self.EOD:
            self.on_close()
            return
        self._emit(self.om.on_timer(token, self.now))

    def snapshot_state(self) -> dict:
        from dataclasses import asdict
        return {**super().snapshot_state(),
                "parents": [asdict(p) for p in self.om.parents.values()],
                "children": [asdict(c) for c in self.om.children.values()],
                "exposure": dict(self.om.risk.exposure), "killed": dict(self.om.risk.killed)}
