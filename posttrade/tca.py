"""``seqtrade report tca``: execution quality per client order, as a table and as charts.

Per order: arrival price (NBBO midpoint when the order arrived), interval VWAP (the market's trades while the order
worked), average execution price, slippage against both in basis points (positive = cost to the client),
participation (our executions / market volume in the interval), fill rate, and executions by venue. Charts (PNG,
matplotlib): per order, executed quantity over time against the target schedule (VWAP: the market's volume profile
over the order's window; TWAP: even over the window; POV: the target rate of the market's volume; limit orders have
none) with the market's volume per minute below; and a day summary of slippage and fill rate per order."""
from __future__ import annotations

import bisect
import os
from dataclasses import dataclass, field

from sequencer.messages import PRICE_SCALE, format_price

from .daylog import DayLog, Order, et


@dataclass
class Tca:
    order: Order
    start: int
    end: int
    arrival: float | None
    vwap: float | None
    avg: float | None
    market_vol: int
    executed: int
    venues: dict = field(default_factory=dict)

    @property
    def sign(self) -> int:
        return 1 if self.order.new.side == "1" else -1

    def slip(self, ref: float | None) -> float | None:
        if ref is None or self.avg is None:
            return None
        return self.sign * (self.avg - ref) / ref * 10_000

    @property
    def fill_rate(self) -> float:
        return self.executed / self.order.last.order_qty if self.order.last.order_qty else 0.0

    @property
    def participation(self) -> float:
        return self.executed / self.market_vol if self.market_vol else 0.0


def analyse(log: DayLog) -> list[Tca]:
    out = []
    for o in log.orders.values():
        start = next((ts for ts, er in o.reports if er.exec_type == "0"), o.new_ts)
        end = o.reports[-1][0]
        q = log.nbbo_at(o.new.symbol, o.new_ts) or log.nbbo_after(o.new.symbol, o.new_ts)
        arrival = (q[0] + q[1]) / 2 if q and q[0] and q[1] else None
        trades = log.trades.get(o.new.symbol, [])
        i, j = bisect.bisect_left(trades, (start,)), bisect.bisect_right(trades, (end, float("inf")))
        window = trades[i:j]
        vol = sum(t[2] for t in window)
        vwap = sum(t[1] * t[2] for t in window) / vol if vol else None
        last = o.last
        avg = last.cum_notional_px / last.cum_qty if last.cum_qty else None
        t = Tca(o, start, end, arrival, vwap, avg, vol, last.cum_qty)
        for _, er in o.reports:
            if er.exec_type == "F":
                t.venues[er.last_mkt] = t.venues.get(er.last_mkt, 0) + er.last_qty
        out.append(t)
    return out


def _bp(x: float | None) -> str:
    return f"{x:+.1f}" if x is not None else "-"


SIDE_NAMES = {"1": "buy", "2": "sell", "5": "short", "6": "shortx"}
STATUS_NAMES = {"0": "new", "1": "partial", "2": "filled", "4": "canceled", "C": "expired", "8": "rejected"}
CONVENTION = ("Slippage in basis points of the benchmark, signed so that + is a cost to the client (a buy above the "
              "benchmark, a sell below it) and - a saving. Prices in dollars; 'arrival' is the NBBO mid when the OMS "
              "accepted the order, 'ivwap' the market's VWAP over the order's working interval. Times are New York "
              "time.")


def table(rows: list[Tca]) -> str:
    head = (f"{'order':>8} {'clordid':10} {'client':8} {'strategy':8} {'symbol':6} {'side':6} {'qty':>8} "
            f"{'filled':>8} {'fill%':>6} {'status':8} {'arrival':>10} {'ivwap':>10} {'avg px':>10} {'vs arr bp':>9} "
            f"{'vs vwap bp':>10} {'partic%':>7}  venues")
    out = [head]
    for t in rows:
        n = t.order.new

        def p(x):
            return format_price(round(x)) if x is not None else "-"
        out.append(f"{t.order.order_id:>8} {t.order.last.cl_ord_id[:10]:10} {n.client:8} {n.strategy:8} {n.symbol:6} "
                   f"{SIDE_NAMES.get(n.side, n.side):6} {t.order.last.order_qty:>8,} {t.executed:>8,} "
                   f"{100 * t.fill_rate:>5.1f}% {STATUS_NAMES.get(t.order.last.ord_status, t.order.last.ord_status):8} "
                   f"{p(t.arrival):>10} {p(t.vwap):>10} {p(t.avg):>10} {_bp(t.slip(t.arrival)):>9} "
                   f"{_bp(t.slip(t.vwap)):>10} {100 * t.participation:>6.1f}%  "
                   + " ".join(f"{v}:{q:,}" for v, q in sorted(t.venues.items())))
    ordered = sum(t.order.last.order_qty for t in rows)
    executed = sum(t.executed for t in rows)
    notional = sum(t.executed * (t.avg or 0) for t in rows)
    weighted = [(t.slip(t.vwap), t.executed * (t.avg or 0)) for t in rows if t.slip(t.vwap) is not None]
    cost = sum(s * w for s, w in weighted) / max(sum(w for _, w in weighted), 1)
    out.append(f"\ntotal: {len(rows)} orders, {ordered:,} shares ordered, {executed:,} executed "
               f"({100 * executed / max(ordered, 1):.1f}%), ${notional / PRICE_SCALE:,.2f} executed notional; "
               f"slippage vs interval VWAP weighted by notional {cost:+.1f} bp")
    return "\n".join(out) + "\n"


