"""FIX application messages to and from the stream's messages, for both gateways. Pure functions, no I/O.

Client side: NewOrderSingle (D), OrderCancelRequest (F), OrderCancelReplaceRequest (G) and OrderStatusRequest (H) in
as ``NewOrder``/``CancelRequest``/``ReplaceRequest``/``StatusRequest``; ``ExecReport``/``CancelReject`` out as
ExecutionReport (8) / OrderCancelReject (9), in FIX 4.2 or 4.4 semantics (``exec_semantics``).

Venue side: ``ChildOrder``/``ChildCancel``/``ChildReplace`` out as D/F/G (ClOrdID = the child id, then
``<child id>.<n>`` for each cancel or replace), venue ExecutionReports and OrderCancelRejects back as ``VenueAck``,
``VenueFill``, ``VenueReject``, ``VenueCanceled``, ``VenueReplaced`` and ``VenueCancelReject``.

A value the session layer's dictionary let through but that we cannot use raises ``MappingError`` with the tag, and
the gateway answers with a BusinessMessageReject.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from refdata.tables import parse_value
from sequencer import messages as M

from . import dictionary as D
from .exec_semantics import FIX44, avg_px, cxl_rej_reason, exec_fields, ord_rej_reason
from .session import fix_time, parse_fix_time

# TargetStrategy (847): FIX values 1 VWAP, 2 POV; 1000+ are bilateral: ours are 1000 LIMIT, 1001 TWAP
STRATEGY_OF_847 = {"1": "VWAP", "2": "POV", "1000": "LIMIT", "1001": "TWAP"}
TAG_OF_STRATEGY = {v: k for k, v in STRATEGY_OF_847.items()}
# documented custom tags for NewOrder.params (checked by oms/params.py)
PARAM_TAGS = {9002: "interval_s", 9003: "tol_bp", 9004: "min_bp", 9005: "max_bp"}
BIZ_OTHER, BIZ_UNSUPPORTED, BIZ_NOT_AUTHORIZED = 0, 3, 6   # BusinessRejectReason (380)
# bounds on what a counterparty's message may carry: far beyond any real order, well inside the stream's integers
MAX_QTY = 10**10                         # shares
MAX_PX = 10**7 * M.PRICE_SCALE           # $10,000,000 a share
MAX_TIME_NS = 4_102_444_800 * 10**9      # 2100-01-01 UTC


class MappingError(ValueError):
    def __init__(self, tag: int, text: str, reason: int = BIZ_OTHER):
        self.tag, self.reason = tag, reason
        super().__init__(text)


def values_of(fields) -> dict[int, str]:
    """Tag -> value (first occurrence) of a framed message's fields."""
    return {int(t): v.decode(errors="replace") for t, v in reversed(fields)}


BIZ_CONDITIONAL_MISSING = 5   # BusinessRejectReason: conditionally required field missing
# what seqtrade needs of each client request beyond what FIX requires (4.4 makes Symbol and OrderQty optional)
NEEDED = {"D": (11, 55, 54, 38, 40), "F": (11, 41, 55, 54), "G": (11, 41, 55, 54, 38, 40), "H": (11,),
          "q": (11, 530), "Q": (37, 17, 127, 55, 54)}
_NAMES = {19: "ExecRefID", 11: "ClOrdID", 41: "OrigClOrdID", 55: "Symbol", 54: "Side", 38: "OrderQty", 40: "OrdType", 31: "LastPx",
          32: "LastQty", 17: "ExecID", 150: "ExecType"}


def _need(v: dict, tags) -> None:
    for tag in tags:
        if tag not in v:
            raise MappingError(tag, f"{_NAMES.get(tag, 'tag')} ({tag}) is required here"
                                    + (" (seqtrade takes orders by quantity; CashOrderQty is not supported)"
                                       if tag == 38 else ""), BIZ_CONDITIONAL_MISSING)


def _qty(v: dict, tag: int, zero_ok: bool = False) -> int:
    """A whole number of shares: positive (an order's or a fill's quantity), or also 0 with ``zero_ok`` (CumQty,
    LeavesQty)."""
    _need(v, (tag,))
    try:
        d = Decimal(v[tag])
    except InvalidOperation:
        raise MappingError(tag, f"quantity {v[tag]!r} in tag {tag} is not a number") from None
    if not d.is_finite() or d != d.to_integral_value() or d < 0 or (d == 0 and not zero_ok):
        kind = "non-negative" if zero_ok else "positive"
        raise MappingError(tag, f"quantity {v[tag]!r} in tag {tag} must be a {kind} whole number of shares")
    if d > MAX_QTY:
        raise MappingError(tag, f"quantity {v[tag][:30]!r} in tag {tag} is above the limit of {MAX_QTY:,} shares")
    return int(d)


