"""One simulated venue: a matching engine per symbol, order entry with venue answers, background liquidity from
seeded agents, and a top-of-book/trade feed. Pure and single-threaded: the FIX acceptor (``street/server.py``) and the
in-process cluster (``apps/street_sim.py``) both drive it, so a seed makes a run repeatable.

Background liquidity, per symbol, every ``step``:
* a fair price follows a random walk with the symbol's daily volatility (the same path at every venue of a seed);
* market makers keep ``DEPTH_LEVELS`` price levels on each side around it (re-quoting when it moves), and never post
  a quote that would lock or cross an order resting on the other side (Reg NMS Rule 610);
* marketable flow arrives as a Poisson process whose rate follows the intraday volume curve, so the venue's printed
  volume through the day has the curve's U shape (each venue gets ``1 / n_venues`` of the symbol's ADV). Each is an
  IOC limited at the fair touch, the best price every venue of the seed displays: it takes what this venue has there
  or better and does not sweep deeper through another venue's better quote (Rule 611: the rest would be routed).

Other venues' quotes (``on_away_quote``, from their feeds or, in one process, from their sims) are protected, as a Reg
NMS exchange treats them: nothing here executes at a price worse than the best price another venue displays (an
incoming order trades up to that price and an IOC's rest is cancelled; a day order's rest is displayed one tick
short of it, "price to comply"), and nobody here displays a quote that locks or crosses it (Rule 610). Without
away quotes (a lone venue, or before its peers' feeds connect) only the fair touch limits the flow.
"""
from __future__ import annotations

import math
import random
import zlib
from dataclasses import dataclass

from sequencer.fixvalues import OrdType, TimeInForce

from .book import BUY, SELL, Book, BookError

DEPTH_LEVELS = 5
DAY_S = 6.5 * 3600


@dataclass
class SymbolSpec:
    symbol: str
    tick: int
    lot: int
    prev_close: int
    adv: int = 0
    volatility_bp: int = 0
    avg_trade_size: int = 100
    avg_depth: int = 1000


@dataclass
class _Client:
    key: object          # the caller's id for the order (child id, or (session, ClOrdID) at a FIX acceptor)
    symbol: str
    side: int
    qty: int
    px: int
    cum: int = 0


