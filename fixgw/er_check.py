"""The FIX order-state rules a client holds a broker to, checked on every ExecutionReport it receives: what the
client simulator reports as violations. Pure: feed it what was sent and what came back.

Rules (FIX 4.2 and 4.4; 4.2 reports are read in 4.4 terms first: fills 150=1/2 are trades, 20=3 is a status reply,
OrdStatus 5 is an open order):
* every report names a ClOrdID we sent; ExecIDs are never reused (status replies aside);
* ExecType and OrdStatus go together (a trade leaves the order partially filled or filled, a cancel canceled ...);
* the first report of an order is New, Pending New or Rejected;
* nothing but status replies after an order is done (filled, canceled, rejected, expired, done for day);
* CumQty never goes down, grows by exactly LastQty on a trade and not otherwise; LastQty and LastPx are positive;
* OrdStatus is Filled exactly when CumQty reaches OrderQty;
* open: CumQty + LeavesQty = OrderQty; done: LeavesQty = 0;
* OrderQty is what we asked for (the replaced quantity once a replace is acknowledged);
* a limit order never fills through its limit;
* AvgPx is the quantity-weighted average of the fills (to the 6 decimals prices carry);
* a trade cancel (4.4 ExecType H, 4.2 ExecTransType 1) or correct (G, 2) names a fill we had (ExecRefID), may come
  after the order was filled, and moves CumQty by exactly what it takes back or changes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

DONE = frozenset("248C3")    # filled, canceled, rejected, expired, done for day
# a pending cancel or replace outranks partially filled in OrdStatus (FIX precedence), so a trade may carry 6 or E
STATUS_OF_TYPE = {"0": {"0"}, "F": {"1", "2", "6", "E"}, "4": {"4"}, "8": {"8"}, "5": {"0", "1", "2"}, "6": {"6"},
                  "E": {"E"}, "C": {"C"}, "3": {"3"}, "A": {"A"}, "D": {"0", "1", "2"},
                  "H": set("0124C36E"), "G": set("0124C36E")}
TICK = Decimal("0.000001")


@dataclass
class Order:
    first_cl: str
    side: str
    qty: int
    ord_type: str
    px: Decimal | None
    strategy: str = ""
    cum: int = 0
    notional: Decimal = Decimal(0)
    status: str = ""
    reports: int = 0
    pending_qty: dict = field(default_factory=dict)   # replace ClOrdID -> (qty, ord_type, px)
    fills: dict = field(default_factory=dict)         # ExecID of a fill report -> (qty, px), for busts/corrections


class ErChecker:
    def __init__(self):
        self.orders: dict[str, Order] = {}      # first ClOrdID -> order
        self.by_cl: dict[str, Order] = {}       # any ClOrdID we sent -> its order
        self.exec_ids: set[str] = set()
        self.violations: list[str] = []
        self.reports = 0

    # -- what we sent ---------------------------------------------------------------------------------------------
    def sent(self, msgtype: str, v: dict[int, str]) -> None:
        if msgtype == "D":
            o = Order(v[11], v[54], int(v[38]), v[40], Decimal(v[44]) if 44 in v else None, v.get(847, ""))
            self.orders[v[11]] = o
            self.by_cl[v[11]] = o
        elif msgtype in ("F", "G") and v.get(41) in self.by_cl:
            o = self.by_cl[v[41]]
            self.by_cl[v[11]] = o
            if msgtype == "G":
                o.pending_qty[v[11]] = (int(v[38]), v[40], Decimal(v[44]) if 44 in v else None)

    # -- what came back -------------------------------------------------------------------------------------------
    def received(self, v: dict[int, str]) -> None:
        self.reports += 1
        cl = v.get(11, "")
        o = self.by_cl.get(cl)
        if o is None:
            return self._bad(cl, "report for a ClOrdID we never sent")
        et, st = v.get(150, ""), v.get(39, "")
        if v.get(20) == "3":                       # 4.2 status reply
            et = "I"
        elif v.get(20) in ("1", "2"):              # 4.2 trade cancel / correct
            et = "H" if v[20] == "1" else "G"
        elif et in ("1", "2") and v.get(20, "0") == "0":
            et = "F"                               # 4.2 partial fill / fill
        if st == "5":                              # 4.2 replaced: open with nothing filled
            st = "0"
        if et == "I":
            return self._quantities(o, cl, v, st)
        x = v.get(17, "")
        if x in self.exec_ids:
            self._bad(cl, f"ExecID {x} reused")
        self.exec_ids.add(x)
        if st not in STATUS_OF_TYPE.get(et, {st}):
            self._bad(cl, f"ExecType {v.get(150)} with OrdStatus {v.get(39)}")
        if o.reports == 0 and et not in ("0", "A", "8"):
            self._bad(cl, f"first report is ExecType {v.get(150)}, not New, Pending New or Rejected")
        if o.status in DONE and et not in ("H", "G"):
            self._bad(cl, f"ExecType {v.get(150)} after the order was done (OrdStatus {o.status})")
        o.reports += 1
        if et == "5" and cl in o.pending_qty:
            o.qty, o.ord_type, o.px = o.pending_qty.pop(cl)
        cum = int(Decimal(v.get(14, "0")))
        if et == "F":
            last_qty, last_px = int(Decimal(v.get(32, "0"))), Decimal(v.get(31, "0"))
            if last_qty <= 0 or last_px <= 0:
                self._bad(cl, f"a trade with LastQty {v.get(32)} LastPx {v.get(31)}")
            if cum != o.cum + last_qty:
                self._bad(cl, f"CumQty {cum} after a trade of {last_qty} on {o.cum}")
            if o.ord_type == "2" and o.px is not None and (last_px > o.px if o.side == "1" else last_px < o.px):
                self._bad(cl, f"filled at {last_px} through the limit {o.px}")
            o.notional += last_qty * last_px
            o.fills[x] = (last_qty, last_px)
            if st in ("1", "2") and (st == "2") != (cum >= o.qty):
                self._bad(cl, f"OrdStatus {st} with CumQty {cum} of OrderQty {o.qty}")
        elif et in ("H", "G"):
            ref = v.get(19, "")
            if ref not in o.fills:
                self._bad(cl, f"ExecType {v.get(150)} names ExecRefID {ref!r}, not a fill of this order")
            else:
                old_qty, old_px = o.fills.pop(ref)
                new_qty, new_px = (0, Decimal(0)) if et == "H" else (int(Decimal(v.get(32, "0"))),
                                                                     Decimal(v.get(31, "0")))
                if cum != o.cum - old_qty + new_qty:
                    self._bad(cl, f"CumQty {cum} after a trade {'cancel' if et == 'H' else 'correct'} of "
                                  f"{old_qty} on {o.cum}")
                o.notional += new_qty * new_px - old_qty * old_px
                if et == "G":
                    o.fills[x] = (new_qty, new_px)
            o.cum = cum
        elif cum != o.cum:
            self._bad(cl, f"CumQty moved from {o.cum} to {cum} without a trade (ExecType {v.get(150)})")
        o.cum = max(o.cum, cum)
        o.status = st
        self._quantities(o, cl, v, st)

    def _quantities(self, o: Order, cl: str, v: dict, st: str) -> None:
        qty, cum, leaves = int(Decimal(v.get(38, "0"))), int(Decimal(v.get(14, "0"))), int(Decimal(v.get(151, "0")))
        if qty != o.qty:
            self._bad(cl, f"OrderQty {qty}, but the order is for {o.qty}")
        if st in DONE:
            if leaves != 0:
                self._bad(cl, f"LeavesQty {leaves} on a done order (OrdStatus {st})")
        elif cum + leaves != qty:
            self._bad(cl, f"CumQty {cum} + LeavesQty {leaves} is not OrderQty {qty}")
        if cum and 6 in v:
            want = o.notional / cum if o.notional else None
            if want is not None and abs(Decimal(v[6]) - want) > TICK:
                self._bad(cl, f"AvgPx {v[6]} but the fills average {want:.6f}")

    def _bad(self, cl: str, text: str) -> None:
        self.violations.append(f"{cl}: {text}")

    # -- the day's end --------------------------------------------------------------------------------------------
    def open_orders(self) -> list[str]:
        return [cl for cl, o in self.orders.items() if o.status not in DONE]
