"""Parent (client) and child (venue) order state: plain data with the derived quantities FIX defines, and one
transition table per order kind. A status changes only through ``apply``, which refuses a transition the table does
not have with an ``OrderStateError`` naming the order, its state and the event (NautilusTrader's ``Order`` keeps its
states the same way)."""
from __future__ import annotations

from dataclasses import dataclass, field

from sequencer.fixvalues import ExecType, OrdStatus

NEW, PARTIAL, FILLED, DONE_FOR_DAY = OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED, OrdStatus.FILLED, OrdStatus.DONE_FOR_DAY
CANCELED, PENDING_CANCEL, REJECTED = OrdStatus.CANCELED, OrdStatus.PENDING_CANCEL, OrdStatus.REJECTED
PENDING_NEW, EXPIRED, PENDING_REPLACE = OrdStatus.PENDING_NEW, OrdStatus.EXPIRED, OrdStatus.PENDING_REPLACE
ET_REPLACED, ET_TRADE, ET_STATUS, ET_RESTATED = ExecType.REPLACED, ExecType.TRADE, ExecType.ORDER_STATUS, \
    ExecType.RESTATED
ET_TRADE_CANCEL, ET_TRADE_CORRECT = ExecType.TRADE_CANCEL, ExecType.TRADE_CORRECT

TERMINAL = (FILLED, DONE_FOR_DAY, CANCELED, REJECTED, EXPIRED)
_WORKING = (NEW, PARTIAL)
_PENDING = (PENDING_CANCEL, PENDING_REPLACE)

# A parent (the client's order) is never PendingNew or Rejected as an object: a refused order never becomes one.
#   working -> working / pending / filled / canceled / expired (fills, a client's cancel or replace, an OMS end)
#   pending -> the same pending (fills during it), the other statuses it completes to, or Filled (filled first)
#   filled  -> working again (a venue bust takes back fills), or Filled (a correction)
#   canceled / expired -> Filled (a late fill completes it: Filled ranks above them) or the same (a bust, a
#   correction of an earlier fill)
PARENT_TRANSITIONS: dict[str, tuple[str, ...]] = {
    NEW: (NEW, PARTIAL, FILLED, PENDING_CANCEL, PENDING_REPLACE, CANCELED, EXPIRED),
    PARTIAL: (NEW, PARTIAL, FILLED, PENDING_CANCEL, PENDING_REPLACE, CANCELED, EXPIRED),
    PENDING_CANCEL: (PENDING_CANCEL, NEW, PARTIAL, FILLED, CANCELED, EXPIRED),
    PENDING_REPLACE: (PENDING_REPLACE, NEW, PARTIAL, FILLED, CANCELED, EXPIRED),
    FILLED: (FILLED, NEW, PARTIAL),
    CANCELED: (CANCELED, FILLED),
    EXPIRED: (EXPIRED, FILLED),
}
# A child (our order at a venue): sent PendingNew; acknowledged, filled, replaced; ended by the venue, or by the OMS
# at the close when the venue never confirms. A child over stays over, except that a late fill (one that crossed
# the cancel on the wire) completing it makes it Filled.
CHILD_TRANSITIONS: dict[str, tuple[str, ...]] = {
    PENDING_NEW: (PENDING_NEW, NEW, PARTIAL, FILLED, CANCELED, REJECTED, EXPIRED),
    NEW: (NEW, PARTIAL, FILLED, CANCELED, REJECTED, EXPIRED),
    PARTIAL: (PARTIAL, NEW, FILLED, CANCELED, REJECTED, EXPIRED),
    FILLED: (FILLED,), CANCELED: (CANCELED, FILLED), REJECTED: (REJECTED,), EXPIRED: (EXPIRED, FILLED),
}


class OrderStateError(Exception):
    """A transition the order's table does not have: a bug in the OMS or an impossible sequence of events."""


def _apply(kind: str, order_id: str, table: dict, current: str, new: str, event: str) -> str:
    if new not in table.get(current, ()):
        raise OrderStateError(f"{kind} {order_id}: no transition from {OrdStatus(current).name} to "
                              f"{OrdStatus(new).name} on {event}")
    return new


@dataclass
class Pending:
    """A client cancel or replace waiting for the parent's open children to close."""
    kind: str                 # "cancel" or "replace"
    cl_ord_id: str
    qty: int = 0
    px: int = 0
    ord_type: str = ""
    notional_px: int = 0


@dataclass
class Parent:
    order_id: str
    client: str
    cl_ord_id: str
    symbol: str
    side: str
    qty: int
    ord_type: str
    px: int
    tif: str
    strategy: str
    notional_px: int          # the price its open quantity counts at for credit (limit, or reference at entry)
    expire_ns: int = 0
    cum_qty: int = 0
    cum_notional: int = 0     # exact sum of fill qty * px
    status: str = NEW
    pending: Pending | None = None
    ending: str = ""          # OMS-initiated end waiting for children: "expire", "eod", "kill"
    ending_text: str = ""
    exposure: int = 0         # its current contribution to credit usage
    fill_reports: dict = field(default_factory=dict)   # "child_id venue_exec_id" -> our ExecID of that fill's report
    children: list = field(default_factory=list)   # child ids, in creation order
    live: list = field(default_factory=list)       # ids of children that may still be working (pruned lazily)

    def apply(self, status: str, event: str) -> None:
        """Change the status, if the parent table allows it (``event`` names what happened, for the error)."""
        self.status = _apply("order", self.order_id, PARENT_TRANSITIONS, self.status, status, event)

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @property
    def leaves(self) -> int:
        return 0 if self.done else max(self.qty - self.cum_qty, 0)

    def working_status(self) -> str:
        """OrdStatus from quantities, keeping a pending status (FIX: fills during a pending cancel or replace are
        reported against the original order and keep the pending status)."""
        if self.cum_qty >= self.qty:
            return FILLED
        if self.pending is not None:
            return PENDING_CANCEL if self.pending.kind == "cancel" else PENDING_REPLACE
        return PARTIAL if self.cum_qty > 0 else NEW


@dataclass
class Child:
    child_id: str
    parent_id: str
    venue: str
    session: str
    symbol: str
    side: str
    qty: int
    ord_type: str
    px: int
    tif: str
    cum_qty: int = 0
    status: str = PENDING_NEW
    unknown: bool = False          # its venue session dropped: state unknown until the session returns
    cancel_requested: bool = False
    cancel_tries: int = 0          # cancels the venue refused while the parent waited (each asked again, a few)
    replace_to: tuple | None = None  # (qty, px) while a replace is pending at the venue
    fills: dict = field(default_factory=dict)  # exec_id -> qty: a venue's resent fill is not applied twice
    fill_px: dict = field(default_factory=dict)   # exec_id -> px (a bust or correction takes back exactly this)
    corrections: dict = field(default_factory=dict)   # the venue's ExecIDs of busts/corrections already applied

    def apply(self, status: str, event: str) -> None:
        """Change the status, if the child table allows it."""
        self.status = _apply("child", self.child_id, CHILD_TRANSITIONS, self.status, status, event)

    @property
    def working(self) -> bool:
        return self.status not in TERMINAL

    @property
    def open_qty(self) -> int:
        """Quantity that may still fill: while a replace is pending, the larger of old and new."""
        if not self.working:
            return 0
        qty = max(self.qty, self.replace_to[0]) if self.replace_to else self.qty
        return max(qty - self.cum_qty, 0)
