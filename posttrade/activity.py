"""``seqtrade report activity``: the daily activity report for supervision.

* per client and symbol: orders, executions, shares and notional executed;
* trade-throughs (Reg NMS Rule 611): venue fills at a price worse than a quote another venue was displaying, judged
  against each other venue's top as sequenced just before the fill's print on the venue's feed (the feed reaches the
  stream sooner than the venue's FIX report, so the print places the execution), each with its likely cause (an order sweeping
  several venues at once, ISO-style; a quote shown for under a second, which the executing venue could not yet have
  seen, the rule's own "flickering quote" exception; the market moving between the algo's decision and the venue;
  or for review). A fill walking the executing venue's own book is not a trade-through: the report says how many
  fills lie outside the consolidated NBBO printed before them only for that reason;
* rejects and cancels, by reason;
* patterns for a supervisor to review (flags, not findings): possible wash trading (one client executed on both
  sides of a symbol within the day) and possible layering (a client order book in one symbol where at least five
  orders were cancelled, 80% or more of them, while the same client executed on the other side).

Beside the text report, CSV files for the desk and for review tools: every trade-through
(``activity-outside-nbbo-DAY.csv``, with the protected quote it traded through), every client order with its final state (``orders-DAY.csv``) and every venue
fill (``fills-DAY.csv``). Prices in dollars, times New York time."""
from __future__ import annotations

import csv
import os
from typing import NamedTuple

from sequencer.messages import PRICE_SCALE, format_price

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
    out = [f"Daily activity report, trading day {log.trading_day} (prices in dollars, notional in $ millions, "
           f"times New York)", "", "per client and symbol",
           f"  {'client':10} {'symbol':6} {'orders':>6} {'executions':>10} {'shares':>10} {'notional $m':>16}"]
    for (client, sym), r in sorted(rows.items()):
        out.append(f"  {client:10} {sym:6} {r[0]:>6} {r[1]:>10,} {r[2]:>10,} {r[3] / PRICE_SCALE / 1e6:>16,.2f}")
    t = trade_throughs(log)
    out += ["", f"trade-throughs (a fill worse than another venue's displayed quote, sequenced just before it): "
                f"{len(t.found)} of {t.checked:,} venue fills ({t.crossed:,} more while the other venues' quotes "
                f"crossed each other, not judged); by cause:"]
    for k in (SWEEP, FLICKER, MOVED, REVIEW):
        out.append(f"  {sum(1 for x in t.found if x[4] == k):>6}  {CAUSES[k]}")
    out.append(f"  fills outside the consolidated NBBO printed before them but not trade-throughs: {t.own_book:,} "
               f"(one order taking several price levels of the executing venue's own book at once)")
    review = [x for x in t.found if x[4] == REVIEW]
    out.append(f"  every trade-through is in activity-outside-nbbo-{log.trading_day}.csv; those for review:")
    for ts, c, m, q, _ in review[:50]:
        out.append(f"  {_time(ts)[:12]} {c.order.child_id} {c.order.symbol} {c.order.side} "
                   f"{m.last_qty}@{format_price(m.last_px)} on {c.order.venue}; other venues "
                   f"{format_price(q[0])} x {format_price(q[1])}")
    if not review:
        out.append("  none")
    if len(review) > 50:
        out.append(f"  ... {len(review) - 50} more")
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


SWEEP, FLICKER, MOVED, REVIEW = "sweep", "flicker", "moved", "review"
CAUSES = {SWEEP: "part of a sweep: the same order took the better-priced quote at the same time (ISO-style, Rule "
                 "611(b)(6))",
          FLICKER: "the quote traded through had been displayed for under a second, and the venue's quote a second "
                   "earlier allowed the price (Rule 611(b)(8): the executing venue could not yet have seen it)",
          MOVED: "the child was priced at or inside the NBBO when the algo sent it; the market moved before it "
                 "executed",
          REVIEW: "for review: the child was priced outside the NBBO when sent, and no sweep explains it"}
FLICKER_NS = 1_000_000_000


class TradeThroughs(NamedTuple):
    found: list        # [(ts, child, fill, (away bid, away ask), cause)]
    checked: int       # venue fills judged
    crossed: int       # fills while the other venues' quotes crossed each other (nothing to judge against)
    own_book: int      # fills outside the consolidated NBBO only because the order walked its own venue's book


def _through(px: int, q: tuple[int, int]) -> bool:
    return bool(q[0] and px < q[0]) or bool(q[1] and px > q[1])


