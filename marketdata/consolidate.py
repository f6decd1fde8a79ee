"""The NBBO from each venue's top of book, and the conflating queue in front of the sequencer.

``Consolidator`` keeps every venue's top per symbol; the NBBO is the highest bid and lowest ask across venues with
the size shown at that price summed over the venues showing it.

``Conflator`` holds updates waiting to be sequenced. Under load a newer quote for the same (symbol, venue) replaces
the waiting one in place, but only if no trade of that symbol was queued after it: trades are never dropped, and a
quote never moves ahead of or behind a trade of its symbol.
"""
from __future__ import annotations

EMPTY = (0, 0, 0, 0)


class Consolidator:
    def __init__(self):
        self.tops: dict[str, dict[str, tuple]] = {}
        self.nbbo: dict[str, tuple] = {}

    def update(self, symbol: str, venue: str, top: tuple) -> tuple | None:
        """Record a venue's new top; returns the new NBBO if it changed, else None."""
        venues = self.tops.setdefault(symbol, {})
        venues[venue] = top
        bid = max((t[0] for t in venues.values() if t[0]), default=0)
        ask = min((t[2] for t in venues.values() if t[2]), default=0)
        nbbo = (bid, sum(t[1] for t in venues.values() if bid and t[0] == bid),
                ask, sum(t[3] for t in venues.values() if ask and t[2] == ask))
        if self.nbbo.get(symbol, EMPTY) == nbbo:
            return None
        self.nbbo[symbol] = nbbo
        return nbbo


class Conflator:
    def __init__(self):
        self.queue: list = []
        self._waiting: dict = {}          # (symbol, venue) -> index in queue of its unsent quote
        self.conflated = 0

    def quote(self, symbol: str, venue: str, msg) -> None:
        i = self._waiting.get((symbol, venue))
        if i is not None:
            self.queue[i] = msg
            self.conflated += 1
        else:
            self._waiting[(symbol, venue)] = len(self.queue)
            self.queue.append(msg)

    def trade(self, symbol: str, msg) -> None:
        self.queue.append(msg)
        for key in [k for k in self._waiting if k[0] == symbol]:
            del self._waiting[key]       # later quotes of this symbol go after the trade

    def drain(self) -> list:
        out, self.queue, self._waiting = self.queue, [], {}
        return out