def _target(t: Tca, times: list[int], cumvol: list[int]) -> list[float] | None:
    n, qty = t.order.new, t.order.last.order_qty
    end = n.end_ns or t.end
    if n.strategy == "TWAP":
        return [qty * min(max((x - t.start) / max(end - t.start, 1), 0), 1) for x in times]
    if n.strategy == "VWAP":
        total = cumvol[-1] or 1
        return [qty * v / total for v in cumvol]
    if n.strategy == "POV":
        return [min(qty, n.participation_bp / 10_000 * v) for v in cumvol]
    return None


def charts(log: DayLog, rows: list[Tca], out_dir: str) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    matplotlib.rcParams.update({"font.size": 8})
    paths = []
    for t in rows:
        n = t.order.new
        fills = [(ts, er.cum_qty) for ts, er in t.order.reports if er.exec_type == "F"]
        trades = [x for x in log.trades.get(n.symbol, []) if t.start <= x[0] <= t.end]
        # the market's cumulative volume sampled every 10 seconds: enough for a chart, and a day has ~10^5 prints
        step = 10_000_000_000
        times, cumvol, acc, i = [], [], 0, 0
        for at in range(t.start, t.end + step, step):
            while i < len(trades) and trades[i][0] <= at:
                acc += trades[i][2]
                i += 1
            times.append(min(at, t.end))
            cumvol.append(acc)
        fig, (ax, axp, axv) = plt.subplots(3, 1, figsize=(7, 6), sharex=True,
                                           gridspec_kw={"height_ratios": [3, 2, 1]})
        ax.step([et(ts) for ts in [t.start] + [f[0] for f in fills]], [0] + [f[1] for f in fills], where="post",
                label="executed", color="#1f77b4")
        target = _target(t, times, cumvol)
        if target:
            ax.plot([et(x) for x in times], target, "--", color="#ff7f0e", label=f"{n.strategy} target")
        ax.set_ylabel("shares")
        ax.set_title(f"{t.order.order_id} {n.client} {n.strategy} {'buy' if n.side == '1' else 'sell'} "
                     f"{t.order.last.order_qty:,} {n.symbol}: filled {100 * t.fill_rate:.1f}%, "
                     f"{_bp(t.slip(t.vwap))} bp vs interval VWAP")
        ax.legend(loc="upper left")
        # the price panel: the market's prints and our fills, with the order's average price
        if trades:
            axp.plot([et(x[0]) for x in trades], [x[1] / PRICE_SCALE for x in trades], ",", color="#999999",
                     label="market prints")
        mine = [(ts, er.last_px) for ts, er in t.order.reports if er.exec_type == "F"]
        if mine:
            axp.plot([et(ts) for ts, _ in mine], [px / PRICE_SCALE for _, px in mine], ".", color="#1f77b4",
                     markersize=3, label="our fills")
        if t.avg:
            axp.axhline(t.avg / PRICE_SCALE, color="#2ca02c", linewidth=0.8, label="our average")
        axp.set_ylabel("price $")
        if trades or mine:
            axp.legend(loc="upper left", fontsize=6)
        per_min: dict[int, int] = {}
        for x in trades:
            per_min[x[0] // 60_000_000_000] = per_min.get(x[0] // 60_000_000_000, 0) + x[2]
        if per_min:
            mins = sorted(per_min)
            axv.bar([et(m * 60_000_000_000) for m in mins], [per_min[m] for m in mins], width=1 / 1440,
                    color="#999999")
        axv.set_ylabel("market vol/min")
        axv.set_xlabel("New York time")
        fig.autofmt_xdate()
        path = os.path.join(out_dir, f"tca-{t.order.order_id}.png")
        fig.savefig(path, dpi=90, metadata={"Software": None})
        plt.close(fig)
        paths.append(path)
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    names = [f"{t.order.order_id}\n{t.order.new.strategy}" for t in rows]
    colors = {"VWAP": "#1f77b4", "TWAP": "#2ca02c", "POV": "#d62728", "LIMIT": "#9467bd"}
    a1.bar(range(len(rows)), [t.slip(t.vwap) or 0 for t in rows],
           color=[colors.get(t.order.new.strategy, "#777777") for t in rows])
    a1.axhline(0, color="black", linewidth=0.5)
    a1.set_ylabel("bp vs interval VWAP\n(+ = cost)")
    a1.set_title(f"Execution quality, {log.trading_day}: {len(rows)} client orders")
    a2.bar(range(len(rows)), [100 * t.fill_rate for t in rows], color="#7f7f7f")
    a2.set_ylabel("filled %")
    a2.set_xticks(range(len(rows)), names, rotation=90, fontsize=6)
    fig.tight_layout()
    path = os.path.join(out_dir, f"tca-day-{log.trading_day}.png")
    fig.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(fig)
    return paths + [path]


def write(log: DayLog, out_dir: str, progress=None) -> str:
    os.makedirs(out_dir, exist_ok=True)
    rows = analyse(log)
    path = os.path.join(out_dir, f"tca-{log.trading_day}.txt")
    with open(path, "w") as f:
        f.write(f"Transaction cost analysis, trading day {log.trading_day}\n{CONVENTION}\n\n" + table(rows))
    charts(log, rows, out_dir)
    return path
