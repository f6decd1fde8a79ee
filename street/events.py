"""A venue simulator's events (see ``VenueSim``) as stream messages: the one mapping used by the in-process street
and by tests. The venue gateway makes the same messages from FIX ExecutionReports."""
from __future__ import annotations

from sequencer import messages as M

from .book import BUY, SELL


def side_of(fix_side: str) -> int:
    return BUY if fix_side == "1" else SELL


def order_event(e: tuple) -> M.Msg | None:
    """An order-entry event for the child it concerns; None for market data events."""
    kind = e[0]
    if kind == "ack":
        return M.VenueAck(e[1], e[2])
    if kind == "fill":
        return M.VenueFill(e[1], e[2], e[3], e[4], e[5])
    if kind == "reject":
        return M.VenueReject(e[1], e[2])
    if kind == "canceled":
        return M.VenueCanceled(e[1], e[2])
    if kind == "replaced":
        return M.VenueReplaced(e[1], e[2], e[3])
    if kind == "cancel_reject":
        return M.VenueCancelReject(e[1], e[2])
    return None
