"""Pre-trade risk checks in the style of SEC Rule 15c3-5, per client and firm-wide. Pure: no I/O, no clock.

Every refusal is a ``Refusal`` with a FIX OrdRejReason (4.4 values), our own stable reason code, and a text a
person can act on. Codes:

    NO_LIMITS  KILL_SWITCH  UNKNOWN_SYMBOL  HALTED  RESTRICTED  BAD_ORDER  SHORT_NO_LOCATE  MAX_QTY  MAX_NOTIONAL
    PRICE_COLLAR  NO_REFERENCE_PRICE  DUPLICATE_ORDER  THROTTLE  CREDIT_CLIENT  CREDIT_FIRM  UNSUPPORTED_TIF
    and for child orders (``check_child``, on every child and child replace before it goes to a venue):
    KILL_SWITCH  HALTED  RESTRICTED  ERRONEOUS_PRICE  PRICE_COLLAR  NO_REFERENCE_PRICE  MAX_QTY  MAX_NOTIONAL
    CHILD_THROTTLE  (and, in the order manager: MAX_UNACKED_CHILDREN  MAX_OPEN_CHILDREN)

The firm's limits (client "*") apply to every client: a client's own record overrides them field by field where it
sets a value, so a client without a record trades under the firm's collar, duplicate window, throttle and short-sale
rule, and the firm's size and credit limits hold on top of the client's.

Fail closed: each limit in ``REQUIRED`` must be set, by the client's record or the firm's, to a value or to
``UNLIMITED`` said explicitly; an order from a client for whom one is not set is refused ``NO_LIMITS`` naming it.

Exposure ("gross open + executed notional") is kept incrementally by the order manager, which reports every change
of an order's contribution through ``adjust_exposure``.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import msgspec

from sequencer.fixvalues import OrdRejReason, OrdType, Side
from sequencer.messages import UNLIMITED, RiskLimits, format_price as money

from .rules import is_buy, whole_lots

FIRM = "*"
SECOND_NS = 1_000_000_000
# child order limits that hold even when no limit is configured (a runaway algo or a venue that stopped answering):
ERRONEOUS_PRICE_BP = 1_000          # a child limit 10% through the reference price is an error, collar or not
MAX_CHILD_ORDERS_PER_SEC = 500      # per client, unless RiskLimits.max_orders_per_sec * 10 allows more
MAX_UNACKED_CHILDREN_PER_VENUE = 1_000
MAX_OPEN_CHILDREN_PER_PARENT = 2_000

# the limits every order needs set (to a value, or UNLIMITED): not set for the client nor the firm means refused
REQUIRED = ("max_order_qty", "max_order_notional_px", "credit_limit_px", "collar_bp", "max_orders_per_sec")
CONFIG_NAME = {"max_order_notional_px": "max_order_notional", "credit_limit_px": "credit_limit"}


def open_limits(client: str = "*") -> RiskLimits:
    """A record that sets every required limit to UNLIMITED, explicitly: for simulations and tests that are not about
    limits. A real day sets its limits in the cluster file's [risk.firm]."""
    return RiskLimits(client, **{f: UNLIMITED for f in REQUIRED})


REJ_BROKER_CREDIT, REJ_UNKNOWN_SYMBOL = OrdRejReason.BROKER_CREDIT, OrdRejReason.UNKNOWN_SYMBOL
REJ_EXCHANGE_CLOSED, REJ_EXCEEDS_LIMIT = OrdRejReason.EXCHANGE_CLOSED, OrdRejReason.ORDER_EXCEEDS_LIMIT
REJ_DUPLICATE, REJ_UNSUPPORTED = OrdRejReason.DUPLICATE_ORDER, OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC
REJ_INCORRECT_QTY, REJ_OTHER = OrdRejReason.INCORRECT_QUANTITY, OrdRejReason.OTHER


@dataclass(frozen=True)
class Refusal:
    fix_reason: int
    code: str
    text: str


@dataclass(frozen=True)
class _Terms:
    """An order's terms as the checks read them (a replace's new terms, a child's)."""
    client: str
    symbol: str
    side: str
    qty: int
    ord_type: str
    px: int
    locate_broker: str = "n/a"


