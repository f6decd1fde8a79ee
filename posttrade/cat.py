"""``seqtrade report cat``: the day's CAT order events for an agency algo broker (equities, Industry Member).

What is reported, from the log:
* MEOA instead for an order from a client that is itself a broker-dealer (the ``clients`` table's ``broker_dealer``,
  with its ``cat_imid`` CRD:IMID as ``senderIMID`` and the ClOrdID it sent as ``routedOrderID``: the linkage to its
  own route report).
* MENO for each client order the OMS accepted (received from a customer, not another CAT reporter): at the time the
  order was sequenced, ``orderID`` = our order id, ``deptType`` A (the agency algo desk), ``handlingInstructions``
  ALG and NH (not held) when the client chose an algo; ``firmDesignatedID`` and ``accountHolderType`` from the
  reference data's ``clients`` table. An order the OMS refused on receipt (risk, parameters) was still received: its
  MENO (or MEOA) and, at the same time, an MEOC by the firm for its whole quantity.
* MEOR for each child order routed to an exchange, reported against the parent order (the route of a slice of the
  client order); ``destination`` is the venue's CAT Exchange ID from the reference data, ``session`` the FIX session,
  ``routedOrderID`` the ClOrdID sent; ``routeRejectedFlag`` when the exchange rejected it.
* MEMR when an exchange acknowledged a replace of a route (``priorRoutedOrderID`` the ClOrdID it replaced), MECR
  when an exchange confirmed a cancel we asked for (cancelQty = what was open); when the exchange refused the replace
  or the cancel, the MEMR / MECR carries ``routeRejectedFlag`` true (the venue's OrderCancelReject, on the stream).
* Every exchange route event (MEOR, MEMR, MECR) carries ``senderIMID`` (CRD:IMID), part of the exchange route
  linkage key (date, senderIMID, destination, symbol, session, routedOrderID).
* MEOM when a client's cancel/replace took effect; MEOC when a client order was cancelled or expired, in full
  (``initiator`` C when the client asked, with ``requestTimestamp``; F when the firm ended it at the close or on
  expiry).
Timestamps are the sequenced times in Eastern Time to the nanosecond (``YYYYMMDD HHMMSS.CCCNNNNNN``).

Files: ``<submitter>_<IMID>_<YYYYMMDD>_OrderEvents_<NNNNNN>.json.bz2`` (newline-delimited JSON, at most
``MAX_RECORDS`` per file) and a ``.meta.json`` beside each with the record count and the SHA-256 of the compressed
file. Every record is validated first (``catvalidate``); an invalid one stops the job before anything is written,
naming the record and the field. The same log gives byte-identical files.
"""
from __future__ import annotations

import bz2
import hashlib
import json
import os
import re

from sequencer import messages as M

from . import catcheck
from .catvalidate import Validator
from .daylog import DayLog, et_stamp, px


class CatLifecycleError(ValueError):
    """The file breaks the CAT lifecycle or linkage rules: nothing is written."""

    def __init__(self, found: list[str]):
        self.found = found
        more = f" (and {len(found) - 5} more)" if len(found) > 5 else ""
        super().__init__(f"CAT file not written: {len(found)} lifecycle/linkage problem(s): "
                         f"{'; '.join(found[:5])}{more}")


MAX_RECORDS = 100_000          # the Reporter Portal's per-file limit: also fine for SFTP
_RANK = {"MENO": 0, "MEOA": 0, "MEOR": 1, "MEMR": 1, "MECR": 1, "MEOM": 2, "MEOC": 2}
SIDE = {"1": "B", "2": "SL", "5": "SS", "6": "SX"}
ORDER_TYPE = {"1": "MKT", "2": "LMT"}


_CRD_IMID = re.compile(r"^[0-9]{1,10}:[A-Z0-9]{1,7}$")


def client_problems(row: dict) -> list[str]:
    """What the CAT job would lack for one row of the clients table: a customer needs its firmDesignatedID and
    accountHolderType (MENO); a broker-dealer client (another CAT reporter: MEOA) its CRD:IMID."""
    who = row.get("client", "?")
    if row.get("broker_dealer"):
        if not _CRD_IMID.match(str(row.get("cat_imid") or "")):
            return [f"client {who} is a broker-dealer: cat_imid must be its CRD:IMID (such as 123456:ABCD), "
                    f"not {row.get('cat_imid')!r}"]
        return []
    return [f"client {who} needs its {k}" for k in ("fdid", "account_holder_type") if not row.get(k)]


