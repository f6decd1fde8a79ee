"""Positions and P&L per account and symbol, from the client fills the OMS reports. Pure and deterministic, like the
OMS: ``handle(msg, now, seq)`` returns the messages to submit, timers go in ``timer_requests``; integers throughout.

Accounting is average cost. A position keeps its signed quantity (buys +, sells -), the signed cost of that quantity
(Σ qty·px of what is open, in price units × shares) and its realised P&L. A fill on the position's side adds to both;
a fill against it closes ``c`` shares, takes ``cost · c / |qty|`` off the cost (floored: the sub-unit remainder stays
in the open cost, so the realised P&L is exact once the position is flat) and realises the difference with the fill;
what is left of a fill that crosses zero opens the other side at its price.

Marks: the NBBO mid (floored to the price unit), else the last trade, else the previous close. Unrealised P&L is
``qty · mark - cost``. A bust or a correction of a fill (the OMS's ExecType H / G naming it by ExecRefID) recomputes
that position from its fills as they stand. ``PositionUpdate`` goes out on every fill, bust or correction, and every
``MARK_EVERY_NS`` of sequenced time for the positions whose mark moved; ``AccountPnl`` with it for the account.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sequencer import messages as M
from sequencer.fixvalues import ExecType, Side

MARK_EVERY_NS = 1_000_000_000


@dataclass
class Position:
    account: str
    symbol: str
    qty: int = 0
    cost: int = 0                  # signed cost of the open quantity (px units × shares)
    realized: int = 0
    fills: list = field(default_factory=list)   # [exec id, signed qty, px] as they stand (busts and corrections)
    marked: int = 0                # the mark last published

    def apply(self, q: int, px: int) -> None:
        """One fill of signed quantity ``q`` at ``px``, average cost."""
        if self.qty == 0 or (self.qty > 0) == (q > 0):
            self.qty += q
            self.cost += q * px
            return
        s = 1 if self.qty > 0 else -1
        c = min(abs(q), abs(self.qty))
        removed = self.cost * c // abs(self.qty) if s > 0 else -((-self.cost) * c // abs(self.qty))
        self.realized += s * c * px - removed
        self.qty -= s * c
        self.cost -= removed
        rest = q + s * c
        if rest:
            self.qty += rest
            self.cost += rest * px

    def rebuild(self) -> None:
        """From the fills as they stand, in their order: after a bust or a correction."""
        self.qty = self.cost = self.realized = 0
        for _, q, px in self.fills:
            if q:
                self.apply(q, px)

    def unrealized(self, mark: int) -> int:
        return self.qty * mark - self.cost if mark else 0


class PositionBook:
    def __init__(self):
        self.positions: dict[tuple[str, str], Position] = {}   # (account, symbol) -> its position, first fill order
        self.accounts: dict[tuple[str, str], str] = {}          # (client, ClOrdID of the NewOrder) -> account
        self.order_account: dict[str, str] = {}                 # order id -> account
        self.fill_of: dict[tuple[str, str], tuple] = {}         # (order id, our ExecID) -> (position key, index)
        self.nbbo: dict[str, tuple[int, int]] = {}
        self.last: dict[str, int] = {}
        self.prev_close: dict[str, int] = {}
        self.timer_requests: list[tuple[int, tuple]] = []
        self._timer_at = 0
        self.now = 0

    # -- entry points -----------------------------------------------------------------------------------------
    def handle(self, msg: M.Msg, now: int, seq: int) -> list[M.Msg]:
        self.now = now
        h = self._handlers.get(type(msg))
        return h(self, msg) if h is not None else []

    def on_timer(self, token: tuple, now: int) -> list[M.Msg]:
        self.now = now
        self._timer_at = 0
        out: list[M.Msg] = []
        touched: dict[str, bool] = {}
        for p in self.positions.values():
            mark = self.mark(p.symbol)
            if p.qty and mark != p.marked:
                out.append(self._update(p, mark))
                touched[p.account] = True
        out += [self._account(a) for a in touched]
        if any(p.qty for p in self.positions.values()):
            self._want_timer()
        return out

    # -- reference and market data ----------------------------------------------------------------------------
    def _security(self, m: M.Security):
        self.prev_close[m.symbol] = m.prev_close_px
        return []

    def _quote(self, m: M.Quote):
        if m.venue == "":
            self.nbbo[m.symbol] = (m.bid_px, m.ask_px)
        return []

    def _trade(self, m: M.Trade):
        self.last[m.symbol] = m.px
        return []

    def mark(self, symbol: str) -> int:
        bid, ask = self.nbbo.get(symbol, (0, 0))
        if bid > 0 and ask > 0 and ask >= bid:
            return (bid + ask) // 2
        return self.last.get(symbol) or self.prev_close.get(symbol, 0)

    # -- the client's orders and fills --------------------------------------------------------------------------
    def _new_order(self, m: M.NewOrder):
        self.accounts[(m.client, m.cl_ord_id)] = m.account or m.client
        return []

    def _exec_report(self, er: M.ExecReport):
        account = self.order_account.get(er.order_id)
        if account is None:
            account = self.accounts.get((er.client, er.cl_ord_id), er.client)
            self.order_account[er.order_id] = account
        if er.exec_type == ExecType.TRADE:
            key = (account, er.symbol)
            p = self.positions.get(key)
            if p is None:
                p = self.positions[key] = Position(account, er.symbol)
            q = er.last_qty if er.side == Side.BUY else -er.last_qty
            self.fill_of[(er.order_id, er.exec_id)] = (key, len(p.fills))
            p.fills.append([er.exec_id, q, er.last_px])
            p.apply(q, er.last_px)
        elif er.exec_type in (ExecType.TRADE_CANCEL, ExecType.TRADE_CORRECT):
            found = self.fill_of.get((er.order_id, er.exec_ref_id))
            if found is None:
                return [M.OmsAlert("POSITION_UNKNOWN_FILL", f"{er.exec_type} {er.exec_id} names fill "
                                                             f"{er.exec_ref_id} of {er.order_id}, which positions "
                                                             f"never had", er.order_id)]
            key, i = found
            p = self.positions[key]
            sign = 1 if er.side == Side.BUY else -1
            if er.exec_type == ExecType.TRADE_CANCEL:
                p.fills[i][1] = 0
            else:
                p.fills[i][1:] = [sign * er.last_qty, er.last_px]
                self.fill_of[(er.order_id, er.exec_id)] = found   # a later correction names this one
            p.rebuild()
        else:
            return []
        self._want_timer()
        return [self._update(p, self.mark(p.symbol)), self._account(p.account)]

    # -- outputs ----------------------------------------------------------------------------------------------
    def _update(self, p: Position, mark: int) -> M.PositionUpdate:
        p.marked = mark
        return M.PositionUpdate(p.account, p.symbol, p.qty, p.cost, p.realized, mark, p.unrealized(mark))

    def _account(self, account: str) -> M.AccountPnl:
        realized = unrealized = gross = net = 0
        for p in self.positions.values():
            if p.account == account:
                mark = self.mark(p.symbol)
                realized += p.realized
                unrealized += p.unrealized(mark)
                gross += abs(p.qty) * mark
                net += p.qty * mark
        return M.AccountPnl(account, realized, unrealized, gross, net)

    def _want_timer(self) -> None:
        if not self._timer_at:
            self._timer_at = self.now + MARK_EVERY_NS
            self.timer_requests.append((self._timer_at, ("mark",)))

    def state_hash(self) -> str:
        """A digest of the whole state, in a fixed order: equal for two books that will behave the same (a restored
        snapshot, a replay)."""
        h = hashlib.sha256()
        for key in sorted(self.positions):
            p = self.positions[key]
            h.update(repr((key, p.qty, p.cost, p.realized, p.marked, p.fills)).encode())
        for name in ("accounts", "order_account", "fill_of", "nbbo", "last", "prev_close"):
            d = getattr(self, name)
            h.update(repr(sorted(d.items())).encode())
        h.update(repr((self._timer_at, self.timer_requests)).encode())
        return h.hexdigest()

    _handlers = {M.Security: _security, M.Quote: _quote, M.Trade: _trade, M.NewOrder: _new_order,
                 M.ExecReport: _exec_report}
