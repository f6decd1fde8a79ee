"""How one ExecReport (stored with FIX 4.4 semantics) is expressed in FIX 4.2 or FIX 4.4.

The differences that matter for order state:
* FIX 4.4 reports every fill as ExecType F (Trade); FIX 4.2 uses ExecType 1 (Partial fill) or 2 (Fill), and every
  4.2 execution report carries ExecTransType (20): 0 New, or 3 Status for an order status reply;
* FIX 4.4 dropped OrdStatus 5 (Replaced): a 4.4 replace ack carries the order's status (0, 1, 2); in 4.2 the
  ack carries 5 while nothing is filled (the CQG / common 4.2 convention), else 1 or 2;
* FIX 4.4 answers an OrderStatusRequest with ExecType I (Order Status); 4.2 with ExecType = OrdStatus and
  ExecTransType 3;
* reason codes that 4.2 does not define (OrdRejReason above 8, CxlRejReason above 3) are sent as 0 in 4.2
  (broker option / too late), with the reason in Text.
"""
from __future__ import annotations

FIX42, FIX44 = "FIX.4.2", "FIX.4.4"


def exec_fields(er, begin: str) -> dict[int, str]:
    """ExecType (150), OrdStatus (39) and, for 4.2, ExecTransType (20) for an ExecReport."""
    et, st = er.exec_type, er.ord_status
    if begin == FIX44:
        return {150: et, 39: st}
    trans = "0"
    if et in ("H", "G"):      # 4.2 says a trade cancel / correct with ExecTransType 1 / 2 on a fill report
        trans = "1" if et == "H" else "2"
        et = "2" if er.cum_qty >= er.order_qty else "1"
    elif et == "F":
        et = "2" if er.cum_qty >= er.order_qty else "1"
    elif et == "I":
        et, trans = st, "3"
    elif et == "5" and st == "0":
        st = "5"
    return {20: trans, 150: et, 39: st}


def ord_rej_reason(code: int, begin: str) -> int:
    return code if begin == FIX44 or 0 <= code <= 8 else 0


def cxl_rej_reason(code: int, begin: str) -> int:
    """FIX 4.2 has only 0 Too late, 1 Unknown order, 2 Broker option, 3 Already pending: a 4.4 code beyond them (6
    duplicate ClOrdID, 99 other) is "broker option" there, with the detail in Text; never "too late"."""
    return code if begin == FIX44 or 0 <= code <= 3 else 2


def avg_px(cum_notional_px: int, cum_qty: int) -> int:
    """AvgPx in price units, rounded half up: the only place the exact average is rounded."""
    if cum_qty <= 0:
        return 0
    return (2 * cum_notional_px + cum_qty) // (2 * cum_qty)