class VenueSim:
    def __init__(self, venue: str, specs: list[SymbolSpec], seed: int, curve=None, n_venues: int = 1,
                 liquidity: bool = True):
        """``curve(t_s)`` gives the share of the day's volume per second at ``t_s`` seconds after midnight New York
        time (0 outside the session); ``None`` means flat over the session."""
        self.venue = venue
        self.rng = random.Random(seed * 1_000_003 + zlib.crc32(venue.encode()))  # each venue its own flow
        # ...but one fair price path per symbol for every venue with the same seed (arbitrage keeps real venues
        # together): a draw per step, so venues stepping on the same clock see the same prices
        self.fair_rng = {s.symbol: random.Random(seed * 1_000_003 + zlib.crc32(s.symbol.encode()) + 7) for s in specs}
        self.specs = {s.symbol: s for s in specs}
        self.books = {s.symbol: Book(s.symbol, s.tick, s.lot) for s in specs}
        self.fair = {s.symbol: float(s.prev_close) for s in specs}
        self.curve = curve or (lambda t: 1 / DAY_S if 34200 <= t < 57600 else 0.0)
        self.n_venues = max(n_venues, 1)
        self.liquidity = liquidity
        self.halted: set[str] = set()
        self.reject_all = ""
        self.clients: dict = {}            # our oid -> _Client
        self.by_key: dict = {}             # caller key -> our oid
        self.mm: dict = {s.symbol: {} for s in specs}   # symbol -> {oid: None}: the market makers' resting orders
        self.tops: dict = {}
        self.away: dict = {s.symbol: {} for s in specs}  # symbol -> other venue -> (bid_px, ask_px) it displays
        self.events: list = []
        self._n = 0

    # -- order entry --------------------------------------------------------------------------------------------
    def _oid(self) -> str:
        self._n += 1
        return f"{self.venue}-{self._n}"

    def new_order(self, key, symbol: str, side: int, qty: int, ord_type: str, px: int, tif: str) -> list:
        """``ord_type`` FIX 1 market / 2 limit; ``tif`` FIX 0 day / 3 IOC / 4 FOK. Returns events (see ``_fills``)."""
        out = self.events = []
        why = self.reject_all or ("unknown symbol" if symbol not in self.books else
                                  "symbol halted" if symbol in self.halted else
                                  "duplicate order id" if key in self.by_key else "")
        if why:
            out.append(("reject", key, why))
            return out
        book, oid = self.books[symbol], self._oid()
        try:
            if ord_type == "1":
                book._check(oid, side, None, qty)
            else:
                book._check(oid, side, px, qty)
        except BookError as e:
            out.append(("reject", key, str(e)))
            return out
        self.clients[oid] = c = _Client(key, symbol, side, qty, px)
        self.by_key[key] = oid
        out.append(("ack", key, oid))
        market = ord_type == OrdType.MARKET
        cap = self.trade_limit(symbol, side, None if market else px)
        if market and cap is None:
            fills = book.market(oid, side, qty)
        elif market or tif in (TimeInForce.IMMEDIATE_OR_CANCEL, TimeInForce.FILL_OR_KILL):
            fills = book.limit(oid, side, cap, qty, ioc=True, fok=tif == TimeInForce.FILL_OR_KILL)
        else:
            fills = self._limit_and_rest(book, oid, side, px, cap, qty)
        self._fills(symbol, fills)
        if oid not in book.orders and c.cum < c.qty:   # IOC, FOK or market remainder
            self._close(oid, "canceled", "not filled in full at once (FOK)" if tif == TimeInForce.FILL_OR_KILL else
                        "not filled immediately (IOC/market)")
        self._quote(symbol)
        return out

    def cancel(self, key) -> list:
        out = self.events = []
        oid = self.by_key.get(key)
        c = self.clients.get(oid)
        if c is None or not self.books[c.symbol].cancel(oid):
            out.append(("cancel_reject", key, "unknown or closed order"))
            return out
        self._close(oid, "canceled", "canceled by request")
        self._quote(c.symbol)
        return out

    def replace(self, key, qty: int, px: int, new_key=None) -> list:
        """``new_key``: the key the order goes by once replaced (a FIX replace's new ClOrdID); the ``replaced``
        event and any fills the replace causes carry it."""
        out = self.events = []
        oid = self.by_key.get(key)
        c = self.clients.get(oid)
        book = self.books[c.symbol] if c else None
        if c is None or oid not in book.orders:
            out.append(("cancel_reject", key, "unknown or closed order"))
            return out
        if qty <= c.cum:
            out.append(("cancel_reject", key, f"new quantity {qty} is not above the filled {c.cum}"))
            return out
        try:
            shown = self.display_price(c.symbol, c.side, px)
            fills = book.replace(oid, qty - c.cum, px if shown == px else self.trade_limit(c.symbol, c.side, px))
            o = book.orders.get(oid)
            if o is not None and o.px != shown:     # what did not trade is displayed short of the away quote
                book.replace(oid, o.qty, shown)
        except BookError as e:
            out.append(("cancel_reject", key, str(e)))
            return out
        if new_key is not None:
            self.rekey(key, new_key)
        c.qty, c.px = qty, px
        out.append(("replaced", c.key, qty, px))
        self._fills(c.symbol, fills)
        self._quote(c.symbol)
        return out

    # -- the protected quotes of other venues (Reg NMS Rules 610 and 611) -----------------------------------------
    def on_away_quote(self, venue: str, symbol: str, bid_px: int, ask_px: int) -> None:
        """What another venue displays now (0: nothing on that side)."""
        if venue != self.venue and symbol in self.away:
            self.away[symbol][venue] = (bid_px, ask_px)

    def protected(self, symbol: str, side: int) -> int | None:
        """The best price another venue displays on the side an order of ``side`` would trade against: the lowest
        away ask for a buy, the highest away bid for a sell; None if no other venue shows that side."""
        quotes = self.away.get(symbol)
        if not quotes:
            return None
        if side == BUY:
            return min((a for _, a in quotes.values() if a), default=None)
        return max((b for b, _ in quotes.values() if b), default=None)

    def trade_limit(self, symbol: str, side: int, px: int | None) -> int | None:
        """The worst price an order of ``side`` limited at ``px`` (None: a market order) may trade at here: its own
        limit or the protected away quote, whichever is better for it (Rule 611: no trade-through)."""
        prot = self.protected(symbol, side)
        if prot is None or px is None:
            return prot if px is None else px
        return min(px, prot) if side == BUY else max(px, prot)

    def display_price(self, symbol: str, side: int, px: int) -> int:
        """Where an order of ``side`` at ``px`` may rest without locking or crossing another venue's quote (Rule
        610): its own price, or one tick short of the away quote ("price to comply")."""
        prot = self.protected(symbol, side)
        if prot is None or (px < prot if side == BUY else px > prot):
            return px
        return prot - self.specs[symbol].tick if side == BUY else prot + self.specs[symbol].tick

    def _limit_and_rest(self, book: Book, oid, side: int, px: int, cap: int, qty: int) -> list:
        """A day limit order: trade up to ``cap`` (no trade-through), then rest what is left at its display price."""
        shown = self.display_price(book.symbol, side, px)
        if shown == px:
            return book.limit(oid, side, px, qty)
        fills = book.limit(oid, side, cap, qty, ioc=True)
        left = qty - sum(f[3] for f in fills)
        if left and shown > 0:
            fills += book.limit(oid, side, shown, left)
        return fills

    def rekey(self, old_key, new_key) -> None:
        """The order goes by a new key from now on (a FIX replace gives it a new ClOrdID)."""
        oid = self.by_key.pop(old_key)
        self.by_key[new_key] = oid
        self.clients[oid].key = new_key

    def _close(self, oid: str, kind: str, text: str) -> None:
        c = self.clients.pop(oid)
        self.by_key.pop(c.key, None)
        self.events.append((kind, c.key, text))

    def _fills(self, symbol: str, fills: list) -> None:
        """Events: ``("fill", key, exec_id, qty, px, liquidity)`` for client orders (liquidity "1" added / "2"
        removed) and ``("trade", symbol, px, qty)`` for every print."""
        for maker, taker, px, qty in fills:
            self.events.append(("trade", symbol, px, qty))
            for oid, liq in ((maker, "1"), (taker, "2")):
                c = self.clients.get(oid)
                if c is None:  # a market maker's or the flow's order (the makers' list is tidied each step)
                    continue
                c.cum += qty
                self.events.append(("fill", c.key, f"{oid}-F{c.cum}", qty, px, liq))
                if c.cum >= c.qty:
                    self.clients.pop(oid)
                    self.by_key.pop(c.key, None)

    def _quote(self, symbol: str) -> None:
        top = self.books[symbol].top()
        if self.tops.get(symbol) != top:
            self.tops[symbol] = top
            self.events.append(("quote", symbol, *top))

    # -- operations ---------------------------------------------------------------------------------------------
    def halt(self, symbol: str, halted: bool = True) -> None:
        (self.halted.add if halted else self.halted.discard)(symbol)

    # -- background liquidity -----------------------------------------------------------------------------------
    def step(self, t_s: float, dt_s: float, symbols: list[str] | None = None) -> list:
        """Advance the agents by ``dt_s`` seconds ending at ``t_s`` (seconds after midnight New York time), for
        ``symbols`` (default all)."""
        out = self.events = []
        if not self.liquidity:
            return out
        share = self.curve(t_s)
        for sym in (symbols if symbols is not None else sorted(self.books)):
            if sym not in self.halted and share > 0:
                self._agents(self.specs[sym], self.books[sym], share, dt_s)
                self._quote(sym)
        return out

    def _agents(self, s: SymbolSpec, book: Book, share: float, dt: float) -> None:
        rng, tick = self.rng, s.tick
        sigma = s.volatility_bp / 10_000 / math.sqrt(DAY_S)
        fair = self.fair[s.symbol] * math.exp(sigma * math.sqrt(dt) * self.fair_rng[s.symbol].gauss(0, 1))
        self.fair[s.symbol] = fair
        # market makers: quote DEPTH_LEVELS levels each side, half a spread around fair, dropping what is off
        bid0 = int((fair - tick / 2) // tick) * tick
        ask0 = bid0 + tick
        mine = self.mm[s.symbol]
        for oid in list(mine):
            o = book.orders.get(oid)
            if o is None:
                del mine[oid]
            elif (o.side == BUY and not bid0 - DEPTH_LEVELS * tick < o.px <= bid0) or \
                    (o.side == SELL and not ask0 <= o.px < ask0 + DEPTH_LEVELS * tick) or \
                    self.display_price(s.symbol, o.side, o.px) != o.px:   # now locks or crosses another venue
                book.cancel(oid)
                del mine[oid]
        # arbitrage: a client order resting through the fair touch (left behind by a move) is taken at once, at its
        # own price, as a real market's fastest traders would; never through another venue's quote
        for side, px in ((SELL, ask0), (BUY, bid0)):
            px = self.trade_limit(s.symbol, side, px)
            opp = book.best_bid() if side == SELL else book.best_ask()
            if opp is None or px <= 0 or (opp < px if side == SELL else opp > px):
                continue
            if n := book.crossing_qty(side, px, 1 << 60):
                self._fills(s.symbol, book.limit(self._oid(), side, px, -(-n // s.lot) * s.lot, ioc=True))
        have = {(o.side, o.px) for o in map(book.orders.get, mine)}
        size = max(s.avg_depth // (DEPTH_LEVELS * self.n_venues), 1)
        for lvl in range(DEPTH_LEVELS):
            for side, px in ((BUY, bid0 - lvl * tick), (SELL, ask0 + lvl * tick)):
                # never lock or cross a quote, here or at another venue (Rule 610): such a level is posted one tick
                # short of it instead, so the market stays two-sided
                other = book.best_ask() if side == BUY else book.best_bid()
                if other is not None and (px >= other if side == BUY else px <= other):
                    px = other - tick if side == BUY else other + tick
                px = self.display_price(s.symbol, side, px)
                if (side, px) not in have and px > 0:
                    have.add((side, px))     # levels pushed to the same price make one quote, not several
                    oid = self._oid()
                    qty = max(int(size * rng.uniform(0.5, 1.5)) // s.lot, 1) * s.lot
                    self._fills(s.symbol, book.limit(oid, side, px, qty))
                    if oid in book.orders:
                        mine[oid] = None
        # marketable flow: Poisson arrivals at the curve's rate, each an IOC a couple of ticks through the touch
        rate = s.adv * share / self.n_venues / max(s.avg_trade_size, 1) * dt
        for _ in range(_poisson(rng, rate)):
            side = BUY if rng.random() < 0.5 else SELL
            qty = max(int(rng.expovariate(1 / s.avg_trade_size)) // s.lot, 1) * s.lot
            px = self.trade_limit(s.symbol, side, ask0 if side == BUY else bid0)  # no sweep through any quote
            if px > 0:
                self._fills(s.symbol, book.limit(self._oid(), side, px, qty, ioc=True))


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:  # normal approximation: fine for flow sizes, and cheaper
        return max(int(round(rng.gauss(lam, math.sqrt(lam)))), 0)
    n, p, limit = 0, rng.random(), math.exp(-lam)
    while p > limit:
        n += 1
        p *= rng.random()
    return n


def curve_fn(open_s: int, bin_s: int, weights_bp: list[int]):
    """The volume curve as a share of the day per second (continuous session only)."""
    end = open_s + bin_s * len(weights_bp)

    def share(t: float) -> float:
        if not open_s <= t < end:
            return 0.0
        return weights_bp[int((t - open_s) // bin_s)] / 10_000 / bin_s
    return share
