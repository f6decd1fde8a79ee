"""LIMIT (DMA-like): work a limit order. Whatever the venues show at or better than the limit is taken at once,
best venues first; the rest rests at the limit on the best venue for it. When the market comes through the limit
again, the resting child is taken back and the liquidity taken.

With TimeInForce IOC: take what every venue shows within the limit, at once (IOC children), and give back the rest
as soon as they are all answered. With FOK: one FOK child for the whole quantity to the venue that shows it all
within the limit, or nothing; whatever it does not fill is given back. Neither ever rests."""
from __future__ import annotations

from oms.params import IMMEDIATE, TIF_NAMES
from sequencer.fixvalues import TimeInForce

from .base import Strategy


class LimitStrategy(Strategy):
    def on_start(self) -> None:
        if self.p.tif in IMMEDIATE:
            self.at_once()
        else:
            self.act()

    def on_quote(self, symbol: str, venue: str) -> None:
        if self.p.tif not in IMMEDIATE:
            self.act()

    def on_child_closed(self, child) -> None:
        if self.p.tif in IMMEDIATE:
            if self.p.leaves and self.ctx.open_qty() == 0:
                self.ctx.end(f"{TIF_NAMES[self.p.tif]}: the rest canceled, not filled at once")
        else:
            self.act()

    def on_parent_changed(self) -> None:
        if self.p.tif not in IMMEDIATE:
            self.act()

    def at_once(self) -> None:
        ctx, p = self.ctx, self.p
        name = TIF_NAMES[p.tif]
        if ctx.halted():
            ctx.end(f"{name}: {p.symbol} is halted, nothing could execute")
        elif p.tif == TimeInForce.FILL_OR_KILL:
            if not ctx.fill_or_kill(p.leaves):
                ctx.end(f"{name}: no venue shows the whole {p.leaves} within the limit")
        elif not ctx.take(p.leaves, share_pct=100):
            ctx.end(f"{name}: nothing shown within the limit")

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
