"""The OMS as an app on the stream: feeds ``oms.OrderManager`` and submits what it decides."""
from __future__ import annotations

from oms.manager import OrderManager
from sequencer.messages import TAG_OF_CLASS, DayStart
from sequencer.record import Record
from sequencer.rights import TABLE_TYPES, SourceGuard

from .runtime import MachineApp


_DAY_START = TAG_OF_CLASS[DayStart]


class OmsApp(MachineApp):
    name = "oms"

    def __init__(self):
        super().__init__()
        self.om = OrderManager()
        self.machine = self.om
        # decode only what the OMS handles: most of the stream (quotes for other apps, clocks) is skipped by tag
        self._wanted = frozenset(TAG_OF_CLASS[t] for t in OrderManager._handlers)
        self.guard = SourceGuard()     # who may send what, as the stream says (sequencer/rights.py)

    def on_message(self, rec: Record) -> None:
        if rec.type in TABLE_TYPES:
            self.guard.observe(rec)
        if rec.type in self._wanted:
            if not self.guard.allows(rec):
                self._emit([self.guard.alert(rec)])
                return
            self._emit(self.om.handle(rec.msg, rec.ts, rec.seq))
        elif rec.type == _DAY_START:
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
