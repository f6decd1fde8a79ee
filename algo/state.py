"""What the container knows about each parent it works and each child it asked for."""
from __future__ import annotations

from dataclasses import dataclass, field

from sequencer.fixvalues import OrdStatus, OrdType, TimeInForce

TERMINAL = (OrdStatus.FILLED, OrdStatus.DONE_FOR_DAY, OrdStatus.CANCELED, OrdStatus.REJECTED, OrdStatus.EXPIRED)


@dataclass
class AlgoParent:
    order_id: str
    client: str
    cl_ord_id: str
    symbol: str
    side: str
    qty: int
    ord_type: str
    px: int                    # limit (0 for a market parent)
    strategy: str
    start_ns: int
    end_ns: int
    participation_bp: int
    params: dict
    seed: int                  # the NewOrder's seq: a per-order seed from the stream
    tif: str = TimeInForce.DAY
    cum_qty: int = 0
    cum_notional: int = 0
    status: str = OrdStatus.NEW
    changing: bool = False     # a client cancel/replace is pending: the OMS is taking the children back
    paused: str = ""           # why the container stopped working it
    ending: bool = False       # end time reached, AlgoEnd sent
    end_due: bool = False      # the end time came while a client change was pending: end once it completes
    started: bool = False
    children: list = field(default_factory=list)   # child ids, in creation order
    live: list = field(default_factory=list)       # ids of children that may still be open (pruned lazily)

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @property
    def leaves(self) -> int:
        return 0 if self.done else max(self.qty - self.cum_qty, 0)

    @property
    def limit(self) -> int:
        return self.px if self.ord_type == OrdType.LIMIT else 0

    @property
    def active(self) -> bool:
        """May the strategy act now?"""
        return self.started and not (self.done or self.changing or self.paused or self.ending)


@dataclass
class AlgoChild:
    child_id: str
    parent_id: str
    venue: str
    session: str
    qty: int
    px: int
    ord_type: str
    tif: str
    cum_qty: int = 0
    acked: bool = False
    closed: bool = False
    cancel_requested: bool = False
    replace_to: tuple | None = None

    @property
    def open_qty(self) -> int:
        if self.closed:
            return 0
        qty = max(self.qty, self.replace_to[0]) if self.replace_to else self.qty
        return max(qty - self.cum_qty, 0)

    @property
    def passive(self) -> bool:
        return self.tif not in (TimeInForce.IMMEDIATE_OR_CANCEL, TimeInForce.FILL_OR_KILL)
