"""A price-time-priority limit order book for one symbol: the matching engine of the venue simulator.

Orders: limit (rests what does not trade), IOC (cancels what does not trade), FOK (trades its whole quantity at
once or nothing), market (trades against whatever is there, the rest is cancelled); cancel; replace (a cut in quantity at the same price keeps time priority, anything
else re-queues behind). Prices and quantities are integers; a price off the tick or a quantity off the lot is refused.

Layout for speed: each side is ``price -> deque of orders`` plus a heap of its prices (``heapq``, in C; bids stored
negated), so the best price is at the top and a level is FIFO. A price whose level emptied stays in the heap until
it surfaces, then is dropped (lazy deletion). A cancel does not search the deque: it marks the order dead (qty 0) and the
matcher drops dead orders when they reach the front; a per-level count of live orders says when a level is empty.
Matching returns fills as ``(maker_id, taker_id, price, qty)`` tuples.
"""
from __future__ import annotations

import heapq
from collections import deque

BUY, SELL = 1, 2


class BookError(ValueError):
    """An order the book refuses (the venue answers it with a reject)."""


class Order:
    __slots__ = ("oid", "side", "px", "qty", "owner")

    def __init__(self, oid, side: int, px: int, qty: int, owner=None):
        self.oid, self.side, self.px, self.qty, self.owner = oid, side, px, qty, owner

    def __repr__(self):
        return f"Order({self.oid!r}, {'BUY' if self.side == BUY else 'SELL'}, {self.px}, {self.qty})"


