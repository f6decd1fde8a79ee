"""Parent (client) and child (venue) order state. Plain data with the derived quantities FIX defines."""
from __future__ import annotations

from dataclasses import dataclass, field

# FIX 4.4 OrdStatus (39)
NEW, PARTIAL, FILLED, DONE_FOR_DAY, CANCELED = "0", "1", "2", "3", "4"
PENDING_CANCEL, REJECTED, PENDING_NEW, EXPIRED, PENDING_REPLACE = "6", "8", "A", "C", "E"
# FIX 4.4 ExecType (150) values that are not also OrdStatus values
ET_REPLACED, ET_TRADE, ET_STATUS, ET_RESTATED = "5", "F", "I", "D"
ET_TRADE_CANCEL, ET_TRADE_CORRECT = "H", "G"

TERMINAL = (FILLED, DONE_FOR_DAY, CANCELED, REJECTED, EXPIRED)


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
