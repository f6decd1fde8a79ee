"""The algo container: one strategy instance per parent order, and the facilities and rules every strategy shares.

It learns of a parent from the client's NewOrder (which carries the algo parameters) and starts working it when the
OMS accepts it; the OMS tells it of every later change of the parent with a ``ParentUpdate`` (pending, replaced,
done, corrected by a bust), never through the client's ExecutionReports. Strategies see the world through a ``Context`` (market data of any symbol, reference
data, timers on sequenced time, their children) and act only through it: every child request passes venue and
destination selection, then ``validate.check_child``. A strategy that raises or breaks a rule is contained: its
parent is paused, its children cancelled, the client told (AlgoPause), and every other parent carries on.

Like the OMS it is a pure state machine: ``handle(msg, now, seq)`` returns the messages to submit, and timers it
wants are left in ``timer_requests`` for the app runtime.
"""
from __future__ import annotations

from oms.params import IMMEDIATE
from oms.rules import inside_limit, leaves_problem, through_limit
from sequencer import messages as M
from sequencer.fixvalues import OrdType, Side, TimeInForce

from . import placement
from .market import MarketView
from .placement import Destinations
from .refview import RefView
from .rng import SplitMix64
from .state import AlgoChild, AlgoParent
from .validate import check_child

BUY = Side.BUY


class StrategyViolation(Exception):
    """A strategy asked for a child that breaks a container rule."""

    def __init__(self, code: str, text: str):
        self.code = code
        super().__init__(text)


