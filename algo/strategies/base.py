"""What every strategy can be told. A strategy acts only through ``self.ctx`` (see algo/container.py)."""
from __future__ import annotations

from oms.params import parse_params
from oms.rules import is_buy

SECOND = 1_000_000_000


class Strategy:
    wants_trades = False   # set for subclasses that override on_trade: the container skips the call for the others
    venue_quotes = True    # False: on_quote only looks at the NBBO (venue ""), so venues' own quotes are not passed

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        cls.wants_trades = cls.on_trade is not Strategy.on_trade

    def __init__(self, ctx):
        self.ctx = ctx
        self.p = ctx.parent
        self.params = parse_params(self.p.strategy, self.p.params)

    def on_start(self) -> None: ...
    def on_timer(self, token) -> None: ...
    def on_quote(self, symbol: str, venue: str) -> None: ...
    def on_trade(self, symbol: str, venue: str, px: int, qty: int) -> None: ...
    def on_fill(self, child, qty: int, px: int) -> None: ...
    def on_child_closed(self, child) -> None: ...
    def on_parent_changed(self) -> None: ...

    def state(self) -> dict:
        """What a person debugging a replay wants to see (JSON-friendly)."""
        return {k: v for k, v in vars(self).items() if k not in ("ctx", "p") and isinstance(v, (int, str, list))}

    # -- shared working tactics -------------------------------------------------------------------------------
    def passive(self):
        return [c for c in self.ctx.children() if c.passive]

    def keep_passive(self, desired: int) -> None:
        """One resting child at the near touch for up to ``desired`` shares: cancel it if it is off the touch or
        larger than wanted (it is re-posted on a later wake), post one if there is none."""
        near, _ = self.ctx.near_far()
        near = self.ctx.within_limit(near) if near else 0
        resting = self.passive()
        for c in resting:
            if c.px != near or c.open_qty > max(desired, 0):
                self.ctx.cancel(c)
        if not resting and desired > 0 and near:
            self.ctx.post(desired, near)

    def reprice_on_quote(self, symbol: str, venue: str) -> None:
        """When the near touch moves away from a resting child (the market left it behind), move it to the new touch.
        If the touch comes to it, it stays: it is at the front of the market and about to trade."""
        if venue or symbol != self.p.symbol:
            return
        near, _ = self.ctx.near_far()
        near = self.ctx.within_limit(near) if near else 0
        buy = is_buy(self.p.side)
        for c in self.passive():
            if near and (near > c.px if buy else near < c.px):
                self.ctx.replace(c, c.qty, near)