class Book:
    def __init__(self, symbol: str = "", tick: int = 1, lot: int = 1):
        self.symbol, self.tick, self.lot = symbol, tick, lot
        self.levels = ({}, {}, {})           # indexed by side: price -> deque[Order] (dead ones have qty 0)
        self.live = ({}, {}, {})             # indexed by side: price -> number of live orders at that price
        self.heaps = (None, [], [])          # indexed by side: heap of prices (bids negated); may hold stale ones
        self.best = [None, None, None]       # indexed by side: best live price, cached
        self.orders: dict = {}               # oid -> resting Order

    # -- queries ----------------------------------------------------------------------------------------------
    def best_bid(self) -> int | None:
        return self.best[BUY]

    def best_ask(self) -> int | None:
        return self.best[SELL]

    def _reset_best(self, side: int) -> None:
        h, levels = self.heaps[side], self.levels[side]
        sign = -1 if side == BUY else 1
        while h and sign * h[0] not in levels:
            heapq.heappop(h)
        self.best[side] = sign * h[0] if h else None

    def level_qty(self, side: int, px: int) -> int:
        return sum(o.qty for o in self.levels[side].get(px, ()))  # dead orders count 0

    def top(self) -> tuple[int, int, int, int]:
        """``(bid_px, bid_qty, ask_px, ask_qty)``, zeros for an empty side."""
        b, a = self.best_bid(), self.best_ask()
        return (b or 0, self.level_qty(BUY, b) if b else 0, a or 0, self.level_qty(SELL, a) if a else 0)

    # -- orders -----------------------------------------------------------------------------------------------
    def _check(self, oid, side: int, px: int | None, qty: int) -> None:
        if side not in (BUY, SELL):
            raise BookError(f"side must be {BUY} (buy) or {SELL} (sell)")
        if qty <= 0 or qty % self.lot:
            raise BookError(f"quantity {qty} must be a positive multiple of the lot size {self.lot}")
        if px is not None and (px <= 0 or px % self.tick):
            raise BookError(f"price {px} must be a positive multiple of the tick {self.tick}")
        if oid in self.orders:
            raise BookError(f"order id {oid!r} is already resting")

    def crossing_qty(self, side: int, px: int, enough: int) -> int:
        """Quantity resting on the other side at prices an order on ``side`` limited at ``px`` would trade with,
        counted until ``enough`` is reached (an FOK needs to know only whether its whole quantity is there)."""
        other = SELL if side == BUY else BUY
        total = 0
        for level_px in sorted(self.levels[other], reverse=other == BUY):
            if level_px > px if side == BUY else level_px < px:
                break
            total += self.level_qty(other, level_px)
            if total >= enough:
                break
        return total

    def limit(self, oid, side: int, px: int, qty: int, owner=None, ioc: bool = False, fok: bool = False) -> list:
        """Match, then rest what is left (unless IOC or FOK). An FOK that cannot trade in full trades nothing.
        Returns the fills."""
        if qty <= 0 or px <= 0 or qty % self.lot or px % self.tick or side not in (BUY, SELL) or oid in self.orders:
            self._check(oid, side, px, qty)  # raises with the specific reason
        if fok:
            if self.crossing_qty(side, px, qty) < qty:
                return []
            ioc = True
        opp = self.best[SELL if side == BUY else BUY]
        if opp is not None and (px >= opp if side == BUY else px <= opp):
            fills, qty = self._match(oid, side, px, qty)
        else:
            fills = []  # does not cross: most passive orders go straight to the book
        if qty and not ioc:
            self._rest(Order(oid, side, px, qty, owner))
        return fills

    def market(self, oid, side: int, qty: int) -> list:
        self._check(oid, side, None, qty)
        return self._match(oid, side, None, qty)[0]

    def cancel(self, oid) -> int:
        """Remove a resting order; returns the quantity cancelled (0 if it was not resting)."""
        o = self.orders.pop(oid, None)
        if o is None:
            return 0
        qty, o.qty = o.qty, 0  # dead: skipped when it reaches the front of its level
        self._one_less(o.side, o.px)
        return qty

    def _one_less(self, side: int, px: int) -> None:
        live = self.live[side]
        n = live[px] - 1
        if n:
            live[px] = n
        else:
            del live[px]
            del self.levels[side][px]
            if px == self.best[side]:
                self._reset_best(side)

    def replace(self, oid, qty: int, px: int) -> list:
        """Change a resting order. Same price and less quantity keeps its place; otherwise it goes to the back (and
        may trade at once if the new price crosses)."""
        o = self.orders.get(oid)
        if o is None:
            raise BookError(f"order {oid!r} is not resting")
        if qty <= 0 or qty % self.lot or px <= 0 or px % self.tick:
            raise BookError(f"replace to {qty} @ {px} breaks the tick {self.tick} or lot {self.lot}")
        if px == o.px and qty <= o.qty:
            o.qty = qty
            return []
        self.cancel(oid)
        return self.limit(oid, o.side, px, qty, o.owner)

    # -- internals --------------------------------------------------------------------------------------------
    def _rest(self, o: Order) -> None:
        side_levels = self.levels[o.side]
        q = side_levels.get(o.px)
        if q is None:
            q = side_levels[o.px] = deque()
            h = self.heaps[o.side]
            heapq.heappush(h, -o.px if o.side == BUY else o.px)
            if len(h) > 2 * len(side_levels) + 64:  # stale prices deep in the heap: rebuild it from the live levels
                h[:] = [-p if o.side == BUY else p for p in side_levels]
                heapq.heapify(h)
            self.live[o.side][o.px] = 1
            b = self.best[o.side]
            if b is None or (o.px > b if o.side == BUY else o.px < b):
                self.best[o.side] = o.px
        else:
            self.live[o.side][o.px] += 1
        q.append(o)
        self.orders[o.oid] = o

    def _match(self, oid, side: int, px: int | None, qty: int):
        other = SELL if side == BUY else BUY
        levels = self.levels[other]
        live = self.live[other]
        orders = self.orders
        fills = []
        best_cache = self.best
        while qty:
            best = best_cache[other]
            if best is None:
                break
            if px is not None and (best > px if side == BUY else best < px):
                break
            q = levels[best]
            n_live = live[best]
            while qty and n_live:
                maker = q[0]
                if not maker.qty:  # cancelled earlier
                    q.popleft()
                    continue
                n = maker.qty if maker.qty < qty else qty
                fills.append((maker.oid, oid, best, n))
                qty -= n
                maker.qty -= n
                if not maker.qty:
                    q.popleft()
                    del orders[maker.oid]
                    n_live -= 1
            if n_live:
                live[best] = n_live
            else:
                del live[best]
                del levels[best]
                self._reset_best(other)
        return fills, qty
