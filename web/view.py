"""The desk's view of the stream, for the web gateway: one row per client order (its latest report), per position
(account and symbol), per venue session, and the latest alerts. ``apply`` takes each sequenced record; ``take_changes``
returns the rows changed since the last call, keyed by row id, which the gateway batches to the browsers. Rows carry
the client or account they belong to, so each user sees only the desk's own (``visible``).

Per order, for whoever is watching it (``detail``): its child orders as the venues answered them, its executed
quantity over time against its schedule (the volume curve for VWAP, even for TWAP, from the day's reference data on
the stream), and its symbol's NBBO. Those are kept for every order but sent only to a browser watching it."""
from __future__ import annotations

from algo.refview import RefView
from sequencer import messages as M

STATUS = {"0": "New", "1": "Partially filled", "2": "Filled", "4": "Canceled", "6": "Pending cancel",
          "8": "Rejected", "A": "Pending new", "C": "Expired", "E": "Pending replace"}
SIDE = {"1": "Buy", "2": "Sell", "5": "Sell short", "6": "Sell short exempt"}
MAX_ALERTS = 500


def _px(v: int) -> float:
    return v / M.PRICE_SCALE


class DeskView:
    def __init__(self):
        self.tables: dict[str, dict[str, dict]] = {"orders": {}, "positions": {}, "venues": {}, "alerts": {},
                                                   "apps": {}}
        self.changed: dict[str, dict[str, None]] = {t: {} for t in self.tables}
        self.head_seq = 0
        self.clock_ns = 0
        self._alert_n = 0
        self._accounts: dict[tuple[str, str], str] = {}    # (client, ClOrdID) -> account
        self._new: dict[tuple[str, str], M.NewOrder] = {}   # (client, ClOrdID) -> the order as received
        self.terms: dict[str, M.NewOrder] = {}              # order id -> the order as received
        self.accepted: dict[str, int] = {}                  # order id -> when the OMS first answered it
        self.children: dict[str, dict[str, dict]] = {}      # order id -> child id -> row
        self._parent_of: dict[str, str] = {}                # child id -> order id
        self.executed: dict[str, list] = {}                 # order id -> [(ts, cum qty)] at each change
        self.nbbo: dict[str, dict] = {}                     # symbol -> market row
        self.subscribed: set[str] = set()                   # symbols the market data gateway publishes
        self.ref = RefView()
        self.detail_changed: dict[str, dict[str, None]] = {}  # order id -> child ids changed
        self.market_changed: dict[str, None] = {}

    def apply(self, rec) -> None:
        self.head_seq, self.clock_ns = rec.seq, rec.ts
        m = rec.msg
        t = type(m)
        if t is M.NewOrder:
            self._accounts[(m.client, m.cl_ord_id)] = m.account or m.client
            self._new[(m.client, m.cl_ord_id)] = m
        elif t in _CHILD:
            self._child(rec.ts, m)
        elif t is M.Quote:
            if not m.venue:
                self.nbbo[m.symbol] = {"symbol": m.symbol, "bid": _px(m.bid_px), "bidQty": m.bid_qty,
                                       "ask": _px(m.ask_px), "askQty": m.ask_qty, "updated": rec.ts}
                self.market_changed[m.symbol] = None
        elif t is M.MdSubscribe:
            self.subscribed.add(m.symbol)
        elif t in _REF:
            self.ref.on(m)
        elif t is M.ExecReport:
            if m.order_id not in self.terms and (m.client, m.cl_ord_id) in self._new:
                self.terms[m.order_id] = self._new[(m.client, m.cl_ord_id)]
                self.accepted[m.order_id] = rec.ts
            ex = self.executed.setdefault(m.order_id, [])
            if m.cum_qty != (ex[-1][1] if ex else 0):
                ex.append((rec.ts, m.cum_qty))
                self.detail_changed.setdefault(m.order_id, {})
            rows = self.tables["orders"]
            row = rows.get(m.order_id)
            avg = m.cum_notional_px / m.cum_qty / M.PRICE_SCALE if m.cum_qty else None
            new = {"id": m.order_id, "client": m.client, "clOrdId": m.cl_ord_id, "symbol": m.symbol,
                   "side": SIDE.get(m.side, m.side), "qty": m.order_qty, "px": _px(m.px) if m.px else None,
                   "strategy": m.strategy, "cumQty": m.cum_qty, "leavesQty": m.leaves_qty, "avgPx": avg,
                   "status": STATUS.get(m.ord_status, m.ord_status), "text": m.text,
                   "account": (row or {}).get("account") or self._accounts.get((m.client, m.cl_ord_id), m.client),
                   "updated": rec.ts}
            self._put("orders", m.order_id, new)
        elif t is M.PositionUpdate:
            key = f"{m.account}|{m.symbol}"
            self._put("positions", key, {"id": key, "account": m.account, "client": m.account, "symbol": m.symbol,
                                         "qty": m.qty, "avgCost": m.cost_px / m.qty / M.PRICE_SCALE if m.qty else None,
                                         "mark": _px(m.mark_px), "realized": _px(m.realized_px),
                                         "unrealized": _px(m.unrealized_px), "updated": rec.ts})
        elif t is M.VenueSession:
            key = f"{m.venue}:{m.session}"
            self._put("venues", key, {"id": key, "venue": m.venue, "session": m.session, "up": m.up,
                                      "client": "*", "updated": rec.ts})
        elif t in (M.OmsAlert, M.ChildRefused, M.AlgoPause):
            self._alert_n += 1
            key = str(self._alert_n)
            parent = getattr(m, "parent_id", "")
            owner = self.tables["orders"].get(parent, {}).get("client", "*")
            self._put("alerts", key, {"id": key, "seq": rec.seq, "source": rec.source, "kind": t.__name__,
                                      "code": m.code, "text": m.text, "orderId": parent, "client": owner,
                                      "updated": rec.ts})
            if len(self.tables["alerts"]) > MAX_ALERTS:       # the oldest goes: a screen, not an archive
                oldest = next(iter(self.tables["alerts"]))
                del self.tables["alerts"][oldest]
                self.changed["alerts"][oldest] = None

    def _child(self, ts: int, m) -> None:
        if type(m) is M.ChildOrder:
            self._parent_of[m.child_id] = m.parent_id
            row = {"id": m.child_id, "parent": m.parent_id, "venue": m.venue, "side": SIDE.get(m.side, m.side),
                   "qty": m.qty, "px": _px(m.px) if m.px else None, "tif": m.tif, "cumQty": 0, "notional": 0,
                   "avgPx": None, "status": "Sent", "text": "", "updated": ts}
            self.children.setdefault(m.parent_id, {})[m.child_id] = row
        else:
            parent = self._parent_of.get(m.child_id)
            row = self.children.get(parent, {}).get(m.child_id)
            if row is None:
                return
            row["updated"] = ts
            if type(m) is M.VenueAck:
                row["status"] = "Working" if row["status"] == "Sent" else row["status"]
            elif type(m) is M.VenueFill:
                row["cumQty"] += m.last_qty
                row["notional"] += m.last_qty * m.last_px
                row["avgPx"] = row["notional"] / row["cumQty"] / M.PRICE_SCALE
                row["status"] = "Filled" if row["cumQty"] >= row["qty"] else "Partially filled"
            elif type(m) is M.VenueReplaced:
                row["qty"], row["px"] = m.qty, _px(m.px) if m.px else None
            else:
                row["status"] = {M.VenueReject: "Rejected", M.VenueCanceled: "Canceled"}[type(m)]
                row["text"] = getattr(m, "text", "")
        self.detail_changed.setdefault(row["parent"], {})[row["id"]] = None

    def schedule(self, order_id: str, points: int = 60) -> list[tuple[int, int]]:
        """``[(ts, quantity due)]`` for an algo order with a schedule (VWAP: the symbol's volume curve; TWAP: even),
        from its start to its end time; [] for one without (POV follows the market, LIMIT works at once)."""
        o, row = self.terms.get(order_id), self.tables["orders"].get(order_id)
        if o is None or row is None or o.strategy not in ("VWAP", "TWAP"):
            return []
        start = max(o.start_ns, self.accepted.get(order_id, 0))       # EffectiveTime, or at once
        end = o.end_ns or self.ref.close_ns
        if not start or end <= start:
            return []
        qty, out = row["qty"], []
        whole = self.ref.curve_weight(o.symbol, start, end) if o.strategy == "VWAP" else end - start
        for i in range(points + 1):
            t = start + (end - start) * i // points
            part = self.ref.curve_weight(o.symbol, start, t) if o.strategy == "VWAP" else t - start
            out.append((t, qty * part // whole if whole else qty))
        return out

    def detail(self, order_id: str) -> dict:
        """What a browser watching an order is sent first: its children, executed quantity, schedule and market."""
        row = self.tables["orders"].get(order_id, {})
        return {"type": "detail", "orderId": order_id, "children": list(self.children.get(order_id, {}).values()),
                "executed": self.executed.get(order_id, []), "schedule": self.schedule(order_id),
                "market": self.nbbo.get(row.get("symbol", ""))}

    def app_lag(self, status) -> None:
        """Each connected app's position behind the stream's head, from the sequencer's STATUS (what the app says it
        has processed, else what was sent to it)."""
        for s in status.sessions:
            done = s.processed_seq or s.delivered_seq
            row = {"id": s.app, "app": s.app, "processed": done, "lag": max(status.head_seq - done, 0),
                   "reported": bool(s.processed_seq), "live": s.live, "client": "*"}
            if self.tables["apps"].get(s.app) != row:
                self._put("apps", s.app, row)

    def _put(self, table: str, key: str, row: dict) -> None:
        self.tables[table][key] = row
        self.changed[table][key] = None

    def take_changes(self) -> dict[str, list]:
        """``{table: [row or {"id": key, "deleted": True}, ...]}`` for what changed since the last call."""
        out = {}
        for table, keys in self.changed.items():
            if keys:
                rows = self.tables[table]
                out[table] = [rows.get(k) or {"id": k, "deleted": True} for k in keys]
                keys.clear()
        return out


_CHILD = (M.ChildOrder, M.VenueAck, M.VenueFill, M.VenueReject, M.VenueCanceled, M.VenueReplaced)
_REF = (M.DayStart, M.VolumeCurve)


def visible(row: dict, clients: tuple[str, ...]) -> bool:
    """A user sees the rows of their desk's clients ("*": every client); rows of no client (venues) are for all."""
    owner = row.get("client", "*")
    return "*" in clients or owner == "*" or owner in clients or row.get("account") in clients