class AlgoContainer:
    def __init__(self, take_share_pct: int = 100, post_share_pct: int = 100, round_lot: int = 100):
        from .strategies import STRATEGIES
        self.strategies_by_name = STRATEGIES
        self.take_share_pct = take_share_pct      # at most this much of what a venue shows, for a taking child
        self.post_share_pct = post_share_pct      # at most this much of the NBBO's displayed size, for a resting child
        self.round_lot = round_lot                # a resting child of one round lot is always allowed
        self.ref = RefView()
        self.md = MarketView()
        self.dest = Destinations()
        self.parents: dict[str, AlgoParent] = {}
        self.children: dict[str, AlgoChild] = {}
        self.strategies: dict = {}                # order_id -> strategy instance
        self.by_symbol: dict[str, list[str]] = {}  # symbol -> order ids whose strategy watches it
        self.new_orders: dict[tuple, tuple] = {}  # (client, cl_ord_id) -> (NewOrder, seq) until the OMS answers
        self.subscribed: dict[str, bool] = {}
        self.timer_requests: list = []
        self.now = 0
        self._out: list = []
        self._cause = 0                 # seq of the record being handled (0 in a timer)

    # -- entry points -----------------------------------------------------------------------------------------
    def handle(self, msg: M.Msg, now: int, seq: int) -> list:
        self.now, self._out, self._cause = now, [], seq
        fn = self._handlers.get(type(msg))
        if fn is not None:
            fn(self, msg, seq)
        return self._out

    def on_timer(self, token: tuple, now: int) -> list:
        self.now, self._out, self._cause = now, [], 0
        kind, order_id = token[0], token[1]
        p = self.parents.get(order_id)
        if p is None or p.done:
            return self._out
        if kind == "start":
            p.started = True
            self._call(p, "on_start")
        elif kind == "end":
            self._end(p)
        elif kind == "wake" and p.active:
            self._call(p, "on_timer", token[2])
        return self._out

    # -- reference data, market data, sessions ------------------------------------------------------------------
    def _ref(self, m, seq):
        self.ref.on(m)

    def _quote(self, q: M.Quote, seq):
        self.md.on_quote(q)
        venue = q.venue
        for oid in self.by_symbol.get(q.symbol, ()):
            s = self.strategies.get(oid)
            if s is not None and (s.venue_quotes or not venue) and self.parents[oid].active:
                self._call(self.parents[oid], "on_quote", q.symbol, venue)

    def _trade(self, t: M.Trade, seq):
        self.md.on_trade(t)
        for oid in self.by_symbol.get(t.symbol, ()):
            s = self.strategies.get(oid)
            if s is not None and s.wants_trades and self.parents[oid].active:  # most strategies ignore prints
                self._call(self.parents[oid], "on_trade", t.symbol, t.venue, t.px, t.qty)

    def _status(self, m: M.SymbolStatus, seq):
        self.md.halted[m.symbol] = m.halted

    def _session(self, m: M.VenueSession, seq):
        self.dest.on_session(m.venue, m.session, m.up)

    def _security(self, m: M.Security, seq):
        self.ref.on(m)
        self.md.halted[m.symbol] = m.halted

    # -- parents ----------------------------------------------------------------------------------------------
    def _new_order(self, o: M.NewOrder, seq):
        self.new_orders[(o.client, o.cl_ord_id)] = (o, seq)
        self.subscribe(o.symbol)

    def subscribe(self, symbol: str) -> None:
        if not self.subscribed.get(symbol):
            self.subscribed[symbol] = True
            self._out.append(M.MdSubscribe(symbol, "algo"))

    def _parent_update(self, u: M.ParentUpdate, seq):
        p = self.parents.get(u.order_id)
        if p is None:
            if u.event == "accepted":
                self._accepted(u)
            else:
                self.new_orders.pop((u.client, u.cl_ord_id), None)  # rejected: forget it
            return
        if u.event == "corrected":
            self._corrected(p, u)
            return
        # quantities come from our own children's VenueFills (as the OMS counts them); an update, which trails them
        # on the stream, would set them back
        p.status = u.status
        if u.event == "pending":
            p.changing = True
        elif u.event == "replaced":
            p.changing = False
            p.qty, p.px, p.ord_type, p.cl_ord_id = u.qty, u.px, u.ord_type, u.cl_ord_id
            if p.end_due:
                self._end(p)
            elif p.active:
                self._call(p, "on_parent_changed")
        if p.done:
            self._finish(p)

    def _corrected(self, p: AlgoParent, u: M.ParentUpdate):
        """A venue busted or corrected a fill: what stands is the OMS's count. A parent the bust reopened after it
        had filled is worked again by a new instance of its strategy, from now to its end time."""
        was_done = p.done
        p.cum_qty, p.cum_notional, p.status = u.cum_qty, u.cum_notional_px, u.status
        if p.done or p.ending or p.paused:
            return
        if was_done:
            cls = self.strategies_by_name.get(p.strategy)
            if cls is None:
                return
            self.strategies[p.order_id] = cls(Context(self, p))
            ids = self.by_symbol.setdefault(p.symbol, [])
            if p.order_id not in ids:
                ids.append(p.order_id)
            if p.started:
                self._call(p, "on_start")
        elif p.active:
            self._call(p, "on_parent_changed")

    def _accepted(self, er: M.ParentUpdate):
        got = self.new_orders.pop((er.client, er.cl_ord_id), None)
        if got is None:
            return
        o, seq = got
        cls = self.strategies_by_name.get(o.strategy)
        end = o.end_ns or self.ref.close_ns
        p = AlgoParent(er.order_id, o.client, o.cl_ord_id, o.symbol, o.side, o.qty, o.ord_type, o.px, o.strategy,
                       max(o.start_ns, self.now), end, o.participation_bp, dict(o.params), seq, o.tif)
        self.parents[p.order_id] = p
        self.by_symbol.setdefault(p.symbol, []).append(p.order_id)
        if cls is None:
            self._pause(p, "NO_STRATEGY", f"no strategy {o.strategy!r} in the container")
            return
        try:
            self.strategies[p.order_id] = cls(Context(self, p))
        except (ValueError, KeyError, TypeError) as e:
            self._pause(p, "BAD_PARAMS", f"strategy {o.strategy} refused its parameters: {e}")
            return
        self.timer_requests.append((p.start_ns, ("start", p.order_id)))
        if end:
            self.timer_requests.append((end, ("end", p.order_id)))

    def _end(self, p: AlgoParent):
        """End time: whatever is left goes back to the client (the OMS cancels the open children). During a client
        cancel or replace it waits for the change: a replace that completes is then ended at once."""
        if p.changing:
            p.end_due = True
            return
        if p.leaves and not p.ending:
            p.ending = True
            self._out.append(M.AlgoEnd(p.order_id, f"{p.strategy} end time reached with {p.leaves} left"))

    def end_now(self, p: AlgoParent, text: str):
        """The strategy is done with what is left (an IOC's remainder): the OMS cancels it back to the client."""
        if p.leaves and not p.ending and not p.changing:
            p.ending = True
            self._out.append(M.AlgoEnd(p.order_id, text))

    def _finish(self, p: AlgoParent):
        self.strategies.pop(p.order_id, None)
        ids = self.by_symbol.get(p.symbol, [])
        if p.order_id in ids:
            ids.remove(p.order_id)

    def _end_of_day(self, m, seq):
        for p in self.parents.values():
            p.ending = True  # the OMS cancels everything back; strategies stop now

    # -- children ---------------------------------------------------------------------------------------------
    def _child_msg(self, m) -> tuple[AlgoChild | None, AlgoParent | None]:
        c = self.children.get(m.child_id)
        return (c, self.parents[c.parent_id]) if c else (None, None)

    def _child_refused(self, m: M.ChildRefused, seq):
        c, p = self._child_msg(m)
        if c is None:
            return
        if m.request == "new":
            c.closed = True
            if m.code != "PARENT_NOT_WORKING":  # a request racing a client cancel is not a strategy's fault
                self._pause(p, "OMS_REFUSED", f"the OMS refused child {c.child_id}: {m.code} {m.text}")
        else:  # usually a request that crossed a fill or a close on the way
            self._unblock(c, p)

    def _unblock(self, c: AlgoChild, p: AlgoParent) -> None:
        """A cancel or replace of ours will not happen: the child is as it was (and may have filled meanwhile)."""
        c.cancel_requested, c.replace_to = False, None
        if not c.closed and c.cum_qty >= c.qty:
            c.closed = True
            if p.active:
                self._call(p, "on_child_closed", c)

    def _venue_ack(self, m: M.VenueAck, seq):
        c, p = self._child_msg(m)
        if c is not None:
            c.acked = True

    def _venue_fill(self, m: M.VenueFill, seq):
        c, p = self._child_msg(m)
        if c is None:
            return
        c.cum_qty += m.last_qty
        p.cum_qty += m.last_qty
        p.cum_notional += m.last_qty * m.last_px
        if c.cum_qty >= c.qty and not c.replace_to:
            c.closed = True
        if p.active:
            self._call(p, "on_fill", c, m.last_qty, m.last_px)
            if c.closed and p.active:
                self._call(p, "on_child_closed", c)

    def _venue_closed(self, m, seq):
        c, p = self._child_msg(m)
        if c is None or c.closed:
            return
        c.closed, c.replace_to = True, None
        if p.active:
            self._call(p, "on_child_closed", c)

    def _venue_replaced(self, m: M.VenueReplaced, seq):
        c, p = self._child_msg(m)
        if c is None:
            return
        c.qty, c.px, c.replace_to = m.qty, m.px, None
        if c.cum_qty >= c.qty:
            c.closed = True

    def _venue_cancel_reject(self, m: M.VenueCancelReject, seq):
        c, p = self._child_msg(m)
        if c is not None:
            self._unblock(c, p)

    # -- what strategies may do (through their Context) ---------------------------------------------------------
    def open_qty(self, p: AlgoParent) -> int:
        return sum(c.open_qty for c in self.open_children(p))

    def open_children(self, p: AlgoParent) -> list[AlgoChild]:
        """The parent's open children, oldest first; closed ones are dropped from ``p.live`` as they are met."""
        kids = [self.children[cid] for cid in p.live]
        live = [c for c in kids if not c.closed]
        if len(live) != len(kids):
            p.live = [c.child_id for c in live]
        return live

    def send(self, p: AlgoParent, venue: str, qty: int, px: int, ord_type: str = OrdType.LIMIT, tif: str = TimeInForce.DAY) -> AlgoChild:
        if not p.active:
            raise StrategyViolation("NOT_ACTIVE", f"parent {p.order_id} is not being worked")
        sec = self.ref.securities.get(p.symbol)
        lot = sec.lot_size if sec else 1
        if tif in (TimeInForce.IMMEDIATE_OR_CANCEL, TimeInForce.FILL_OR_KILL) or ord_type == OrdType.MARKET:
            # it takes: measured against what this venue shows
            top = self.md.top(p.symbol, venue)
            share = 100 if p.tif in IMMEDIATE else self.take_share_pct   # an IOC/FOK takes all it may, now
            shown, share, floor = (top[3] if p.side == BUY else top[1]), share, lot
        else:                              # it rests: measured against the displayed size at the NBBO
            shown, share, floor = self.near_shown(p), self.post_share_pct, self.round_lot
        why = check_child(side=p.side, parent_limit=p.limit, leaves=p.leaves, open_qty=self.open_qty(p), qty=qty,
                          px=px, ord_type=ord_type, lot=lot, halted=self.md.halted.get(p.symbol, False),
                          now=self.now, start_ns=p.start_ns, end_ns=p.end_ns, shown=shown, max_share_pct=share,
                          restricted=bool(sec and sec.restricted), floor_qty=floor)
        if why is None and venue not in self.ref.venues:
            why = ("UNKNOWN_VENUE", f"no venue {venue!r} in the day's reference data")
        session = self.dest.pick(venue) if why is None else None
        if why is None and session is None:
            why = ("VENUE_DOWN", f"no session to {venue} is up")
        if why:
            raise StrategyViolation(*why)
        child_id = f"{p.order_id}.{len(p.children) + 1}"
        c = AlgoChild(child_id, p.order_id, venue, session, qty, px, ord_type, tif)
        self.children[child_id] = c
        p.children.append(child_id)
        p.live.append(child_id)
        self._out.append(M.ChildNewRequest(p.order_id, child_id, venue, p.symbol, p.side, qty, ord_type, px, tif,
                                           session, self._cause))
        return c

    def near_shown(self, p: AlgoParent) -> int:
        b = self.md.best(p.symbol)
        return b[1] if p.side == BUY else b[3]

    def cancel(self, c: AlgoChild) -> None:
        if not c.closed and not c.cancel_requested:
            c.cancel_requested = True
            self._out.append(M.ChildCancelRequest(c.child_id))

    def replace(self, p: AlgoParent, c: AlgoChild, qty: int, px: int) -> bool:
        """Change a resting child (``qty`` is its new total, filled included). False if it cannot be changed now."""
        if c.closed or c.cancel_requested or c.replace_to or not c.acked:
            return False
        if through_limit(p.side, px, p.limit):
            raise StrategyViolation("THROUGH_LIMIT", f"replace price {M.format_price(px)} is through the limit")
        why = leaves_problem(self.open_qty(p) - c.open_qty, qty - c.cum_qty, p.leaves)
        if why:
            raise StrategyViolation(*why)
        c.replace_to = (qty, px)
        self._out.append(M.ChildReplaceRequest(c.child_id, qty, px))
        return True

    # -- containment ------------------------------------------------------------------------------------------
    def _call(self, p: AlgoParent, method: str, *args) -> None:
        s = self.strategies.get(p.order_id)
        if s is None:
            return
        try:
            getattr(s, method)(*args)
        except StrategyViolation as e:
            self._pause(p, e.code, f"{p.strategy} broke a rule: {e}")
        except Exception as e:  # a strategy bug: contain it to its own parent
            self._pause(p, "STRATEGY_ERROR", f"{p.strategy} raised {type(e).__name__}: {e}")

    def _pause(self, p: AlgoParent, code: str, text: str) -> None:
        if p.paused:
            return
        p.paused = code
        self.strategies.pop(p.order_id, None)
        for c in self.open_children(p):
            self.cancel(c)
        self._out.append(M.AlgoPause(p.order_id, code, text))

    def _desk_pause(self, m: M.DeskPause, seq):
        """The desk pauses a parent (its children are taken back, the client told) or resumes it: a new instance of
        its strategy works what is left from now to its end time, as after a bust reopens a parent."""
        p = self.parents.get(m.order_id)
        if p is None or p.done or p.ending:
            self._out.append(M.OmsAlert("DESK_PAUSE_REFUSED", f"{m.user} asked to {'pause' if m.pause else 'resume'} "
                                                              f"{m.order_id}, which the algo is not working",
                                        m.order_id))
            return
        why = f"by the desk ({m.user}){': ' + m.text if m.text else ''}"
        if m.pause:
            self._pause(p, "DESK_PAUSE", f"paused {why}")
            return
        if not p.paused:
            return
        cls = self.strategies_by_name.get(p.strategy)
        if cls is None:
            return
        p.paused = ""
        self.strategies[p.order_id] = cls(Context(self, p))
        self._out.append(M.AlgoResume(p.order_id, f"resumed {why}"))
        if p.started:
            self._call(p, "on_start")

    _handlers = {
        M.DayStart: _ref, M.Venue: _ref, M.VolumeCurve: _ref, M.RefTable: _ref, M.RefDataReady: _ref,
        M.Security: _security, M.Quote: _quote, M.Trade: _trade, M.SymbolStatus: _status,
        M.VenueSession: _session, M.NewOrder: _new_order, M.ParentUpdate: _parent_update, M.EndOfDay: _end_of_day,
        M.ChildRefused: _child_refused, M.VenueAck: _venue_ack, M.VenueFill: _venue_fill,
        M.VenueReject: _venue_closed, M.VenueCanceled: _venue_closed, M.VenueReplaced: _venue_replaced,
        M.VenueCancelReject: _venue_cancel_reject, M.DeskPause: _desk_pause,
    }


