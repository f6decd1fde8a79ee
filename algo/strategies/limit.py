"""LIMIT (DMA-like): work a limit order. Whatever the venues show at or better than the limit is taken at once,
best venues first; the rest rests at the limit on the best venue for it. When the market comes through the limit
again, the resting child is taken back and the liquidity taken."""
from __future__ import annotations

from .base import Strategy


class LimitStrategy(Strategy):
    def on_start(self) -> None:
        self.act()

    def on_quote(self, symbol: str, venue: str) -> None:
        self.act()

    def on_child_closed(self, child) -> None:
        self.act()

    def on_parent_changed(self) -> None:
        self.act()

    def act(self) -> None:
        ctx, p = self.ctx, self.p
        if ctx.halted() or not p.leaves:
            return
        _, far = ctx.near_far()
        crosses = far and (not p.limit or ctx.within_limit(far) == far)
        resting = self.passive()
        if crosses:
            if resting:
                for c in resting:
                    ctx.cancel(c)
                return  # take once the quantity is free
            if ctx.open_qty() == 0:
                ctx.take(p.leaves)
            return
        if not resting and ctx.open_qty() == 0 and p.limit:
            ctx.post(p.leaves, p.limit)