class CatFirm:
    def __init__(self, submitter: str = "99999", imid: str = "SEQT", crd: str = "999999"):
        self.submitter, self.imid, self.crd = submitter, imid, crd


def _tif(tif: str, day: str) -> dict:
    """CAT's timeInForce: FIX IOC and FOK are both IOC (FOK is also a handling instruction); GTD today is GTD with
    the date."""
    if tif in ("3", "4"):
        return {"IOC": True}
    if tif == "1":
        return {"GTC": True}
    if tif == "6":
        return {"GTD": int(day)}
    return {"DAY": int(day)}


def _handling(strategy: str, tif: str) -> dict | None:
    """handlingInstructions: ALG and NH (not held) for an algo order, FOK for fill-or-kill."""
    h = {"ALG": True, "NH": True} if strategy and strategy != "LIMIT" else {}
    if tif == "4":
        h["FOK"] = True
    return h or None


class Builder:
    def __init__(self, log: DayLog, firm: CatFirm):
        self.log, self.firm = log, firm
        self.day = log.trading_day
        self.clients = {r["client"]: r for r in log.tables.get("clients", [])}

    def _base(self, event: str, ts: int, order_key_ts: int, order_id: str, symbol: str) -> dict:
        stamp = et_stamp(ts)
        return {"actionType": "NEW", "firmROEID": "", "type": event,   # numbered in the file's order by build()
                "CATReporterIMID": self.firm.imid, "orderKeyDate": et_stamp(order_key_ts), "orderID": order_id,
                "symbol": symbol, "eventTimestamp": stamp, "manualFlag": False}

    def build(self) -> list[dict]:
        # (ts, lifecycle rank, order of creation, record): the file is in time order, and at one timestamp an order's
        # lifecycle order: its new order, then its routes, then its client modification or cancel (the OMS ends a
        # parent only after its children's cancels)
        events: list[tuple[int, int, int, dict]] = []
        for o in self.log.orders.values():
            for rec in self._client_order(o):
                events.append((rec[0], _RANK[rec[1]["type"]], len(events), rec[1]))
        for ts, n, er in self.log.rejected:
            for rec in self._rejected(ts, n, er):
                events.append((rec[0], _RANK[rec[1]["type"]], len(events), rec[1]))
        for c in self.log.children.values():
            parent = self.log.orders.get(c.order.parent_id)
            if parent is None:
                continue
            for rec in self._route(c, parent):
                events.append((rec[0], _RANK[rec[1]["type"]], len(events), rec[1]))
        events.sort(key=lambda e: (e[0], e[1], e[2]))
        for n, (_, _, _, rec) in enumerate(events, 1):
            rec["firmROEID"] = f"{rec['eventTimestamp'][:8]}_{n}"
        return [rec for _, _, _, rec in events]

    def _rejected(self, ts: int, n: M.NewOrder, er: M.ExecReport):
        """An order the OMS refused on receipt (risk, parameters, TimeInForce): it was received, so it has its new
        order event ("when an order is received", IM Technical Specifications 4.1.0 §4), and it ended at once: an
        MEOC by the firm for its whole quantity."""
        yield ts, self._new_event(n, er.order_id, ts)
        m = self._base("MEOC", ts, ts, er.order_id, n.symbol)
        m.update({"cancelQty": n.qty, "leavesQty": 0, "initiator": "F"})
        yield ts, m

    def _client_order(self, o):
        n = o.new
        yield o.new_ts, self._new_event(n, o.order_id, o.new_ts)
        yield from self._client_changes(o)

    def _new_event(self, n: M.NewOrder, order_id: str, ts: int) -> dict:
        fd = self.clients.get(n.client, {})
        if fd.get("broker_dealer"):
            # from another CAT reporter: an Order Accepted, linked to that firm's route by its CRD:IMID and the
            # ClOrdID it sent us (its routedOrderID)
            r = self._base("MEOA", ts, ts, order_id, n.symbol)
            r.update({"electronicDupFlag": False, "receiverIMID": f"{self.firm.crd}:{self.firm.imid}",
                      "senderIMID": fd["cat_imid"], "senderType": "F", "routedOrderID": n.cl_ord_id,
                      "affiliateFlag": False, "deptType": "A", "side": SIDE[n.side]})
        else:
            r = self._base("MENO", ts, ts, order_id, n.symbol)
            r.update({"electronicDupFlag": False, "deptType": "A", "solicitationFlag": False, "side": SIDE[n.side]})
        if n.ord_type == "2":
            r["price"] = px(n.px)
        r.update({"quantity": n.qty, "orderType": ORDER_TYPE[n.ord_type], "timeInForce": _tif(n.tif, self.day),
                  "tradingSession": "REG"})
        if handling := _handling(n.strategy, n.tif):
            r["handlingInstructions"] = handling
        r.update({"custDspIntrFlag": False})
        if r["type"] == "MEOA":
            r.update({"isoInd": "NA", "solicitationFlag": False})
        else:
            if fd.get("fdid"):
                r["firmDesignatedID"] = fd["fdid"]
            if fd.get("account_holder_type"):
                r["accountHolderType"] = fd["account_holder_type"]
            r.update({"affiliateFlag": False, "negotiatedTradeFlag": False, "representativeInd": "N"})
        return r

    def _client_changes(self, o):
        n = o.new
        qty, cum = n.qty, 0
        for ts, er in o.reports:
            cum = er.cum_qty
            if er.exec_type == "5":          # a client cancel/replace took effect
                req = self.log.requests.get((n.client, er.cl_ord_id))
                m = self._base("MEOM", ts, o.new_ts, o.order_id, n.symbol)
                m.update({"electronicDupFlag": False})
                if req:
                    m["requestTimestamp"] = et_stamp(req[0])
                m.update({"initiator": "C", "side": SIDE[n.side]})
                if er.ord_type == "2":
                    m["price"] = px(er.px)
                m.update({"quantity": er.order_qty, "leavesQty": er.leaves_qty,
                          "orderType": ORDER_TYPE.get(er.ord_type, "LMT"), "timeInForce": _tif(n.tif, self.day),
                          "tradingSession": "REG", "isoInd": "NA", "custDspIntrFlag": False,
                          "representativeInd": "N"})
                if handling := _handling(n.strategy, n.tif):
                    m["handlingInstructions"] = handling
                qty = er.order_qty
                yield ts, m
            elif er.exec_type in ("4", "C"):
                req = self.log.requests.get((n.client, er.cl_ord_id))
                by_client = er.exec_type == "4" and req is not None and er.orig_cl_ord_id != ""
                m = self._base("MEOC", ts, o.new_ts, o.order_id, n.symbol)
                m.update({"cancelQty": qty - cum, "leavesQty": 0, "initiator": "C" if by_client else "F"})
                if by_client:
                    m["requestTimestamp"] = et_stamp(req[0])
                yield ts, m

    def _route(self, c, parent):
        ch = c.order
        venue = self.log.venues.get(ch.venue)
        dest = venue.cat_id if venue else ch.venue
        rejected = any(type(m).__name__ == "VenueReject" for _, m in c.events)
        sender = f"{self.firm.crd}:{self.firm.imid}"
        r = self._base("MEOR", c.ts, parent.new_ts, parent.order_id, ch.symbol)
        r.update({"electronicDupFlag": False, "senderIMID": sender, "destination": dest, "destinationType": "E",
                  "routedOrderID": ch.child_id})
        if ch.session:
            r["session"] = ch.session
        r["side"] = SIDE[ch.side]
        if ch.ord_type == "2":
            r["price"] = px(ch.px)
        r.update({"quantity": ch.qty, "orderType": ORDER_TYPE[ch.ord_type], "timeInForce": _tif(ch.tif, self.day),
                  "tradingSession": "REG", "affiliateFlag": False, "isoInd": "NA", "routeRejectedFlag": rejected,
                  "dupROIDCond": False, "multiLegInd": False})
        if handling := _handling("", ch.tif):
            r["handlingInstructions"] = handling
        yield c.ts, r
        # the venue gateway's ClOrdIDs: the child id, then child.N for the N-th cancel or replace it sent
        sent, routed, qty, cum, cancel_asked, replace_id = 0, ch.child_id, ch.qty, 0, False, ""
        asked: list = []    # cancels and replaces the venue has not answered, oldest first: (kind, id, qty, px)
        for ts, m in c.events:
            kind = type(m).__name__
            if kind in ("ChildCancel", "ChildReplace"):
                sent += 1
                if kind == "ChildReplace":
                    replace_id = f"{ch.child_id}.{sent}"
                    asked.append(("replace", replace_id, m.qty, m.px))
                else:
                    asked.append(("cancel", f"{ch.child_id}.{sent}", 0, 0))
                cancel_asked |= kind == "ChildCancel"
            elif kind == "VenueCancelReject" and asked:
                # the request it answers: the kind its CxlRejResponseTo names, else the oldest one outstanding
                what = {"1": "cancel", "2": "replace"}.get(m.response_to, asked[0][0])
                i = next((i for i, a in enumerate(asked) if a[0] == what), 0)
                what, ask_id, ask_qty, ask_px = asked.pop(i)
                if what == "replace":
                    mr = self._route_change("MEMR", ts, parent, ch, sender, dest, ask_id, routed, ask_qty, ask_px,
                                            rejected=True)
                    replace_id = ""
                else:
                    mr = self._route_cancel(ts, parent, ch, sender, dest, routed, max(qty - cum, 0), rejected=True)
                    cancel_asked = any(a[0] == "cancel" for a in asked)
                yield ts, mr
            elif kind == "VenueFill":
                cum += m.last_qty
            elif kind == "VenueReplaced":
                new_id = replace_id or routed
                mr = self._route_change("MEMR", ts, parent, ch, sender, dest, new_id, routed, m.qty, m.px)
                routed, qty = new_id, m.qty
                asked = [a for a in asked if a[0] != "replace"]
                yield ts, mr
            elif kind == "VenueCanceled" and cancel_asked:
                yield ts, self._route_cancel(ts, parent, ch, sender, dest, routed, max(qty - cum, 0))

    def _route_cancel(self, ts, parent, ch, sender, dest, routed, cancel_qty, rejected=False) -> dict:
        mc = self._base("MECR", ts, parent.new_ts, parent.order_id, ch.symbol)
        mc.update({"cancelQty": cancel_qty, "senderIMID": sender, "destination": dest, "destinationType": "E",
                   "routedOrderID": routed})
        if ch.session:
            mc["session"] = ch.session
        mc.update({"routeRejectedFlag": rejected, "multiLegInd": False})
        return mc

    def _route_change(self, event, ts, parent, ch, sender, dest, new_id, prior, qty, price, rejected=False) -> dict:
        mr = self._base(event, ts, parent.new_ts, parent.order_id, ch.symbol)
        mr.update({"senderIMID": sender, "destination": dest, "destinationType": "E", "routedOrderID": new_id,
                   "priorRoutedOrderID": prior})
        if ch.session:
            mr["session"] = ch.session
        mr["side"] = SIDE[ch.side]
        if ch.ord_type == "2":
            mr["price"] = px(price)
        mr.update({"quantity": qty, "orderType": ORDER_TYPE[ch.ord_type], "timeInForce": _tif(ch.tif, self.day),
                   "tradingSession": "REG", "affiliateFlag": False, "isoInd": "NA", "routeRejectedFlag": rejected,
                   "dupROIDCond": False, "multiLegInd": False})
        return mr


