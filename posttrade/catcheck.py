"""CAT lifecycle and linkage rules that the JSON schema cannot express, from the text of FINRA's Industry Member
Technical Specifications v4.1.0 (see ``../shared/reference/regulatory/README.md``), checked over a whole file before
it is written. The schema marks ``senderIMID``, ``session`` and ``routedOrderID`` Conditional; the condition is in
the specification's text, and this module is that text as code, written apart from the writer (``cat.py``):

* an exchange route (MEOR with destinationType E) carries the whole exchange route linkage key: the event date,
  ``senderIMID`` (CRD:IMID), ``destination``, ``symbol``, ``session`` and ``routedOrderID`` (errors 2091 / 6005);
  ``senderIMID`` differs from ``destination`` (2189); the key is unique among the day's routes;
* a route modification (MEMR) names a route the file reported (``priorRoutedOrderID``) and, unless the venue
  rejected it, starts a new route whose key is unique; a route cancellation (MECR) names a route the file reported;
* lifecycle: every event of an order comes after the order's new-order event (MENO or MEOA), in time order; nothing
  follows an order's full cancellation (MEOC with ``leavesQty`` 0); quantities are not negative.

``problems(records)`` returns every problem found, each naming the record (1-based, in file order) and the rule.
"""
from __future__ import annotations

import re

_SENDER = re.compile(r"\d+:[A-Z0-9]{1,8}")
_NEW = ("MENO", "MEOA")
_ROUTES = ("MEOR", "MEMR", "MECR")


def _key(r: dict, routed_field: str = "routedOrderID") -> tuple:
    return (r.get("eventTimestamp", "")[:8], r.get("senderIMID"), r.get("destination"), r.get("symbol"),
            r.get("session"), r.get(routed_field))


def problems(records: list[dict]) -> list[str]:
    out: list[str] = []
    opened: set[str] = set()          # orderIDs whose new-order event has been seen
    closed: dict[str, int] = {}        # orderID -> record number of its full cancellation
    routes: set[tuple] = set()         # linkage keys of the routes reported so far
    last_ts = ""
    for n, r in enumerate(records, 1):
        event, order, ts = r.get("type"), r.get("orderID"), r.get("eventTimestamp", "")
        where = f"record {n} ({event} {order})"
        if ts < last_ts:
            out.append(f"{where}: eventTimestamp {ts} before the previous record's {last_ts}")
        last_ts = max(last_ts, ts)
        if event in _NEW:
            opened.add(order)
        elif order not in opened:
            out.append(f"{where}: comes before the order's new-order event (MENO/MEOA)")
        if order in closed:
            out.append(f"{where}: after the order was fully cancelled (record {closed[order]})")
        for q in ("quantity", "cancelQty", "leavesQty"):
            if isinstance(r.get(q), (int, float)) and r[q] < 0:
                out.append(f"{where}: {q} {r[q]} is negative")
        if event == "MEOC" and r.get("leavesQty") == 0:
            closed[order] = n
        if event not in _ROUTES or r.get("destinationType") != "E":
            continue
        missing = [f for f in ("senderIMID", "destination", "symbol", "session", "routedOrderID") if not r.get(f)]
        if missing:
            out.append(f"{where}: exchange route without {', '.join(missing)} (part of the linkage key)")
            continue
        if not _SENDER.fullmatch(r["senderIMID"]):
            out.append(f"{where}: senderIMID {r['senderIMID']!r} is not CRD:IMID")
        if r["senderIMID"] == r["destination"]:
            out.append(f"{where}: senderIMID equals destination")
        if event == "MEOR" or (event == "MEMR" and not r.get("routeRejectedFlag")):
            key = _key(r)
            if key in routes and not r.get("dupROIDCond"):
                out.append(f"{where}: route linkage key {key} is not unique")
            routes.add(key)
        if event == "MEMR" and _key(r, "priorRoutedOrderID") not in routes:
            out.append(f"{where}: priorRoutedOrderID {r.get('priorRoutedOrderID')!r} names no route in the file")
        if event == "MECR" and _key(r) not in routes:
            out.append(f"{where}: routedOrderID {r['routedOrderID']!r} names no route in the file")
    return out