class Context:
    """A strategy's window onto the container: everything it may read or do, for its own parent."""

    def __init__(self, box: AlgoContainer, p: AlgoParent):
        self._box, self.parent = box, p
        self.ref, self.md = box.ref, box.md
        self.rng = SplitMix64(p.seed)

    @property
    def now(self) -> int:
        return self._box.now

    @property
    def lot(self) -> int:
        sec = self.ref.securities.get(self.parent.symbol)
        return sec.lot_size if sec else 1

    @property
    def round_lot(self) -> int:
        """The smallest clip worth sending (unless it is all that is left)."""
        return min(self._box.round_lot, self.parent.leaves)

    @property
    def tick(self) -> int:
        sec = self.ref.securities.get(self.parent.symbol)
        return sec.tick_px if sec else 10_000

    def schedule(self, at_ns: int, token) -> None:
        self._box.timer_requests.append((at_ns, ("wake", self.parent.order_id, token)))

    def subscribe(self, symbol: str) -> None:
        """Market data for another symbol (quotes and trades for it reach ``on_quote``/``on_trade`` too)."""
        self._box.subscribe(symbol)
        ids = self._box.by_symbol.setdefault(symbol, [])
        if self.parent.order_id not in ids:
            ids.append(self.parent.order_id)

    def children(self) -> list[AlgoChild]:
        """This parent's children still open, oldest first."""
        return self._box.open_children(self.parent)

    def open_qty(self) -> int:
        return self._box.open_qty(self.parent)

    def halted(self) -> bool:
        return self.md.halted.get(self.parent.symbol, False)

    def near_far(self) -> tuple[int, int]:
        """(near touch, far touch) of the NBBO for our side; 0 where a side is empty."""
        b, _, a, _ = self.md.best(self.parent.symbol)
        return (b, a) if self.parent.side == BUY else (a, b)

    def within_limit(self, px: int) -> int:
        """``px`` moved back inside the parent's limit if it is through it."""
        return inside_limit(self.parent.side, px, self.parent.limit)

    def _lots(self, qty: int) -> int:
        """Whole lots, except that the parent's last odd shares may go as they are."""
        room = self.parent.leaves - self.open_qty()
        qty = min(qty, room)
        return qty if qty == room else qty - qty % self.lot

    def end(self, text: str) -> None:
        """Give back what is left of the parent now (the OMS cancels it to the client with ``text``)."""
        self._box.end_now(self.parent, text)

    def take(self, qty: int, limit_px: int = 0, share_pct: int = 0) -> int:
        """Take displayed liquidity (IOC children, best venues first) up to ``qty`` at prices within ``limit_px``
        (and the parent's limit), each child at most ``share_pct`` of what its venue shows (default: the
        container's setting). Returns the quantity sent."""
        p = self.parent
        lim = self.within_limit(limit_px) if limit_px else p.limit
        qty = self._lots(qty)
        sent = 0
        for venue, n, px in placement.take_venues(self.ref, self.md, self._box.dest, p.symbol, p.side, lim, qty,
                                                  self.lot, share_pct or self._box.take_share_pct):
            n = self._lots(n)
            if n <= 0:
                break
            self._box.send(p, venue, n, px, OrdType.LIMIT, TimeInForce.IMMEDIATE_OR_CANCEL)
            sent += n
        return sent

    def fill_or_kill(self, qty: int) -> int:
        """One FOK child for ``qty`` to the best venue whose displayed quote holds all of it within the parent's limit,
        at that quote's price. Returns the quantity sent (0: no venue shows it all)."""
        p = self.parent
        best = placement.fill_or_kill_venue(self.ref, self.md, self._box.dest, p.symbol, p.side, p.limit, qty)
        if best is None:
            return 0
        venue, px = best
        self._box.send(p, venue, qty, px, OrdType.LIMIT, TimeInForce.FILL_OR_KILL)
        return qty

    def post(self, qty: int, px: int) -> AlgoChild | None:
        """Rest a day child at ``px`` (inside the parent's limit) on the best venue for it, sized to the displayed
        queue; None if there is nothing to send or no venue is up."""
        p = self.parent
        px = self.within_limit(px)
        venue = placement.post_venue(self.ref, self.md, self._box.dest, p.symbol, p.side, px)
        if venue is None or px <= 0:
            return None
        cap = max(self._box.near_shown(p) * self._box.post_share_pct // 100, self.lot, self._box.round_lot)
        qty = self._lots(min(qty, cap))
        if qty <= 0:
            return None
        return self._box.send(p, venue, qty, px, OrdType.LIMIT, TimeInForce.DAY)

    def cancel(self, c: AlgoChild) -> None:
        self._box.cancel(c)

    def replace(self, c: AlgoChild, qty: int, px: int) -> bool:
        return self._box.replace(self.parent, c, qty, px)

    def send(self, venue: str, qty: int, px: int, ord_type: str = OrdType.LIMIT, tif: str = TimeInForce.DAY) -> AlgoChild:
        """A child exactly as asked (validated; a breach pauses the parent)."""
        return self._box.send(self.parent, venue, qty, px, ord_type, tif)

    def curve_share(self, t0_ns: int, t1_ns: int) -> tuple[int, int]:
        """(weight of [t0, t1], weight of the order's whole interval) from the symbol's volume curve."""
        p = self.parent
        return (self.ref.curve_weight(p.symbol, t0_ns, t1_ns), self.ref.curve_weight(p.symbol, p.start_ns, p.end_ns))
