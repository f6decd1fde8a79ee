"""``seqtrade report oats``: the day as a legacy OATS FORE file. OATS IS RETIRED: FINRA deleted the OATS rules on
1 Sept 2021 (CAT replaced it); this file has no regulatory destination and is kept only for firms that archive the
old format alongside CAT.

Layout (2004-2006 OATS technical specification, comma delimited, LF line ends): a ``#HD#`` header, one ``#OE#``
record per reportable event, a ``#TR#`` trailer with the event count. Events: ``NW`` new order for each accepted
client order, ``RT`` route for each child order sent to an exchange (with the exchange's participant id and the
session as connection id, for exchange route matching), ``CL`` cancel when a client order ended cancelled or
expired. Executions (``EX``) are reports of executions *by the reporting firm*; an agency algo's routed orders are
executed by the exchanges, which report them, so none are written. Timestamps are YYYYMMDDHHMMSS, Eastern Time."""
from __future__ import annotations

import os

from .daylog import DayLog, et
from sequencer.messages import format_price

SIDE = {"1": "B", "2": "SL", "5": "SS", "6": "SX"}
TIF = {"0": "DAY", "1": "GTC", "3": "IOC"}


def _ts(ns: int) -> str:
    return et(ns).strftime("%Y%m%d%H%M%S")


def records(log: DayLog, mpid: str = "SEQT", fore_id: str = "1") -> list[list[str]]:
    day = log.trading_day
    out = [["#HD#", "OATS D1999-01", day, fore_id, mpid, "", "", mpid]]
    events = []
    for o in log.orders.values():
        n = o.new
        received = _ts(o.new_ts)
        common = ["N", "", "", "", "", received, o.order_id, ""]
        handling = "NH" if n.strategy and n.strategy != "LIMIT" else ""
        events.append((o.new_ts, ["#OE#", "NW"] + common + [
            "", received, "E", n.symbol, SIDE[n.side], str(n.qty), format_price(n.px) if n.ord_type == "2" else "",
            "", "", TIF.get(n.tif, "DAY"), "", "", "", handling, "", "", "", "", "", "A", "A", "", "", ""]))
        for ts, er in o.reports:
            if er.exec_type in ("4", "C"):
                qty = er.order_qty - er.cum_qty
                by_client = er.exec_type == "4" and er.orig_cl_ord_id != ""
                events.append((ts, ["#OE#", "CL"] + common[:-1] + [
                    n.symbol, _ts(ts), "F", str(qty), "0", "C" if by_client else "F", ""]))
    for c in log.children.values():
        parent = log.orders.get(c.order.parent_id)
        if parent is None:
            continue
        ch, v = c.order, log.venues.get(c.order.venue)
        events.append((c.ts, ["#OE#", "RT", "N", "", "", "", "", _ts(parent.new_ts), parent.order_id, "",
                              ch.child_id, v.cat_id if v else ch.venue, _ts(c.ts), str(ch.qty), "E", "", "", "X",
                              ch.symbol, SIDE[ch.side], format_price(ch.px) if ch.ord_type == "2" else "",
                              TIF.get(ch.tif, "DAY"), mpid, ch.session]))
    events.sort(key=lambda e: e[0])   # stable: same-time events keep their order
    out += [e[1] for e in events]
    out.append(["#TR#", str(len(events))])
    return out


def write(log: DayLog, out_dir: str, mpid: str = "SEQT") -> str:
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"OATS_{mpid}_{log.trading_day}.fore")
    with open(path, "w", newline="\n") as f:
        for r in records(log, mpid):
            f.write(",".join(r) + "\n")
    return path
