"""POV: trade a target share (``ParticipationRate``, 849) of the volume printed since the order started.

Volume counts every print on the tape, ours included (the usual definition). The order stays within
[``min_bp``, ``max_bp``] of that volume: below the band it crosses the spread for the shortfall; otherwise it rests
at the near touch, never with more open than would take it above ``max_bp`` of the volume already seen.
"""
from __future__ import annotations

from .base import SECOND, Strategy


class PovStrategy(Strategy):
    venue_quotes = False   # on_quote reprices against the NBBO only

    def __init__(self, ctx):
        super().__init__(ctx)
        rate = self.p.participation_bp
        self.rate = rate
        self.min_bp = self.params["min_bp"] or rate * 8 // 10
        self.max_bp = self.params["max_bp"] or rate
        self.interval = self.params["interval_s"] * SECOND
        self.base_volume = 0
        self.volume = 0

    def on_start(self) -> None:
        self.base_volume = self.ctx.md.volume.get(self.p.symbol, 0)
        self.on_timer("poll")

    def on_timer(self, token) -> None:
        self.act()
        self.ctx.schedule(self.ctx.now + self.interval, "poll")

    def on_trade(self, symbol: str, venue: str, px: int, qty: int) -> None:
        if symbol == self.p.symbol:
            self.act()

    def on_quote(self, symbol: str, venue: str) -> None:
        self.reprice_on_quote(symbol, venue)

    def on_parent_changed(self) -> None:
        self.act()

    def act(self) -> None:
        ctx, p = self.ctx, self.p
        self.volume = ctx.md.volume.get(p.symbol, 0) - self.base_volume
        near, far = ctx.near_far()
        if ctx.halted() or not near or not far or not p.leaves:
            return
        cap = self.volume * self.max_bp // 10_000
        floor = self.volume * self.min_bp // 10_000
        target = self.volume * self.rate // 10_000
        kids = ctx.children()  # once: this runs on every print of the symbol
        passive = [c for c in kids if c.passive]
        open_take = sum(c.open_qty for c in kids if not c.passive)
        clip = ctx.round_lot  # trade in round lots: thousands of odd-lot children cost more than they help
        if p.cum_qty < floor:
            want = min(target, cap) - p.cum_qty - open_take
            if want >= clip:
                for c in passive:
                    ctx.cancel(c)
                ctx.take(want)
            return
        room = cap - p.cum_qty - open_take
        if room >= clip or any(c.open_qty > room for c in passive):
            self.keep_passive(room)
