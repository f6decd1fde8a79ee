"""One pass over a closed day's log, keeping what the post-trade jobs need: the day's reference data, every client
order with its reports, every child order with what the venue did to it, the consolidated NBBO and the market's
trades per symbol, and the sequencer's clock samples. The jobs read the log, never the live system.

Busts and corrections are applied as they are read: a busted fill leaves the child's events and the order's reports,
a corrected one takes its new quantity and price there, so every job reports the fills that stand at the end of the
day (the Trade Cancel / Trade Correct reports themselves are kept in ``Order.corrections``)."""
from __future__ import annotations

import bisect
import datetime as dt
import sys
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import msgspec

from sequencer import messages as M
from sequencer import record
from sequencer.log import LogReader, stderr_notice

NY = ZoneInfo("America/New_York")
T = M.TAG_OF_CLASS
KEEP = {T[c] for c in (M.DayStart, M.Security, M.Venue, M.RefTable, M.NewOrder, M.CancelRequest, M.ReplaceRequest,
                       M.ExecReport, M.CancelReject, M.ChildOrder, M.ChildCancel, M.ChildReplace, M.VenueAck,
                       M.VenueFill, M.VenueReject, M.VenueCanceled, M.VenueReplaced, M.VenueCancelReject, M.Quote,
                       M.Trade, M.ClockSample, M.FixReject, M.ChildRefused, M.AlgoPause, M.OmsAlert,
                       M.VenueTradeCorrection, M.ChildNewRequest)}


@dataclass
class Order:
    order_id: str
    new: M.NewOrder
    new_ts: int                      # when the client's order was sequenced (received)
    reports: list = field(default_factory=list)   # [(ts, ExecReport)], fills as they stand after busts
    corrections: list = field(default_factory=list)   # [(ts, ExecReport)] the Trade Cancel / Correct reports

    @property
    def last(self) -> M.ExecReport:
        return self.reports[-1][1]


@dataclass
class Child:
    order: M.ChildOrder
    ts: int                          # when the OMS approved it for the venue
    events: list = field(default_factory=list)    # [(ts, msg)] venue answers and our cancels/replaces
    asked_ts: int = 0                # when the algo decided to send it (its ChildNewRequest) ...
    asked_seq: int = 0               # ... and the seq of that request


