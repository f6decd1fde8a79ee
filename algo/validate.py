"""The rules no strategy may break, checked by the container before any child request is submitted. A strategy that
asks for a child breaking one is treated as broken: its parent is paused and the client told (see container.py)."""
from __future__ import annotations

from oms.rules import child_price_problem, leaves_problem


def check_child(*, side: str, parent_limit: int, leaves: int, open_qty: int, qty: int, px: int, ord_type: str,
                lot: int, halted: bool, now: int, start_ns: int, end_ns: int, shown: int, max_share_pct: int,
                restricted: bool, floor_qty: int = 0) -> tuple[str, str] | None:
    """``None`` if the child may go, else ``(code, reason)``. ``shown`` is the displayed quantity the child is
    measured against (the far side it takes, or the near side it joins); a child of ``floor_qty`` is always allowed
    by that rule (one round lot may rest even in a thin market)."""
    if qty <= 0:
        return "BAD_QTY", f"child quantity must be positive, not {qty}"
    why = leaves_problem(open_qty, qty, leaves)
    if why:
        return why
    if qty % lot and qty != leaves - open_qty:
        return "ODD_LOT", f"child quantity {qty} is not a multiple of the lot size {lot} (only the last child may be)"
    why = child_price_problem(side, parent_limit, ord_type, px)
    if why:
        return why
    cap = max(shown * max_share_pct // 100, lot, floor_qty)
    if qty > cap:
        return "TOO_LARGE", f"child quantity {qty} is above {max_share_pct}% of the {shown} shares displayed"
    if halted:
        return "HALTED", "the symbol is halted"
    if restricted:
        return "RESTRICTED", "the symbol is on the restricted list"
    if now < start_ns:
        return "BEFORE_START", "before the order's start time"
    if end_ns and now >= end_ns:
        return "AFTER_END", "at or after the order's end time"
    return None
