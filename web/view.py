"""The desk's view of the stream, for the web gateway: one row per client order (its latest report), per position
(account and symbol), per venue session, and the latest alerts. ``apply`` takes each sequenced record; ``take_changes``
returns the rows changed since the last call, keyed by row id, which the gateway batches to the browsers. Rows carry
the client or account they belong to, so each user sees only the desk's own (``visible``)."""
from __future__ import annotations

from sequencer import messages as M

STATUS = {"0": "New", "1": "Partially filled", "2": "Filled", "4": "Canceled", "6": "Pending cancel",
          "8": "Rejected", "A": "Pending new", "C": "Expired", "E": "Pending replace"}
SIDE = {"1": "Buy", "2": "Sell", "5": "Sell short", "6": "Sell short exempt"}
MAX_ALERTS = 500


def _px(v: int) -> float:
    return v / M.PRICE_SCALE


class DeskView:
    def __init__(self):
        self.tables: dict[str, dict[str, dict]] = {"orders": {}, "positions": {}, "venues": {}, "alerts": {}}
        self.changed: dict[str, dict[str, None]] = {t: {} for t in self.tables}
        self.head_seq = 0
        self.clock_ns = 0
        self._alert_n = 0
        self._accounts: dict[tuple[str, str], str] = {}    # (client, ClOrdID) -> account

    def apply(self, rec) -> None:
        self.head_seq, self.clock_ns = rec.seq, rec.ts
        m = rec.msg
        t = type(m)
        if t is M.NewOrder:
            self._accounts[(m.client, m.cl_ord_id)] = m.account or m.client
        elif t is M.ExecReport:
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


def visible(row: dict, clients: tuple[str, ...]) -> bool:
    """A user sees the rows of their desk's clients ("*": every client); rows of no client (venues) are for all."""
    owner = row.get("client", "*")
    return "*" in clients or owner == "*" or owner in clients or row.get("account") in clients