class DayLog:
    def __init__(self, path: str, progress: bool = False):
        self.path = path
        r = LogReader(path, notice=stderr_notice)
        self.trading_day = r.trading_day
        self.open_ns = self.close_ns = 0
        self.securities: dict[str, M.Security] = {}
        self.venues: dict[str, M.Venue] = {}
        self.tables: dict[str, list[dict]] = {}
        self.orders: dict[str, Order] = {}                 # by order id, in arrival order
        self.rejected: list[tuple[int, M.NewOrder, M.ExecReport]] = []
        self.requests: dict[tuple, tuple[int, M.Msg]] = {}  # (client, cl_ord_id) -> (ts, request)
        self.cancel_rejects: list[tuple[int, M.CancelReject]] = []
        self.children: dict[str, Child] = {}
        self.nbbo: dict[str, list] = {}                    # symbol -> [(ts, bid_px, ask_px)]
        self.venue_quotes: dict[str, dict[str, list]] = {}  # symbol -> venue -> [(ts, seq, bid_px, ask_px)]
        self.trades: dict[str, list] = {}                  # symbol -> [(ts, px, qty, venue)]
        self.prints: dict[tuple, list] = {}                # (symbol, venue, px, qty) -> [(seq, ts)] of feed prints
        self.clock: list[tuple[int, M.ClockSample]] = []
        self.fix_rejects: list[tuple[int, M.FixReject]] = []
        self.alerts: list[tuple[int, M.Msg]] = []          # ChildRefused, AlgoPause, OmsAlert
        self.records = 0
        self.last_ts = 0
        self._asked: dict[str, tuple] = {}                 # child id -> (ts, seq) when the algo asked for it
        self.fill_seq: dict[tuple, int] = {}               # (child id, venue exec id) -> the fill's seq
        self._seq = 0
        n = 0
        for _off, body in r.raw_from(1):
            n += 1
            if progress and n % 500_000 == 0:
                print(f"  read {n:,} records", file=sys.stderr, flush=True)
            if record.peek_head(body)[3] in KEEP:
                rec = record.decode_body(body)
                self._seq = rec.seq
                self._take(rec.ts, rec.msg)
        self.records = n

    def _take(self, ts: int, m) -> None:
        self.last_ts = ts
        t = type(m)
        if t is M.Quote:
            if m.venue == "":
                self.nbbo.setdefault(m.symbol, []).append((ts, self._seq, m.bid_px, m.ask_px))
            else:
                self.venue_quotes.setdefault(m.symbol, {}).setdefault(m.venue, []).append(
                    (ts, self._seq, m.bid_px, m.ask_px))
        elif t is M.Trade:
            self.trades.setdefault(m.symbol, []).append((ts, m.px, m.qty, m.venue))
            self.prints.setdefault((m.symbol, m.venue, m.px, m.qty), []).append((self._seq, ts))
        elif t is M.ChildNewRequest:
            self._asked[m.child_id] = (ts, self._seq)
        elif t is M.ChildOrder:
            asked = self._asked.pop(m.child_id, (ts, self._seq))
            self.children[m.child_id] = Child(m, ts, asked_ts=asked[0], asked_seq=asked[1])
        elif t in (M.VenueAck, M.VenueFill, M.VenueReject, M.VenueCanceled, M.VenueReplaced, M.VenueCancelReject,
                   M.ChildCancel, M.ChildReplace):
            c = self.children.get(m.child_id)
            if c is not None:
                c.events.append((ts, m))
                if t is M.VenueFill:
                    self.fill_seq[(m.child_id, m.exec_id)] = self._seq
        elif t is M.VenueTradeCorrection:
            c = self.children.get(m.child_id)
            if c is not None:
                c.events[:] = _corrected(c.events, lambda e: type(e) is M.VenueFill and e.exec_id == m.ref_exec_id,
                                         m, "last_qty", "last_px")
        elif t is M.ExecReport and m.exec_type in ("H", "G"):
            o = self.orders.get(m.order_id)
            if o is not None:
                o.corrections.append((ts, m))
                o.reports[:] = _corrected(o.reports, lambda e: e.exec_type == "F" and e.exec_id == m.exec_ref_id,
                                          m, "last_qty", "last_px", bust=m.exec_type == "H")
        elif t is M.ExecReport:
            o = self.orders.get(m.order_id)
            if o is None:
                req = self.requests.get((m.client, m.cl_ord_id))
                if m.exec_type == "8" or req is None or type(req[1]) is not M.NewOrder:
                    if req is not None:
                        self.rejected.append((ts, req[1], m))
                    return
                o = self.orders[m.order_id] = Order(m.order_id, req[1], req[0])
            o.reports.append((ts, m))
        elif t in (M.NewOrder, M.CancelRequest, M.ReplaceRequest):
            self.requests[(m.client, m.cl_ord_id)] = (ts, m)
        elif t is M.CancelReject:
            self.cancel_rejects.append((ts, m))
        elif t is M.ClockSample:
            self.clock.append((ts, m))
        elif t is M.FixReject:
            self.fix_rejects.append((ts, m))
        elif t in (M.ChildRefused, M.AlgoPause, M.OmsAlert):
            self.alerts.append((ts, m))
        elif t is M.Security:
            self.securities[m.symbol] = m
        elif t is M.Venue:
            self.venues[m.venue] = m
        elif t is M.RefTable:
            self.tables[m.name] = [dict(zip(m.columns, row)) for row in m.rows]
        elif t is M.DayStart:
            self.open_ns, self.close_ns = m.open_ns, m.close_ns

    def nbbo_at(self, symbol: str, ts: int, seq: int | None = None) -> tuple[int, int] | None:
        """The consolidated NBBO (bid, ask) in force at ``ts`` (the last one sequenced at or before it); with ``seq``,
        the last one sequenced before that record (several records can share a time)."""
        q = self.nbbo.get(symbol)
        if not q:
            return None
        i = bisect.bisect_right(q, (ts, float("inf") if seq is None else seq, 0, 0)) - 1
        return (q[i][2], q[i][3]) if i >= 0 else None


    def away_at(self, symbol: str, venue: str, ts: int, seq: int | None = None) -> tuple[int, int] | None:
        """The best bid and ask displayed by the venues other than ``venue`` (their protected quotes) as last sequenced
        before ``ts`` / ``seq``; 0 for a side no other venue shows; None before any other venue has quoted."""
        bids, asks, seen = [], [], False
        key = (ts, float("inf") if seq is None else seq, 0, 0)
        for v, q in sorted(self.venue_quotes.get(symbol, {}).items()):
            i = -1 if v == venue else bisect.bisect_right(q, key) - 1
            if i < 0:
                continue
            seen = True
            if q[i][2]:
                bids.append(q[i][2])
            if q[i][3]:
                asks.append(q[i][3])
        return (max(bids, default=0), min(asks, default=0)) if seen else None

    def print_of(self, symbol: str, venue: str, px: int, qty: int, seq: int, taken: set) -> tuple[int, int] | None:
        """``(seq, ts)`` of the venue's feed print of a fill sequenced at ``seq``: the latest print of that price and
        quantity on that venue before it, not already ``taken`` by another fill. A venue's feed reaches the stream
        sooner than its FIX report does, so the print places the execution in the market as it happened."""
        cands = self.prints.get((symbol, venue, px, qty), ())
        i = bisect.bisect_left(cands, (seq,)) - 1
        while i >= 0 and cands[i] in taken:
            i -= 1
        if i < 0:
            return None
        taken.add(cands[i])
        return cands[i]

    def nbbo_after(self, symbol: str, ts: int) -> tuple[int, int] | None:
        """The first NBBO sequenced after ``ts`` (market data starts when an app subscribes, which an order causes)."""
        q = self.nbbo.get(symbol)
        if not q:
            return None
        i = bisect.bisect_left(q, (ts,))
        return (q[i][2], q[i][3]) if i < len(q) else None


def et(ns: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ns // 1_000_000_000, NY)


def et_stamp(ns: int) -> str:
    """CAT's string Timestamp in Eastern Time to the nanosecond: ``YYYYMMDD HHMMSS.CCCNNNNNN`` (25 characters)."""
    return et(ns).strftime("%Y%m%d %H%M%S") + f".{ns % 1_000_000_000:09d}"


def px(v: int) -> int | float:
    """A price or amount in PRICE_SCALE units as a JSON number: exact (6 decimals at most), whole numbers as ints."""
    whole, frac = divmod(v, M.PRICE_SCALE)
    return whole if frac == 0 else v / M.PRICE_SCALE


def _corrected(events: list, is_fill, m, qty_field: str, px_field: str, bust: bool | None = None) -> list:
    """``events`` ([(ts, msg)]) with the fill ``is_fill`` names taken out (a bust) or given the correction's quantity
    and price. ``bust`` defaults to the venue's ``kind``."""
    if bust is None:
        bust = m.kind == "bust"
    out = []
    for ts, e in events:
        if is_fill(e):
            if bust:
                continue
            e = msgspec.structs.replace(e, **{qty_field: getattr(m, qty_field), px_field: getattr(m, px_field)})
        out.append((ts, e))
    return out