def _px(v: dict, tag: int) -> int:
    _need(v, (tag,))
    if len(v[tag]) > 40:
        raise MappingError(tag, f"price in tag {tag} is {len(v[tag])} characters long")
    try:
        px = parse_value(v[tag], "px")
    except ValueError as e:
        raise MappingError(tag, f"price in tag {tag}: {e}") from None
    if abs(px) > MAX_PX:
        raise MappingError(tag, f"price {v[tag]!r} in tag {tag} is beyond {M.format_price(MAX_PX)}")
    return px


def _time(v: dict, tag: int) -> int:
    if tag not in v:
        return 0
    t = parse_fix_time(v[tag].encode())
    if t is None:
        raise MappingError(tag, f"tag {tag} {v[tag]!r} is not a UTC timestamp")
    if not 0 < t < MAX_TIME_NS:
        raise MappingError(tag, f"tag {tag} {v[tag]!r} is outside 1970-2099")
    return t


def _limit_px(v: dict) -> int:
    if v.get(40) == "2":
        if 44 not in v:
            raise MappingError(44, "a limit order (OrdType 2) needs a Price (44)")
        return _px(v, 44)
    return 0


def client_new_order(v: dict, client: str, account: str) -> M.NewOrder:
    strategy = STRATEGY_OF_847.get(v.get(847, "1000"))
    if strategy is None:
        raise MappingError(847, f"TargetStrategy {v[847]!r} is not supported (1 VWAP, 2 POV, 1000 LIMIT, 1001 TWAP)")
    if account and v.get(1, account) != account:
        raise MappingError(1, f"account {v[1]!r} is not permitted on this session", BIZ_NOT_AUTHORIZED)
    participation_bp = 0
    if 849 in v:
        try:
            rate = Decimal(v[849]) * 10_000
        except InvalidOperation:
            raise MappingError(849, f"ParticipationRate {v[849]!r} is not a number") from None
        if not rate.is_finite() or rate != rate.to_integral_value():
            raise MappingError(849, f"ParticipationRate {v[849]!r} is finer than one basis point")
        if not 0 < rate <= 10_000:
            raise MappingError(849, f"ParticipationRate {v[849]!r} must be above 0 and at most 1")
        participation_bp = int(rate)
    return M.NewOrder(client, v[11], v[55], v[54], _qty(v, 38), v[40], _limit_px(v), v.get(59, "0"),
                      v.get(1, account), strategy, _time(v, 168), _time(v, 9001), _time(v, 126), participation_bp,
                      v.get(5700, ""), {name: v[tag] for tag, name in PARAM_TAGS.items() if tag in v})


def client_request(msgtype: str, v: dict, client: str, account: str):
    """The stream message for an inbound client application message."""
    _need(v, NEEDED.get(msgtype, ()))
    if msgtype == "D":
        return client_new_order(v, client, account)
    if msgtype == "F":
        return M.CancelRequest(client, v[11], v[41], v[55], v[54])
    if msgtype == "G":
        return M.ReplaceRequest(client, v[11], v[41], v[55], v[54], _qty(v, 38), v[40], _limit_px(v))
    if msgtype == "H":
        return M.StatusRequest(client, v[11], v.get(55, ""), v.get(54, ""))
    if msgtype == "q":
        return M.MassCancelRequest(client, v[11], v[530], v.get(55, ""), v.get(54, ""))
    if msgtype == "Q":
        return M.DontKnowTrade(client, v[37], v[17], v[127], v[55], v[54], v.get(58, ""))
    raise MappingError(35, f"message type {msgtype} is not supported on this session", BIZ_UNSUPPORTED)


