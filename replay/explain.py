"""The causal chain of one client order in a day's log: FIX in, parent accepted, each child, each venue answer,
each report out, with seq and sequenced time (New York) at every hop."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sequencer import messages as M
from sequencer.log import LogReader, stderr_notice

NEW_YORK = ZoneInfo("America/New_York")
T = M.TAG_OF_CLASS
_CLIENT = {T[M.NewOrder], T[M.CancelRequest], T[M.ReplaceRequest], T[M.StatusRequest]}
_OMS_OUT = {T[M.ExecReport], T[M.CancelReject]}
_PARENT = {T[c] for c in (M.ChildNewRequest, M.ChildOrder, M.ChildRefused, M.AlgoPause, M.AlgoEnd, M.OmsAlert)}
_CHILD = {T[c] for c in (M.ChildCancelRequest, M.ChildReplaceRequest, M.ChildCancel, M.ChildReplace, M.VenueAck,
                         M.VenueFill, M.VenueReject, M.VenueCanceled, M.VenueReplaced, M.VenueCancelReject)}


def _ny(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts / 1e9, NEW_YORK).strftime("%H:%M:%S.%f")


def chain(path: str, order: str) -> list[str]:
    """``order``: the OMS order id (``O123``) or a client's ClOrdID. Lines for people, in seq order."""
    reader = LogReader(path, notice=stderr_notice)
    order_id, keys, children = "", set(), set()
    for r in reader.records():           # first pass: who is who
        t = r.type
        if t in _OMS_OUT:
            m = r.msg
            if m.order_id == order or m.cl_ord_id == order or (order_id and m.order_id == order_id):
                order_id = order_id or m.order_id
                keys.add((m.client, m.cl_ord_id))
        elif t in _PARENT and order_id:
            m = r.msg
            if getattr(m, "parent_id", "") == order_id and getattr(m, "child_id", ""):
                children.add(m.child_id)
    if not order_id:
        raise ValueError(f"no order {order!r} in {path} (give the OMS order id, such as O123, or a ClOrdID)")
    lines = [f"order {order_id}: {len(keys)} ClOrdID(s), {len(children)} child order(s)",
             f"{'seq':>9}  {'time (New York)':<15}  {'source':<9}  what"]
    for r in reader.records():           # second pass: the chain
        t, hit = r.type, False
        if t in _CLIENT:
            m = r.msg
            hit = (m.client, m.cl_ord_id) in keys
        elif t in _OMS_OUT:
            hit = r.msg.order_id == order_id
        elif t in _PARENT:
            hit = getattr(r.msg, "parent_id", "") == order_id
        elif t in _CHILD:
            hit = r.msg.child_id in children
        if hit:
            d = M.to_display(r.msg)
            kind = d.pop("type")
            body = " ".join(f"{k}={v}" for k, v in d.items() if v not in ("", 0, None, {}, []) and k != "cause_seq")
            cause = getattr(r.msg, "cause_seq", 0)
            lines.append(f"{r.seq:>9}  {_ny(r.ts):<15}  {r.source:<9}  {kind} {body}"
                         + (f"  (decided on seq {cause})" if cause else ""))
    return lines
