"""VWAP and TWAP: follow a schedule of cumulative quantity due by each moment between start and end time.

Each wake (every ``interval_s``): if the order is behind the schedule by more than ``tol_bp`` of its quantity, cross
the spread for the shortfall; otherwise rest one child at the near touch for what the schedule wants by the next wake
(plus the tolerance, never more: the order does not get ahead beyond it). In the last interval it takes whatever is
left, so it finishes by the end time wherever the limit allows.
"""
from __future__ import annotations

from .base import SECOND, Strategy

CATCH_UP = 2 * SECOND


class ScheduledStrategy(Strategy):
    venue_quotes = False   # on_quote reprices against the NBBO only

    def __init__(self, ctx):
        super().__init__(ctx)
        self.interval = self.params["interval_s"] * SECOND
        self.wakes = 0
        self.took = 0          # shares sent to take liquidity (a measure of how often it had to cross)

    def target(self, t: int) -> int:
        raise NotImplementedError

    def next_wake(self, now: int) -> int:
        end = self.p.end_ns
        if now >= end - self.interval:  # final interval: check often
            return now + max(self.interval // 6, SECOND)
        return now + self.interval

    def on_start(self) -> None:
        self.wake()

    def on_timer(self, token) -> None:
        if token == "catch-up":
            self.act(self.ctx.now)
        elif token == "deadline":
            self.act(self.ctx.now, strict=True)
        else:
            self.wake()

    def on_parent_changed(self) -> None:
        self.wake()

    def on_quote(self, symbol: str, venue: str) -> None:
        self.reprice_on_quote(symbol, venue)

    def wake(self) -> None:
        ctx, p = self.ctx, self.p
        self.wakes += 1
        self.act(ctx.now)
        nxt = self.next_wake(ctx.now)
        if nxt < p.end_ns:
            ctx.schedule(nxt, "slice")

    def act(self, now: int, strict: bool = False) -> None:
        """``strict``: no tolerance; whatever is due now is taken."""
        ctx, p = self.ctx, self.p
        near, far = ctx.near_far()
        if ctx.halted() or not near or not far or not p.leaves:
            return
        tol = 0 if strict else p.qty * self.params["tol_bp"] // 10_000
        due = self.target(now)
        behind = due - p.cum_qty
        if now >= p.end_ns - self.interval:
            behind, tol = p.leaves, 0
        if behind > tol:
            for c in self.passive():
                ctx.cancel(c)
            self.took += ctx.take(behind)
            ctx.schedule(now + CATCH_UP, "catch-up")  # the touch holds only so much: come back soon for the rest
            return
        self.keep_passive(min(self.ahead_target(now, tol), p.qty) - p.cum_qty)

    def ahead_target(self, now: int, tol: int) -> int:
        """How far the order may have got by the time what rests now fills: by default what is due by the next
        wake, plus the tolerance."""
        return self.target(now + self.interval) + tol

    def state(self) -> dict:
        return {**super().state(), "due_now": self.target(self.ctx.now)}


class VwapStrategy(ScheduledStrategy):
    """Schedule: the symbol's intraday volume curve between start and end time."""

    def target(self, t: int) -> int:
        part, whole = self.ctx.curve_share(self.p.start_ns, min(t, self.p.end_ns))
        return self.p.qty * part // whole if whole else self.p.qty


class TwapStrategy(ScheduledStrategy):
    """Schedule: equal slices; each slice's moment is moved by up to half a slice by a seeded draw, so the order does
    not trade at predictable times (the seed is the order's own sequence number: a replay draws the same). A slice
    rests at the near touch first; a third of a slice later whatever of it has not filled is taken."""

    def __init__(self, ctx):
        super().__init__(ctx)
        p = self.p
        self.n = max(min((p.end_ns - p.start_ns) // self.interval, 10_000), 1)
        length = (p.end_ns - p.start_ns) // self.n
        self.slice_at = [p.start_ns + i * length + ctx.rng.below(length // 2 + 1) for i in range(self.n)]
        self.deadline = length // 3

    def on_start(self) -> None:
        for at in self.slice_at:
            if at + self.deadline < self.p.end_ns:
                self.ctx.schedule(at + self.deadline, "deadline")
        super().on_start()

    def target(self, t: int) -> int:
        k = sum(1 for at in self.slice_at if at <= t)
        return self.p.qty * k // self.n

    def ahead_target(self, now: int, tol: int) -> int:
        return self.target(now)  # only the slice that is due, never ahead: slices stay even

    def next_wake(self, now: int) -> int:
        later = [at for at in self.slice_at if at > now]
        if later and later[0] < self.p.end_ns - self.interval:
            return later[0]
        return super().next_wake(now)