def client_fix(m, transact_ns: int) -> tuple[str, list]:
    """The FIX message a client sends for a stream request: the inverse of ``client_request`` (the client simulator
    uses it, and a property test holds the two to each other)."""
    t = (60, fix_time(transact_ns))
    if isinstance(m, M.CancelRequest):
        return "F", [(41, m.orig_cl_ord_id), (11, m.cl_ord_id), (55, m.symbol), (54, m.side), t]
    px = [(44, M.format_price(m.px))] if m.ord_type == "2" else []
    if isinstance(m, M.ReplaceRequest):
        return "G", [(41, m.orig_cl_ord_id), (11, m.cl_ord_id), (21, "1"), (55, m.symbol), (54, m.side), t,
                     (38, m.qty), (40, m.ord_type)] + px
    if not isinstance(m, M.NewOrder):
        raise TypeError(f"no client FIX message for {type(m).__name__}")
    body = [(11, m.cl_ord_id), (21, "1")] + ([(1, m.account)] if m.account else []) + [
        (55, m.symbol), (54, m.side), t, (38, m.qty), (40, m.ord_type)] + px + [(59, m.tif)]
    body.append((847, TAG_OF_STRATEGY[m.strategy]))
    if m.participation_bp:
        body.append((849, str(Decimal(m.participation_bp) / 10_000)))
    for tag, ns in ((168, m.start_ns), (9001, m.end_ns), (126, m.expire_ns)):
        if ns:
            body.append((tag, fix_time(ns)))
    if m.locate_broker:
        body.append((5700, m.locate_broker))
    body += [(tag, m.params[name]) for tag, name in PARAM_TAGS.items() if name in m.params]
    return "D", body


def execution_report(er: M.ExecReport, begin: str, account: str = "", peer=None) -> list:
    """``peer``: the counterparty's dictionary (``dictionary.Dictionary``; default the standard of ``begin``). A field
    we may leave out is sent only with a value that dictionary accepts: TargetStrategy 1000 is bilateral, and a stock
    engine refuses the whole report for it."""
    body = [(37, er.order_id), (11, er.cl_ord_id)]
    if er.orig_cl_ord_id:
        body.append((41, er.orig_cl_ord_id))
    body.append((17, er.exec_id))
    body += list(exec_fields(er, begin).items())  # 20 (4.2), 150, 39
    if account:
        body.append((1, account))
    body += [(55, er.symbol), (54, er.side), (38, er.order_qty), (40, er.ord_type)]
    if er.px:
        body.append((44, M.format_price(er.px)))
    body += [(151, er.leaves_qty), (14, er.cum_qty), (6, M.format_price(avg_px(er.cum_notional_px, er.cum_qty)))]
    if er.last_qty:
        body += [(32, er.last_qty), (31, M.format_price(er.last_px))]
        if er.last_mkt:
            body.append((30, er.last_mkt))
    if er.exec_type == "8" and er.ord_rej_reason >= 0:
        body.append((103, ord_rej_reason(er.ord_rej_reason, begin)))
    if er.restatement_reason >= 0:
        body.append((378, er.restatement_reason))
    if er.exec_ref_id:
        body.append((19, er.exec_ref_id))
    strategy = TAG_OF_STRATEGY.get(er.strategy)
    if strategy is not None:
        peer = peer or D.get(begin)
        if peer.carries("8", 847) and peer.has_value(847, strategy):
            body.append((847, strategy))
    text = " ".join(x for x in (er.risk_code, er.text) if x)
    if text:
        body.append((58, text))
    return body


def cancel_reject(cr: M.CancelReject, begin: str) -> list:
    body = [(37, cr.order_id), (11, cr.cl_ord_id), (41, cr.orig_cl_ord_id), (39, cr.ord_status),
            (434, cr.response_to), (102, cxl_rej_reason(cr.reason, begin))]
    text = " ".join(x for x in (cr.risk_code, cr.text) if x)
    if text:
        body.append((58, text))
    return body


def business_reject(r: M.FixReject) -> list:
    body = [(45, r.ref_seq), (372, r.ref_msgtype)]
    if r.ref_id:
        body.append((379, r.ref_id))
    return body + [(380, r.reason), (58, r.text)]


def client_out(m, begin: str, account: str = "", peer=None) -> tuple[str, list]:
    """(MsgType, body) for a stream message the client gateway sends."""
    if isinstance(m, M.ExecReport):
        return "8", execution_report(m, begin, account, peer)
    if isinstance(m, M.CancelReject):
        return "9", cancel_reject(m, begin)
    if isinstance(m, M.MassCancelReport):
        return "r", mass_cancel_report(m)
    return "j", business_reject(m)


def mass_cancel_report(r: M.MassCancelReport) -> list:
    """OrderMassCancelReport (35=r, FIX 4.4)."""
    body = [(11, r.cl_ord_id), (37, r.mass_id), (530, r.scope), (531, r.response)]
    if r.reject_reason >= 0:
        body.append((532, r.reject_reason))
    body.append((533, r.affected))
    return body + ([(58, r.text)] if r.text else [])


# -- venue side -------------------------------------------------------------------------------------------------