def file_base(firm: CatFirm, day: str, number: int) -> str:
    return f"{firm.submitter}_{firm.imid}_{day}_OrderEvents_{number:06d}"


def write(log: DayLog, out_dir: str, firm: CatFirm | None = None) -> list[str]:
    """Validates every record, then writes the data and metadata files. Returns the data files' paths."""
    firm = firm or CatFirm()
    records = Builder(log, firm).build()
    v = Validator(firm.imid)
    for i, r in enumerate(records, 1):
        v.check(r, i)                       # raises CatInvalid before anything is written
    found = catcheck.problems(records)      # the specification's lifecycle and linkage rules, over the whole file
    if found:
        raise CatLifecycleError(found)
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for k in range(0, max(len(records), 1), MAX_RECORDS):
        chunk = records[k:k + MAX_RECORDS]
        base = file_base(firm, log.trading_day, k // MAX_RECORDS + 1)
        text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in chunk).encode()
        data = bz2.compress(text, 9)
        path = os.path.join(out_dir, base + ".json.bz2")
        with open(path, "wb") as f:
            f.write(data)
        meta = {"type": "META", "doneForDay": True, "fileGenerationDate": log.trading_day,
                "submitter": firm.submitter, "fileVersion": "4.1.0", "reporter": firm.imid,
                "files": [{"fileName": base + ".json.bz2", "recordCount": len(chunk),
                           "compressedHash": hashlib.sha256(data).hexdigest()}]}
        with open(os.path.join(out_dir, base + ".meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")
        paths.append(path)
    return paths


def read(path: str) -> list[dict]:
    with bz2.open(path, "rt") as f:
        return [json.loads(line) for line in f]
