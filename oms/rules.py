"""The order rules the OMS and the algo both keep, written once: a child's price against its parent's limit, open
quantity against leaves, and lot sizes. Pure functions of integers and FIX values."""
from __future__ import annotations

from sequencer import messages as M
from sequencer.fixvalues import OrdType, Side


def is_buy(side: str) -> bool:
    return side == Side.BUY


def through_limit(side: str, px: int, limit: int) -> bool:
    """True if ``px`` is worse than ``limit`` for an order on ``side`` (0: no limit, nothing is through it)."""
    return bool(limit) and (px > limit if is_buy(side) else px < limit)


def inside_limit(side: str, px: int, limit: int) -> int:
    """``px`` moved back to ``limit`` if it is through it."""
    return limit if through_limit(side, px, limit) else px


def child_price_problem(side: str, parent_limit: int, ord_type: str, px: int) -> tuple[str, str] | None:
    """``(code, reason)`` if a child of this type and price may not go under a parent with ``parent_limit``
    (0 for a market parent): a limit child needs a positive price; under a limit parent a market child could trade
    through the limit, and a limit child must not be priced through it."""
    if ord_type == OrdType.LIMIT and px <= 0:
        return "BAD_PRICE", "a limit child needs a positive price"
    if parent_limit:
        if ord_type != OrdType.LIMIT:
            return "THROUGH_LIMIT", "a market child under a limit parent could trade through the limit"
        if through_limit(side, px, parent_limit):
            return "THROUGH_LIMIT", (f"child price {M.format_price(px)} is through the parent's limit "
                                     f"{M.format_price(parent_limit)}")
    return None


def leaves_problem(open_qty: int, add_qty: int, leaves: int) -> tuple[str, str] | None:
    """Open child quantity never exceeds the parent's leaves."""
    if open_qty + add_qty > leaves:
        return "EXCEEDS_LEAVES", (f"open child quantity would be {open_qty + add_qty}, above the parent's leaves "
                                  f"{leaves}")
    return None


def whole_lots(qty: int, lot: int) -> bool:
    """Odd lots below one round lot are fine; mixed lots above it must be whole lots."""
    return lot <= 1 or qty <= lot or qty % lot == 0