class MarketView:
    """What risk needs of reference and market data: the security master and the latest prices."""

    def __init__(self):
        self.securities: dict = {}   # symbol -> messages.Security
        self.nbbo: dict = {}         # symbol -> (bid_px, ask_px)
        self.last_trade: dict = {}   # symbol -> px
        self.halted: dict = {}       # symbol -> bool (from SymbolStatus, overrides the security master)

    def is_halted(self, symbol: str) -> bool:
        sec = self.securities.get(symbol)
        return self.halted.get(symbol, sec.halted if sec else False)

    def reference_px(self, symbol: str) -> tuple[int, str]:
        """NBBO mid, else last trade, else previous close; ``(0, "")`` if none is known."""
        bid, ask = self.nbbo.get(symbol, (0, 0))
        if bid > 0 and ask > 0 and ask >= bid:
            return (bid + ask) // 2, "NBBO mid"
        if self.last_trade.get(symbol, 0) > 0:
            return self.last_trade[symbol], "last trade"
        sec = self.securities.get(symbol)
        if sec is not None and sec.prev_close_px > 0:
            return sec.prev_close_px, "previous close"
        return 0, ""


class PreTradeRisk:
    def __init__(self, market: MarketView):
        self.market = market
        self.limits: dict[str, RiskLimits] = {}
        self.killed: dict[str, str] = {}          # client or FIRM -> why
        self.exposure: dict[str, int] = {}        # client or FIRM -> gross open + executed notional (px units)
        self._recent: dict[str, deque] = {}       # client -> ts of recent orders (throttle)
        self._child_recent: dict[str, deque] = {} # client -> ts of recent child orders
        self._effective: dict[str, RiskLimits | None] = {}   # client -> merged limits (cleared when limits change)
        self._dups: dict[str, deque] = {}         # client -> (ts, symbol, side, qty, px) within the dup window

    # -- state changes ----------------------------------------------------------------------------------------
    def set_limits(self, lim: RiskLimits) -> None:
        self.limits[lim.client] = lim
        self._effective.clear()

    def set_kill(self, client: str, active: bool, text: str) -> None:
        if active:
            self.killed[client] = text or "kill switch"
        else:
            self.killed.pop(client, None)

    def adjust_exposure(self, client: str, delta: int) -> None:
        if delta:
            self.exposure[client] = self.exposure.get(client, 0) + delta
            self.exposure[FIRM] = self.exposure.get(FIRM, 0) + delta

    # -- checks -----------------------------------------------------------------------------------------------
    def check_new(self, o, now: int) -> tuple[Refusal | None, int]:
        """Check a NewOrder. Returns ``(refusal or None, notional price)``: the price its open quantity counts at
        (its limit, or the reference price for a market order)."""
        self._note_order(o, now)  # every order counts toward the throttle and the duplicate window
        for check in (self._configured, self._kill, self._symbol, self._order_shape, self._short):
            r = check(o)
            if r:
                return r, 0
        px, r = self._price(o.client, o.symbol, o.side, o.ord_type, o.px)
        if r:
            return r, 0
        r = (self._size(o.client, o.qty, px) or self._duplicate(o, now) or self._throttle(o.client, now)
             or self._credit(o.client, o.qty * px))
        return r, px

    def check_replace(self, client: str, symbol: str, side: str, ord_type: str, new_qty: int, new_px: int,
                      cum_qty: int, cum_notional: int, current_exposure: int,
                      now: int = 0) -> tuple[Refusal | None, int]:
        """Check a replace's new terms with every check a new order gets (kill switch, symbol halted or restricted,
        tick and lot, collar, size, throttle) and the exposure it adds (which may be negative). Returns
        ``(refusal or None, notional price)``."""
        terms = _Terms(client, symbol, side, new_qty, ord_type, new_px)
        self._note_order(terms, now)
        for check in (self._kill, self._symbol, self._order_shape):
            r = check(terms)
            if r:
                return r, 0
        px, r = self._price(client, symbol, side, ord_type, new_px)
        if r:
            return r, 0
        added = cum_notional + max(new_qty - cum_qty, 0) * px - current_exposure
        return self._size(client, new_qty, px) or self._throttle(client, now) or self._credit(client, added), px

    def check_child(self, client: str, symbol: str, side: str, ord_type: str, qty: int, px: int,
                    now: int) -> Refusal | None:
        """SEC 15c3-5 on an order about to enter the market: every child order and child replace, as a client order
        is checked on entry. The kill switch stops all order entry; a halted or restricted symbol gets no child; the
        price must be sane against the reference price (the collar, and an erroneous-price bound that holds without
        one); the child's size and notional fit the limits; the child order rate is bounded."""
        terms = _Terms(client, symbol, side, qty, ord_type, px)
        r = self._kill(terms) or self._symbol(terms)
        if r:
            return r
        ref, source = self.market.reference_px(symbol)
        if ord_type == OrdType.MARKET:
            if ref <= 0:
                return Refusal(REJ_OTHER, "NO_REFERENCE_PRICE", f"market child in {symbol} with no reference price")
            notional_px = ref
        else:
            notional_px = px
            if ref > 0:
                through = (px - ref) if is_buy(side) else (ref - px)
                if through * 10_000 > ref * ERRONEOUS_PRICE_BP:
                    return Refusal(REJ_OTHER, "ERRONEOUS_PRICE", f"child limit {money(px)} is more than "
                                                                 f"{ERRONEOUS_PRICE_BP} bp through the reference "
                                                                 f"price {money(ref)} ({source})")
            _, r = self._price(client, symbol, side, ord_type, px)
            if r:
                return r
        r = self._size(client, qty, notional_px)
        if r:
            return r
        q = self._child_recent.setdefault(client, deque())
        while q and q[0] <= now - SECOND_NS:
            q.popleft()
        lim = self._lim(client)
        cap = max(MAX_CHILD_ORDERS_PER_SEC, (lim.max_orders_per_sec * 10) if lim else 0)   # UNLIMITED: 500
        if len(q) >= cap:
            return Refusal(REJ_OTHER, "CHILD_THROTTLE", f"more than {cap} child orders in one second for {client}")
        q.append(now)
        return None

    def _note_order(self, o, now):
        q = self._recent.setdefault(o.client, deque())
        q.append(now)
        while q and q[0] <= now - SECOND_NS:
            q.popleft()

    def _lim(self, client: str) -> RiskLimits | None:
        """The limits in force for ``client``: its own record over the firm's, field by field (a value the client's
        record leaves at 0 is the firm's); the firm's own for FIRM."""
        if client in self._effective:
            return self._effective[client]
        own = self.limits.get(client)
        firm = self.limits.get(FIRM)
        if client == FIRM or firm is None:
            eff = own
        elif own is None:
            eff = firm
        else:
            eff = msgspec.structs.replace(own, **{f: getattr(firm, f) for f in own.__struct_fields__
                                                  if f != "client" and not getattr(own, f)})
        self._effective[client] = eff
        return eff

    def _kill_client(self, client: str) -> Refusal | None:
        for who in (FIRM, client):
            if who in self.killed:
                scope = "firm-wide" if who == FIRM else f"for client {client}"
                return Refusal(REJ_OTHER, "KILL_SWITCH", f"kill switch active {scope}: {self.killed[who]}")
        return None

    def _kill(self, o):
        return self._kill_client(o.client)

    def _configured(self, o):
        """Fail closed: every required limit must be set for the client, by its own record or the firm's (to a value
        or to UNLIMITED); one that is not refuses the order, naming it."""
        lim = self._lim(o.client)
        missing = [CONFIG_NAME.get(f, f) for f in REQUIRED if lim is None or getattr(lim, f) == 0]
        if missing:
            return Refusal(REJ_OTHER, "NO_LIMITS", f"risk limits not set for client {o.client} or the firm: "
                                                   f"{', '.join(missing)} (set each in [risk.firm] or "
                                                   f"[risk.{o.client}], to a value or \"unlimited\")")
        return None

    def _symbol(self, o):
        sec = self.market.securities.get(o.symbol)
        if sec is None:
            return Refusal(REJ_UNKNOWN_SYMBOL, "UNKNOWN_SYMBOL", f"unknown symbol {o.symbol!r}")
        if self.market.is_halted(o.symbol):
            return Refusal(REJ_EXCHANGE_CLOSED, "HALTED", f"{o.symbol} is halted")
        if sec.restricted:
            return Refusal(REJ_OTHER, "RESTRICTED", f"{o.symbol} is on the restricted list")
        return None

    def _order_shape(self, o):
        sec = self.market.securities[o.symbol]
        if o.qty <= 0:
            return Refusal(REJ_INCORRECT_QTY, "BAD_ORDER", f"order quantity must be positive, not {o.qty}")
        if not whole_lots(o.qty, sec.lot_size):
            return Refusal(REJ_INCORRECT_QTY, "BAD_ORDER", f"quantity {o.qty} is not a multiple of the lot size "
                                                         f"{sec.lot_size}")
        if o.side not in tuple(Side):
            return Refusal(REJ_UNSUPPORTED, "BAD_ORDER", f"side {o.side!r} is not supported (1, 2, 5, 6)")
        if o.ord_type == OrdType.LIMIT:
            if o.px <= 0:
                return Refusal(REJ_OTHER, "BAD_ORDER", "a limit order needs a positive price")
            if sec.tick_px > 0 and o.px % sec.tick_px:
                return Refusal(REJ_OTHER, "BAD_ORDER", f"price {money(o.px)} is not on the tick "
                                                     f"({money(sec.tick_px)})")
        elif o.ord_type != OrdType.MARKET:
            return Refusal(REJ_UNSUPPORTED, "BAD_ORDER", f"order type {o.ord_type!r} is not supported (1 market, "
                                                         f"2 limit)")
        return None

    def _short(self, o):
        if o.side == Side.SELL_SHORT and not getattr(o, "locate_broker", ""):
            lim = self._lim(o.client)
            if not (lim and lim.short_without_locate):
                return Refusal(REJ_OTHER, "SHORT_NO_LOCATE", "short sale without a locate (LocateBroker)")
        return None

    def _price(self, client, symbol, side, ord_type, px) -> tuple[int, Refusal | None]:
        """The price the order's notional counts at, after the price collar."""
        ref, source = self.market.reference_px(symbol)
        if ord_type == OrdType.MARKET:
            if ref <= 0:
                return 0, Refusal(REJ_OTHER, "NO_REFERENCE_PRICE", f"market order in {symbol} with no reference "
                                                                   f"price to check it against")
            return ref, None
        lim = self._lim(client)
        if lim and lim.collar_bp > 0 and ref > 0:
            band = ref * lim.collar_bp // 10_000
            buy = is_buy(side)
            if (buy and px > ref + band) or (not buy and px < ref - band):
                return 0, Refusal(REJ_OTHER, "PRICE_COLLAR",
                                  f"limit {money(px)} is more than {lim.collar_bp} bp through the reference price "
                                  f"{money(ref)} ({source})")
        return px, None

    def _size(self, client: str, qty: int, px: int) -> Refusal | None:
        for who in (client, FIRM):
            lim = self._lim(who)
            if lim is None:
                continue
            if 0 < lim.max_order_qty < qty:
                return Refusal(REJ_EXCEEDS_LIMIT, "MAX_QTY", f"quantity {qty} exceeds the maximum of "
                                                             f"{lim.max_order_qty} per order")
            if 0 < lim.max_order_notional_px < qty * px:
                return Refusal(REJ_EXCEEDS_LIMIT, "MAX_NOTIONAL", f"notional {money(qty * px)} exceeds the maximum"
                                                                  f" of {money(lim.max_order_notional_px)} per order")
        return None

    def _duplicate(self, o, now) -> Refusal | None:
        lim = self._lim(o.client)
        if not (lim and lim.dup_window_ms > 0):
            return None
        q = self._dups.setdefault(o.client, deque())
        window = lim.dup_window_ms * 1_000_000
        while q and q[0][0] <= now - window:
            q.popleft()
        key = (o.symbol, o.side, o.qty, o.px)
        hit = any(k == key for _, k in q)
        q.append((now, key))
        if hit:
            return Refusal(REJ_DUPLICATE, "DUPLICATE_ORDER", f"same symbol, side, quantity and price as an order "
                                                             f"within the last {lim.dup_window_ms} ms")
        return None

    def _throttle(self, client: str, now: int) -> Refusal | None:
        lim = self._lim(client)
        if lim and 0 < lim.max_orders_per_sec < len(self._recent.get(client, ())):
            return Refusal(REJ_OTHER, "THROTTLE", f"more than {lim.max_orders_per_sec} orders in one second")
        return None

    def _credit(self, client: str, added: int) -> Refusal | None:
        for who, code in ((client, "CREDIT_CLIENT"), (FIRM, "CREDIT_FIRM")):
            lim = self.limits.get(who)     # each its own: the client's credit line, then the firm's
            if lim and lim.credit_limit_px > 0 and added > 0:
                used = self.exposure.get(who, 0)
                if used + added > lim.credit_limit_px:
                    scope = "firm" if who == FIRM else f"client {client}"
                    return Refusal(REJ_BROKER_CREDIT, code, f"{scope} credit: {money(used)} used + {money(added)} "
                                                            f"would exceed the limit of {money(lim.credit_limit_px)}")
        return None