def child_new(o: M.ChildOrder, transact_ns: int) -> list:
    body = [(11, o.child_id), (21, "1"), (55, o.symbol), (54, o.side), (60, fix_time(transact_ns)), (38, o.qty),
            (40, o.ord_type)]
    if o.ord_type == "2":
        body.append((44, M.format_price(o.px)))
    return body + [(59, o.tif)]


def child_cancel(cl_ord_id: str, orig: str, o: M.ChildOrder, qty: int, transact_ns: int) -> list:
    return [(41, orig), (11, cl_ord_id), (55, o.symbol), (54, o.side), (60, fix_time(transact_ns)), (38, qty)]


def child_replace(cl_ord_id: str, orig: str, o: M.ChildOrder, qty: int, px: int, transact_ns: int) -> list:
    body = [(41, orig), (11, cl_ord_id), (21, "1"), (55, o.symbol), (54, o.side), (60, fix_time(transact_ns)),
            (38, qty), (40, o.ord_type)]
    if o.ord_type == "2":
        body.append((44, M.format_price(px)))
    return body


DK_NO_MATCHING_ORDER = "D"   # DKReason (127)


def dont_know_trade(v: dict, reason: str = DK_NO_MATCHING_ORDER, text: str = "") -> list:
    """DontKnowTrade (35=Q) answering a venue's ExecutionReport ``v``: OrderID, ExecID, DKReason, Symbol, Side, and
    the execution's quantity and price when it had them."""
    body = [(37, v.get(37, "NONE")), (17, v.get(17, "NONE")), (127, reason), (55, v.get(55, "")), (54, v.get(54, ""))]
    body += [(t, v[t]) for t in (38, 32, 31) if t in v]
    return body + ([(58, text)] if text else [])


def child_status_request(cl_ord_id: str, o: M.ChildOrder) -> list:
    """OrderStatusRequest (35=H): ClOrdID, Symbol, Side (FIX 4.2 and 4.4)."""
    return [(11, cl_ord_id), (55, o.symbol), (54, o.side)]


def _trade_correction(v: dict, child_id: str, kind: str) -> M.VenueTradeCorrection:
    _need(v, (17, 19))
    if kind == "bust":
        return M.VenueTradeCorrection(child_id, v[17], v[19], kind)
    return M.VenueTradeCorrection(child_id, v[17], v[19], kind, _qty(v, 32), _px(v, 31))


def venue_event(msgtype: str, v: dict, child_id: str, begin: str):
    """The stream message for a venue's ExecutionReport or OrderCancelReject about ``child_id`` (None: nothing
    the OMS needs, such as a pending-cancel acknowledgement)."""
    text = v.get(58, "")
    if msgtype == "9":
        reason = v.get(102, "")
        return M.VenueCancelReject(child_id, text, v.get(39, ""), int(reason) if reason.lstrip("-").isdigit() else -1,
                                   v.get(434, ""))
    _need(v, (150,))
    et = v[150]
    if (begin == FIX44 and et == "I") or (begin != FIX44 and v.get(20, "0") == "3"):   # the answer to our 35=H
        _need(v, (39,))
        return M.VenueOrderStatus(child_id, v[39], _qty(v, 14, True) if 14 in v else 0,
                                  _qty(v, 151, True) if 151 in v else 0, text)
    if begin != FIX44 and v.get(20, "0") in ("1", "2"):      # 4.2: ExecTransType Cancel / Correct of a fill
        return _trade_correction(v, child_id, "bust" if v[20] == "1" else "correct")
    if begin != FIX44 and v.get(20, "0") != "0":
        raise MappingError(20, f"ExecTransType {v[20]} is not supported: child {child_id}, ExecID {v.get(17)}")
    if begin == FIX44 and et in ("H", "G"):                   # 4.4: ExecType Trade Cancel / Trade Correct
        return _trade_correction(v, child_id, "bust" if et == "H" else "correct")
    if et in ("F", "1", "2"):
        if et in ("1", "2") and begin == FIX44:
            raise MappingError(150, f"ExecType {et} is not a FIX 4.4 value")
        _need(v, (17,))
        return M.VenueFill(child_id, v[17], _qty(v, 32), _px(v, 31), v.get(851, ""))
    if et == "0":
        return M.VenueAck(child_id, v.get(37, ""))
    if et == "8":
        return M.VenueReject(child_id, text)
    if et in ("4", "3", "C"):
        return M.VenueCanceled(child_id, text)
    if et == "5":
        return M.VenueReplaced(child_id, _qty(v, 38), _px(v, 44) if 44 in v else 0)
    if et in ("6", "E", "A", "D"):
        return None
    raise MappingError(150, f"ExecType {et!r} is not supported")
