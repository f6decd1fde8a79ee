"""Two small apps that exercise the whole spine: the demo and the tests use them.

``PingApp`` sends ``Ping(n)`` every ``interval_ms`` of sequenced time, ``count`` times, starting at the first record
it sees; ``PongApp`` answers every Ping it sees sequenced with a ``Pong`` naming the Ping's seq. Both are deterministic,
so killed at any point and restarted, they regenerate the same outputs and the log ends with each Ping and each Pong
exactly once.
"""
from __future__ import annotations

from sequencer.messages import PRICE_SCALE, Ping, Pong
from sequencer.record import Record

from .runtime import App

PING_TYPE = Ping.__struct_config__.tag


class PingApp(App):
    name = "ping"

    def __init__(self, count: int = 100, interval_ms: int = 10):
        super().__init__()
        self.count = count
        self.interval_ns = interval_ms * 1_000_000
        self.sent = 0
        self.started = False

    def on_message(self, rec: Record) -> None:
        if not self.started:
            self.started = True
            self.timers.schedule(rec.ts + self.interval_ns, "ping")

    def on_timer(self, token) -> None:
        self.sent += 1
        # a price that moves, so log dump shows decimals
        self.submit(Ping(self.sent, px=100 * PRICE_SCALE + self.sent * 12_500))
        if self.sent < self.count:
            self.timers.schedule(self.now + self.interval_ns, "ping")

    def snapshot_state(self) -> dict:
        return {**super().snapshot_state(), "sent": self.sent, "count": self.count}


class PongApp(App):
    name = "pong"

    def __init__(self):
        super().__init__()
        self.answered = 0

    def on_message(self, rec: Record) -> None:
        if rec.type == PING_TYPE:
            self.answered += 1
            self.submit(Pong(rec.msg.n, ping_seq=rec.seq))

    def snapshot_state(self) -> dict:
        return {**super().snapshot_state(), "answered": self.answered}
