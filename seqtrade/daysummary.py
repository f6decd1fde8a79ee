"""The trader's summary of a day, read from the day's log alone (so it is the same for the in-process demo, the
multi-process day and any archived log): orders by strategy with filled % and slippage against the interval VWAP,
child orders and venues, rejects and alerts and why, internal latencies on sequenced time, records sequenced.
The figures per order are the TCA job's (``posttrade/tca.py``), so the summary and the report always agree."""
from __future__ import annotations

from posttrade.daylog import DayLog
from posttrade.tca import analyse

STATUS_NAMES = {"2": "filled", "4": "canceled", "8": "rejected", "C": "expired", "3": "done for day"}


def percentile(xs: list, p: float) -> float:
    xs = sorted(xs)
    return xs[min(int(len(xs) * p), len(xs) - 1)] if xs else 0.0


def reasons(log: DayLog) -> dict[str, int]:
    out: dict[str, int] = {}

    def add(k: str) -> None:
        out[k] = out.get(k, 0) + 1
    for _, _, er in log.rejected:
        add(f"order rejected: {er.risk_code or er.text}")
    for _, m in log.alerts:
        name = type(m).__name__
        if name == "ChildRefused" and m.request != "new":
            add(f"child {m.request} too late (it had filled or closed): {m.code}")
        else:
            add(f"{name}: {m.code}")
    for c in log.children.values():
        for _, m in c.events:
            if type(m).__name__ == "VenueReject":
                add(f"VenueReject: {m.text}")
    for _, m in log.fix_rejects:
        add(f"FIX reject to {m.session} ({m.ref_msgtype}): {m.text}")
    return out


def print_summary(log: DayLog, speed: float = 1.0) -> None:
    rows = analyse(log)
    print(f"\norders by strategy ({len(rows) + len(log.rejected)} client orders)")
    print(f"  {'strategy':8} {'orders':>6} {'filled %':>9} {'slippage bp vs interval VWAP, + = cost (mean, worst)':>54}")
    by: dict[str, list] = {}
    for t in rows:
        by.setdefault(t.order.new.strategy or "LIMIT", []).append(t)
    for _, n, _ in log.rejected:
        by.setdefault(n.strategy or "LIMIT", [])
    for strat in sorted(by):
        ts = by[strat]
        filled = sum(t.executed for t in ts) / max(sum(t.order.last.order_qty for t in ts), 1)
        slips = [s for s in (t.slip(t.vwap) for t in ts) if s is not None]
        s = f"{sum(slips) / len(slips):+.1f}, {max(slips):+.1f}" if slips else "-"   # worst: the largest cost
        n = len(ts) + sum(1 for _, o, _ in log.rejected if (o.strategy or "LIMIT") == strat)
        print(f"  {strat:8} {n:>6} {filled:>8.1%} {s:>54}")
    status: dict[str, int] = {}
    for t in rows:
        status[t.order.last.ord_status] = status.get(t.order.last.ord_status, 0) + 1
    if log.rejected:
        status["8"] = status.get("8", 0) + len(log.rejected)
    print("  final status: " + ", ".join(f"{STATUS_NAMES.get(k, 'open ' + k)} {v}" for k, v in sorted(status.items())))
    print("\nper order: " + "  ".join(
        f"{t.order.order_id} {t.order.new.strategy} {t.order.new.symbol} {t.executed:,}/{t.order.last.order_qty:,}"
        + (f" {s:+.1f}bp" if (s := t.slip(t.vwap)) is not None else "") for t in rows[:12])
        + (" ..." if len(rows) > 12 else ""))
    venues: dict[str, int] = {}
    for c in log.children.values():
        venues[c.order.venue] = venues.get(c.order.venue, 0) + 1
    print(f"\nchild orders: {len(log.children):,} ("
          + ", ".join(f"{v} {n:,}" for v, n in sorted(venues.items())) + ")")
    print("rejects and alerts: " + ("; ".join(f"{k} x{v}" for k, v in sorted(reasons(log).items())) or "none"))
    ack = [o.reports[0][0] - o.new_ts for o in log.orders.values()]
    ack += [ts - log.requests[(n.client, n.cl_ord_id)][0] for ts, n, _ in log.rejected]
    child_ack = [next(ts for ts, m in c.events if type(m).__name__ == "VenueAck") - c.ts
                 for c in log.children.values() if any(type(m).__name__ == "VenueAck" for _, m in c.events)]
    if ack or child_ack:
        def us(ns):
            return f"{ns / speed / 1000:,.0f} us"
        print(f"latency on sequenced time (divided by the clock speed x{speed:g}): client request to first report "
              f"p50 {us(percentile(ack, .5))} p99 {us(percentile(ack, .99))}; child order to venue ack "
              f"p50 {us(percentile(child_ack, .5))} p99 {us(percentile(child_ack, .99))}")
