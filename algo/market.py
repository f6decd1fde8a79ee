"""Market data as the container keeps it from the sequenced Quote/Trade/SymbolStatus records."""
from __future__ import annotations

from sequencer import messages as M

NO_TOP = (0, 0, 0, 0)


class MarketView:
    def __init__(self):
        self.nbbo: dict[str, tuple] = {}                 # symbol -> (bid_px, bid_qty, ask_px, ask_qty)
        self.tops: dict[str, dict[str, tuple]] = {}      # symbol -> venue -> top
        self.volume: dict[str, int] = {}                 # symbol -> shares printed today (all venues)
        self.last_px: dict[str, int] = {}
        self.halted: dict[str, bool] = {}

    def on_quote(self, q: M.Quote) -> None:
        top = (q.bid_px, q.bid_qty, q.ask_px, q.ask_qty)
        if q.venue:
            self.tops.setdefault(q.symbol, {})[q.venue] = top
        else:
            self.nbbo[q.symbol] = top

    def on_trade(self, t: M.Trade) -> None:
        self.volume[t.symbol] = self.volume.get(t.symbol, 0) + t.qty
        self.last_px[t.symbol] = t.px

    def top(self, symbol: str, venue: str) -> tuple:
        return self.tops.get(symbol, {}).get(venue, NO_TOP)

    def best(self, symbol: str) -> tuple:
        return self.nbbo.get(symbol, NO_TOP)
