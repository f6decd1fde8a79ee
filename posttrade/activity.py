"""``seqtrade report activity``: the daily activity report for supervision.

* per client and symbol: orders, executions, shares and notional executed;
* executions outside the NBBO at the time of execution (each venue fill against the consolidated NBBO sequenced
  at or before it; no tolerance for odd lots or ISOs, as this flow has none);
* rejects and cancels, by reason;
* patterns for a supervisor to review (flags, not findings): possible wash trading (one client executed on both
  sides of a symbol within the day) and possible layering (a client order book in one symbol where at least five
  orders were cancelled, 80% or more of them, while the same client executed on the other side)."""
from __future__ import annotations

import os

from sequencer.messages import format_price

from .daylog import DayLog, et


def report(log: DayLog) -> str:
    rows: dict[tuple, list] = {}             # (client, symbol) -> [orders, executions, shares, notional]
    sides: dict[tuple, set] = {}
    cancels: dict[tuple, list] = {}          # (client, symbol, side) -> [orders, cancelled]
    cancel_reasons: dict[str, int] = {}
    for o in log.orders.values():
        n = o.new
        key = (n.client, n.symbol)
        r = rows.setdefault(key, [0, 0, 0, 0])
        r[0] += 1
        for _, er in o.reports:
            if er.exec_type == "F":
                r[1] += 1
                r[2] += er.last_qty
                r[3] += er.last_qty * er.last_px
                sides.setdefault(key, set()).add(n.side)
        c = cancels.setdefault((n.client, n.symbol, n.side), [0, 0])
        c[0] += 1
        if o.last.ord_status in ("4", "C"):
            c[1] += 1
            why = o.last.text or ("client request" if o.last.orig_cl_ord_id else "cancelled")
            cancel_reasons[why] = cancel_reasons.get(why, 0) + 1
    out = [f"Daily activity report, trading day {log.trading_day}", "", "per client and symbol",
           f"  {'client':10} {'symbol':6} {'orders':>6} {'executions':>10} {'shares':>10} {'notional':>16}"]
    for (client, sym), r in sorted(rows.items()):
        out.append(f"  {client:10} {sym:6} {r[0]:>6} {r[1]:>10,} {r[2]:>10,} {r[3] / 1e12:>16,.2f}")
    # executions outside the NBBO
    outside, checked, crossed = [], 0, 0
    for c in log.children.values():
        for ts, m in c.events:
            if type(m).__name__ != "VenueFill":
                continue
            checked += 1
            q = log.nbbo_at(c.order.symbol, ts)
            if not (q and q[0] and q[1]):
                continue
            if q[0] > q[1]:
                crossed += 1          # a crossed market has no inside to be outside of
            elif not q[0] <= m.last_px <= q[1]:
                outside.append((ts, c, m, q))
    out += ["", f"executions outside the NBBO at the time of execution: {len(outside)} of {checked:,} venue fills "
                f"({crossed:,} more when the NBBO was crossed, not judged)"]
    for ts, c, m, q in outside[:50]:
        out.append(f"  {et(ts).strftime('%H:%M:%S')}.{ts // 1_000_000 % 1000:03d} {c.order.child_id} {c.order.symbol} "
                   f"{m.last_qty}@{format_price(m.last_px)} on {c.order.venue}; NBBO "
                   f"{format_price(q[0])} x {format_price(q[1])}")
    if len(outside) > 50:
        out.append(f"  ... {len(outside) - 50} more")
    rejects: dict[str, int] = {}
    for _, n, er in log.rejected:
        k = er.risk_code or er.text
        rejects[k] = rejects.get(k, 0) + 1
    for _, m in log.fix_rejects:
        k = f"FIX {m.ref_msgtype} rejected by the gateway: {m.text}"
        rejects[k] = rejects.get(k, 0) + 1
    for _, m in log.cancel_rejects:
        k = f"cancel/replace rejected: {m.risk_code or m.text}"
        rejects[k] = rejects.get(k, 0) + 1
    out += ["", "rejects by reason"] + [f"  {v:>5}  {k}" for k, v in sorted(rejects.items())] or ["  none"]
    out += ["", "cancels by reason"] + [f"  {v:>5}  {k}" for k, v in sorted(cancel_reasons.items())]
    flags = []
    for (client, sym), s in sorted(sides.items()):
        if "1" in s and s - {"1"}:       # a buy and any kind of sell
            flags.append(f"  possible wash trading: {client} executed both buys and sells in {sym}")
    for (client, sym, side), (n, cx) in sorted(cancels.items()):
        other = sides.get((client, sym), set()) - {side}
        if n >= 5 and cx / n >= 0.8 and other:
            flags.append(f"  possible layering: {client} {sym} side {side}: {cx} of {n} orders cancelled while "
                         f"executing on the other side")
    out += ["", "patterns flagged for review (not findings)"] + (flags or ["  none"])
    return "\n".join(out) + "\n"


def write(log: DayLog, out_dir: str) -> str:
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"activity-{log.trading_day}.txt")
    with open(path, "w") as f:
        f.write(report(log))
    return path