def cause(log: DayLog, c, m, ts: int, seq: int | None, sweeps: dict) -> str:
    """Why a fill traded through another venue's quote."""
    ch = c.order
    buy = ch.side == "1"
    better = [o for o in sweeps.get((ch.parent_id, c.asked_ts), ()) if (o.px < ch.px if buy else o.px > ch.px)]
    if ch.tif in ("3", "4") and better:
        return SWEEP
    # Rule 611(b)(8): a quote that a second earlier was no better than the trade's price is a flickering quote
    earlier = log.away_at(ch.symbol, ch.venue, ts - FLICKER_NS, None)
    if earlier and not _through(m.last_px, earlier):
        return FLICKER
    q = log.nbbo_at(ch.symbol, c.asked_ts, c.asked_seq)
    if ch.ord_type == "2" and q and q[0] and q[1]:
        if (ch.px <= q[1] if buy else ch.px >= q[0]) and (ch.tif in ("3", "4") or q[0] <= ch.px <= q[1]):
            return MOVED
    return REVIEW


def trade_throughs(log: DayLog) -> TradeThroughs:
    """Each venue fill against the other venues' quotes sequenced before it (several records can share a time, so
    the fill's own sequence number places it)."""
    found, checked, crossed, own, taken = [], 0, 0, 0, set()
    sweeps: dict = {}                    # (parent, time sent) -> the taking children sent together
    for c in log.children.values():
        if c.order.tif in ("3", "4"):
            sweeps.setdefault((c.order.parent_id, c.asked_ts), []).append(c.order)
    for c in log.children.values():
        for ts, m in c.events:
            if type(m).__name__ != "VenueFill":
                continue
            checked += 1
            seq = log.fill_seq.get((m.child_id, m.exec_id))
            if seq is not None and (p := log.print_of(c.order.symbol, c.order.venue, m.last_px, m.last_qty, seq,
                                                      taken)):
                seq, ts = p                  # judged when it executed: its print on the venue's feed
            away = log.away_at(c.order.symbol, c.order.venue, ts, seq)
            if not away:
                continue
            if away[0] and away[1] and away[0] > away[1]:
                crossed += 1
            elif _through(m.last_px, away):
                found.append((ts, c, m, away, cause(log, c, m, ts, seq, sweeps)))
            else:
                q = log.nbbo_at(c.order.symbol, ts, seq)
                own += bool(q and q[0] and q[1] and q[0] <= q[1] and _through(m.last_px, q))
    return TradeThroughs(found, checked, crossed, own)


def _time(ts: int) -> str:
    return f"{et(ts).strftime('%H:%M:%S')}.{ts % 1_000_000_000:09d}"


def write(log: DayLog, out_dir: str) -> str:
    os.makedirs(out_dir, exist_ok=True)
    day = log.trading_day
    path = os.path.join(out_dir, f"activity-{day}.txt")
    with open(path, "w") as f:
        f.write(report(log))
    with open(os.path.join(out_dir, f"activity-outside-nbbo-{day}.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["time_ny", "child_id", "parent_id", "symbol", "side", "venue", "qty", "px", "away_bid",
                    "away_ask", "through_by", "child_px", "child_tif", "cause"])
        for ts, c, m, q, why in trade_throughs(log).found:
            through = q[0] - m.last_px if q[0] and m.last_px < q[0] else m.last_px - q[1]
            w.writerow([_time(ts), c.order.child_id, c.order.parent_id, c.order.symbol, c.order.side, c.order.venue,
                        m.last_qty, format_price(m.last_px), format_price(q[0]), format_price(q[1]),
                        format_price(through), format_price(c.order.px), c.order.tif, why])
    with open(os.path.join(out_dir, f"orders-{day}.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["order_id", "client", "cl_ord_id", "symbol", "side", "strategy", "ord_type", "limit_px", "qty",
                    "received_ny", "cum_qty", "avg_px", "status", "last_report_ny"])
        for o in log.orders.values():
            n, last = o.new, o.last
            avg = format_price(last.cum_notional_px // last.cum_qty) if last.cum_qty else ""
            w.writerow([o.order_id, n.client, last.cl_ord_id, n.symbol, n.side, n.strategy, n.ord_type,
                        format_price(n.px) if n.px else "", last.order_qty, _time(o.new_ts), last.cum_qty, avg,
                        last.ord_status, _time(o.reports[-1][0])])
    with open(os.path.join(out_dir, f"fills-{day}.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["time_ny", "order_id", "child_id", "symbol", "side", "venue", "qty", "px", "exec_id",
                    "liquidity"])
        for c in log.children.values():
            for ts, m in c.events:
                if type(m).__name__ == "VenueFill":
                    w.writerow([_time(ts), c.order.parent_id, c.order.child_id, c.order.symbol, c.order.side,
                                c.order.venue, m.last_qty, format_price(m.last_px), m.exec_id, m.liquidity])
    return path
