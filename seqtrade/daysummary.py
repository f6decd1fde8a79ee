"""The trader's summary of a day, read from the day's log alone (so it is the same for the in-process demo, the
multi-process day and any archived log): orders by strategy with filled % and slippage against the interval VWAP,
child orders and venues, rejects and alerts and why, internal latencies on sequenced time, records sequenced."""
from __future__ import annotations

from dataclasses import dataclass

from sequencer import messages as M
from sequencer import record
from sequencer.log import LogReader

T = M.TAG_OF_CLASS
WANTED = {T[c] for c in (M.NewOrder, M.ExecReport, M.Trade, M.ChildOrder, M.VenueAck, M.VenueReject,
                         M.ChildRefused, M.AlgoPause, M.OmsAlert, M.FixReject)}
STATUS_NAMES = {"2": "filled", "4": "canceled", "8": "rejected", "C": "expired", "3": "done for day"}


@dataclass
class Parent:
    order_id: str
    client: str
    symbol: str
    side: str
    strategy: str
    qty: int = 0
    cum_qty: int = 0
    cum_notional: int = 0
    status: str = ""
    start_ns: int = 0
    end_ns: int = 0


def percentile(xs: list, p: float) -> float:
    xs = sorted(xs)
    return xs[min(int(len(xs) * p), len(xs) - 1)] if xs else 0.0


class DayFacts:
    """One pass over the log, keeping only what the summary needs."""

    def __init__(self, path: str):
        self.path = path
        self.records = 0
        self.parents: dict[str, Parent] = {}
        self.trades: dict[str, list] = {}             # symbol -> [(ts, px, qty)]
        self.children_by_venue: dict[str, int] = {}
        self.reasons: dict[str, int] = {}
        self.new_ts: dict[tuple, int] = {}            # (client, cl_ord_id) -> ts of the sequenced request
        self.ack_ns: list[int] = []                   # client request -> its first report, sequenced time
        self.child_ts: dict[str, int] = {}
        self.child_ack_ns: list[int] = []             # child order out -> venue ack, sequenced time
        self.first_ts = self.last_ts = 0
        r = LogReader(path)
        self.trading_day = r.trading_day
        n, ts = 0, 0
        for _off, body in r.raw_from(1):   # decode only the records the summary reads
            n += 1
            _seq, ts, _sseq, typ, _ = record.peek_head(body)
            if typ in WANTED:
                self._take(record.decode_body(body))
            elif n == 1:
                self.first_ts = ts
        self.records, self.last_ts = n, ts

    def _take(self, rec) -> None:
        m, ts = rec.msg, rec.ts
        t = type(m)
        if t is M.Trade:
            self.trades.setdefault(m.symbol, []).append((ts, m.px, m.qty))
        elif t is M.NewOrder:
            self.new_ts[(m.client, m.cl_ord_id)] = ts
        elif t is M.ExecReport:
            p = self.parents.get(m.order_id)
            if p is None:
                p = self.parents[m.order_id] = Parent(m.order_id, m.client, m.symbol, m.side, m.strategy or "LIMIT")
                sent = self.new_ts.pop((m.client, m.cl_ord_id), None)
                if sent is not None:
                    self.ack_ns.append(ts - sent)
            if m.exec_type == "0" and not p.start_ns:
                p.start_ns = ts
            p.qty, p.cum_qty, p.cum_notional, p.status, p.end_ns = (m.order_qty, m.cum_qty, m.cum_notional_px,
                                                                    m.ord_status, ts)
            if m.exec_type == "8":
                self._reason(f"order rejected: {m.risk_code or m.text}")
        elif t is M.ChildOrder:
            self.children_by_venue[m.venue] = self.children_by_venue.get(m.venue, 0) + 1
            self.child_ts[m.child_id] = ts
        elif t is M.VenueAck:
            sent = self.child_ts.pop(m.child_id, None)
            if sent is not None:
                self.child_ack_ns.append(ts - sent)
        elif t is M.ChildRefused:
            if m.request != "new":
                self._reason(f"child {m.request} too late (it had filled or closed): {m.code}")
            else:
                self._reason(f"ChildRefused: {m.code}")
        elif t is M.VenueReject:
            self._reason(f"VenueReject: {m.text}")
        elif t is M.FixReject:
            self._reason(f"FIX reject to {m.session} ({m.ref_msgtype}): {m.text}")
        elif t in (M.AlgoPause, M.OmsAlert):
            self._reason(f"{t.__name__}: {m.code}")

    def _reason(self, k: str) -> None:
        self.reasons[k] = self.reasons.get(k, 0) + 1

    def slippage_bp(self, p: Parent) -> float | None:
        """Signed bp of the order's average price against the market's VWAP over the order's working interval
        (positive = worse for the client)."""
        tr = [(px, q) for ts, px, q in self.trades.get(p.symbol, []) if p.start_ns <= ts <= p.end_ns]
        vol = sum(q for _, q in tr)
        if not (p.cum_qty and vol):
            return None
        mkt = sum(px * q for px, q in tr) / vol
        avg = p.cum_notional / p.cum_qty
        return (1 if p.side == "1" else -1) * (avg - mkt) / mkt * 10_000


def print_summary(f: DayFacts, speed: float = 1.0) -> None:
    print(f"\norders by strategy ({len(f.parents)} client orders)")
    print(f"  {'strategy':8} {'orders':>6} {'filled %':>9} {'slippage bp vs interval VWAP (mean, worst)':>44}")
    by: dict[str, list] = {}
    for p in f.parents.values():
        by.setdefault(p.strategy, []).append(p)
    for strat in sorted(by):
        ps = by[strat]
        filled = sum(p.cum_qty for p in ps) / max(sum(p.qty for p in ps), 1)
        slips = [s for s in (f.slippage_bp(p) for p in ps) if s is not None]
        s = f"{sum(slips) / len(slips):+.1f}, {max(slips, key=abs):+.1f}" if slips else "-"
        print(f"  {strat:8} {len(ps):>6} {filled:>8.1%} {s:>44}")
    status: dict[str, int] = {}
    for p in f.parents.values():
        status[p.status] = status.get(p.status, 0) + 1
    print("  final status: " + ", ".join(f"{STATUS_NAMES.get(k, 'open ' + k)} {v}" for k, v in sorted(status.items())))
    print("\nper order: " + "  ".join(
        f"{p.order_id} {p.strategy} {p.symbol} {p.cum_qty:,}/{p.qty:,}"
        + (f" {s:+.1f}bp" if (s := f.slippage_bp(p)) is not None else "")
        for p in sorted(f.parents.values(), key=lambda p: int(p.order_id.lstrip("O") or 0))[:12])
        + (" ..." if len(f.parents) > 12 else ""))
    total = sum(f.children_by_venue.values())
    print(f"\nchild orders: {total:,} ("
          + ", ".join(f"{v} {n:,}" for v, n in sorted(f.children_by_venue.items())) + ")")
    print("rejects and alerts: " + ("; ".join(f"{k} x{v}" for k, v in sorted(f.reasons.items())) or "none"))
    if f.ack_ns or f.child_ack_ns:
        def us(ns):
            return f"{ns / speed / 1000:,.0f} us"
        print(f"latency on sequenced time (divided by the clock speed x{speed:g}): client request to first report "
              f"p50 {us(percentile(f.ack_ns, .5))} p99 {us(percentile(f.ack_ns, .99))}; child order to venue ack "
              f"p50 {us(percentile(f.child_ack_ns, .5))} p99 {us(percentile(f.child_ack_ns, .99))}")
