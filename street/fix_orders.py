"""The venue simulator's FIX order entry: NewOrderSingle, OrderCancelRequest and OrderCancelReplaceRequest in,
ExecutionReports and OrderCancelRejects out, on our own session layer (4.2 or 4.4 semantics per session)."""
from __future__ import annotations

from dataclasses import dataclass

from fixgw.exec_semantics import FIX44, avg_px
from refdata.tables import parse_value
from sequencer.messages import format_price

from .events import side_of
from .venue import VenueSim


@dataclass
class _Order:
    cl_ord_id: str
    symbol: str
    side: str
    qty: int
    px: int
    session: str                # replies go to the session's current connection, not the one it came on
    order_id: str = ""
    cum: int = 0
    notional: int = 0
    status: str = "A"           # OrdStatus at this venue: the truth a cancel reject and a status request report


class FixOrderEntry:
    """``on_app`` is the session layer's application callback; keys into the venue are (session, ClOrdID)."""

    def __init__(self, venue: VenueSim):
        self.venue = venue
        self.orders: dict = {}            # (session, ClOrdID) -> _Order
        self.fills = self.filled_qty = 0  # what this venue executed for its FIX clients (its own view of the day)
        self.conns: dict = {}             # session -> its latest connection
        self._exec = 0

    def __call__(self, conn, msgtype: str, fields) -> None:
        v = {int(t): val.decode(errors="replace") for t, val in fields}
        sess = conn.session.cfg.target
        self.conns[sess] = conn
        try:
            if msgtype == "D":
                self._new(conn, sess, v)
            elif msgtype == "F":
                self._cancel(conn, sess, v)
            elif msgtype == "G":
                self._replace(conn, sess, v)
            elif msgtype == "H":
                self._status(conn, sess, v)
            else:
                conn.send_app("j", [(45, v.get(34, "0")), (372, msgtype), (380, 3),
                                    (58, f"message type {msgtype} is not supported by the venue")])
        except (KeyError, ValueError) as e:  # the session layer validated; this is a value we cannot use
            conn.send_app("j", [(45, v.get(34, "0")), (372, msgtype), (380, 0), (58, f"cannot process: {e}")])

    def _new(self, conn, sess, v):
        key = (sess, v[11])
        px = parse_value(v[44], "px") if v.get(40) == "2" else 0
        o = _Order(v[11], v[55], v[54], int(v[38]), px, sess)
        if key in self.orders:
            if v.get(97) == "Y" or v.get(43) == "Y":
                return  # our client resent an order we already have (PossResend/PossDup): not a second order
            self._reject(conn, o, "duplicate ClOrdID")
            return
        self.orders[key] = o
        self.apply(self.venue.new_order(key, v[55], side_of(v[54]), int(v[38]), v.get(40, "2"), px, v.get(59, "0")))

    def _cancel(self, conn, sess, v):
        key = (sess, v[41])
        o = self.orders.get(key)
        if o is None:
            self._unknown(conn, v, "1")
            return
        self.apply(self.venue.cancel(key), cancel_cl=(v[11], "1"))

    def _replace(self, conn, sess, v):
        key = (sess, v[41])
        o = self.orders.get(key)
        if o is None:
            self._unknown(conn, v, "2")
            return
        px = parse_value(v[44], "px") if 44 in v else o.px
        new_key = (sess, v[11])
        self.orders[new_key] = o          # the replace's events (and fills it causes) name the new ClOrdID
        events = self.venue.replace(key, int(v[38]), px, new_key)
        if not any(e[0] == "replaced" for e in events):
            del self.orders[new_key]      # refused: the venue never knew the order by that ClOrdID
        self.apply(events, cancel_cl=(v[11], "2"))

    def _status(self, conn, sess, v):
        """OrderStatusRequest: the order's state now (ExecType I in 4.4, ExecTransType 3 Status in 4.2)."""
        o = self.orders.get((sess, v[11]))
        if o is None:
            o = _Order(v[11], v.get(55, ""), v.get(54, "1"), 0, 0, sess, "NONE", status="8")
            self._er(o, "I", "8", text="unknown order", conn=conn)
            return
        self._er(o, "I", o.status, conn=conn)

    def _unknown(self, conn, v: dict, response_to: str) -> None:
        conn.send_app("9", [(37, "NONE"), (11, v[11]), (41, v[41]), (39, "8"), (434, response_to), (102, "1"),
                            (58, "unknown order")])

    def apply(self, events, cancel_cl=None) -> None:
        """Reports for what ``events`` did to our clients' orders (order entry, or the background flow)."""
        for e in events:
            kind = e[0]
            if kind in ("quote", "trade"):
                continue  # the market data feed publishes these
            o = self.orders.get(e[1])
            if o is None:
                continue
            if kind == "ack":
                o.order_id, o.status = e[2], "0"
                self._er(o, "0", "0")
            elif kind == "fill":
                o.cum += e[3]
                self.fills += 1
                self.filled_qty += e[3]
                o.notional += e[3] * e[4]
                o.status = "2" if o.cum >= o.qty else "1"
                self._er(o, "F", o.status, last=(e[3], e[4], e[5]))
            elif kind == "reject":
                o.status = "8"
                self._reject(self.conns[o.session], o, e[2])
            elif kind == "canceled":
                o.status = "4"
                self._er(o, "4", "4", text=e[2], cl=cancel_cl[0] if cancel_cl else "",
                         orig=o.cl_ord_id if cancel_cl else "")
            elif kind == "replaced":
                orig, o.cl_ord_id, o.qty, o.px = o.cl_ord_id, cancel_cl[0], e[2], e[3]
                o.status = "1" if o.cum else "0"
                self._er(o, "5", o.status, orig=orig)
            elif kind == "cancel_reject":
                cl, resp = cancel_cl or ("", "1")
                self.conns[o.session].send_app("9", [(37, o.order_id or "NONE"), (11, cl), (41, o.cl_ord_id),
                                      (39, o.status), (434, resp), (102, "0"), (58, e[2])])

    def _reject(self, conn, o: _Order, text: str) -> None:
        o.order_id = o.order_id or "NONE"
        self._er(o, "8", "8", text=text, conn=conn)

    def _er(self, o: _Order, exec_type: str, status: str, last=None, text="", cl="", orig="", conn=None) -> None:
        conn = conn or self.conns[o.session]
        begin = conn.session.cfg.begin
        self._exec += 1
        leaves = 0 if status in ("2", "4", "8") else max(o.qty - o.cum, 0)
        body = [(37, o.order_id or "NONE"), (11, cl or o.cl_ord_id)]
        if orig:
            body.append((41, orig))
        body.append((17, f"{self.venue.venue}-X{self._exec}"))
        if begin == FIX44:
            body += [(150, exec_type), (39, status)]
        elif exec_type == "I":       # 4.2 has no ExecType I: a status report is ExecTransType 3 with the status
            body += [(20, "3"), (150, status), (39, status)]
        else:
            et = ("2" if status == "2" else "1") if exec_type == "F" else exec_type
            body += [(20, "0"), (150, et), (39, "5" if exec_type == "5" and status == "0" else status)]
        body += [(55, o.symbol), (54, o.side), (38, o.qty)]
        if o.px:
            body.append((44, format_price(o.px)))
        body += [(151, leaves), (14, o.cum), (6, format_price(avg_px(o.notional, o.cum)))]
        if last:
            body += [(32, last[0]), (31, format_price(last[1]))] + ([(851, last[2])] if begin == FIX44 else [])
        if text:
            body.append((58, text))
        conn.send_app("8", body)
