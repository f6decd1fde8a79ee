"""The simulated street inside the stream, for the whole-cluster-in-one-process tests and simulations.

It plays the venues (``street.venue.VenueSim``, one per venue in the day's reference data, seeded), the venue
gateway (child orders in, acks and fills out) and the market data gateway (venue tops, NBBO and trades for the
symbols someone subscribed to). Everything it does is a function of the stream and its seed, so it replays exactly
like any other app. In a real cluster these are separate processes reached over FIX and feed sockets.
"""
from __future__ import annotations

from marketdata.consolidate import Consolidator
from sequencer import messages as M
from sequencer.record import Record
from street.events import order_event, side_of
from street.venue import SymbolSpec, VenueSim, curve_fn

from .runtime import App

SECOND = 1_000_000_000
_WANTED = frozenset(M.TAG_OF_CLASS[t] for t in (
    M.DayStart, M.Security, M.Venue, M.VolumeCurve, M.RefTable, M.RefDataReady, M.MdSubscribe, M.ChildOrder,
    M.ChildCancel, M.ChildReplace, M.SymbolStatus))


class SimStreetApp(App):
    name = "street"

    def __init__(self, seed: int = 1, step_ms: int = 1000, liquidity: bool = True):
        super().__init__()
        self.seed, self.step_ns, self.liquidity = seed, step_ms * 1_000_000, liquidity
        self.securities: dict[str, M.Security] = {}
        self.venue_refs: dict[str, M.Venue] = {}
        self.curves: dict[str, M.VolumeCurve] = {}
        self.stats: dict[str, dict] = {}
        self.venues: dict[str, VenueSim] = {}
        self.nbbo = Consolidator()
        self.subscribed: dict[str, bool] = {}
        self.open_ns = self.close_ns = 0
        self.open_s = 34200

    def on_message(self, rec: Record) -> None:
        if rec.type not in _WANTED:  # most of the stream is its own quotes and trades: not decoded
            return
        m = rec.msg
        t = type(m)
        if t is M.DayStart:
            self.open_ns, self.close_ns = m.open_ns, m.close_ns
        elif t is M.Security:
            self.securities[m.symbol] = m
        elif t is M.Venue:
            self.venue_refs[m.venue] = m
        elif t is M.VolumeCurve:
            self.curves[m.curve] = m
        elif t is M.RefTable and m.name == "symbol_stats":
            self.stats = {r[0]: dict(zip(m.columns, r)) for r in m.rows}
        elif t is M.RefDataReady:
            self._open_venues()
        elif t is M.MdSubscribe:
            self._subscribe(m.symbol)
        elif t is M.ChildOrder:
            v = self.venues.get(m.venue)
            if v is None:
                self.submit(M.VenueReject(m.child_id, f"no venue {m.venue}"))
            else:
                self._events(v, v.new_order(m.child_id, m.symbol, side_of(m.side), m.qty, m.ord_type, m.px, m.tif))
        elif t is M.ChildCancel and m.venue in self.venues:
            self._events(self.venues[m.venue], self.venues[m.venue].cancel(m.child_id))
        elif t is M.ChildReplace and m.venue in self.venues:
            self._events(self.venues[m.venue], self.venues[m.venue].replace(m.child_id, m.qty, m.px))
        elif t is M.SymbolStatus:
            for v in self.venues.values():
                v.halt(m.symbol, m.halted)

    def _open_venues(self) -> None:
        specs = []
        for sym, s in self.securities.items():
            st = self.stats.get(sym, {})
            specs.append(SymbolSpec(sym, s.tick_px, s.lot_size, s.prev_close_px, s.adv, s.volatility_bp,
                                    st.get("avg_trade_size", 100), st.get("avg_depth", 1000)))
        default = self.curves.get("*")
        if default:
            self.open_s = default.open_s
        curve = curve_fn(default.open_s, default.bin_s, default.weights_bp) if default else None
        for vid, v in self.venue_refs.items():
            self.venues[vid] = VenueSim(vid, specs, self.seed, curve, len(self.venue_refs), self.liquidity)
            for session in v.sessions:
                self.submit(M.VenueSession(vid, session, True))
        self.timers.schedule(max(self.now, self.open_ns) + self.step_ns, "step")

    def on_timer(self, token) -> None:
        t_s = self.open_s + (self.now - self.open_ns) / SECOND
        # only the books someone watches are simulated: nothing on the stream can see the others
        active = [s for s in self.subscribed if s in self.securities]
        for v in self.venues.values():
            self._events(v, v.step(t_s, self.step_ns / SECOND, active))
        if not self.close_ns or self.now + self.step_ns < self.close_ns:
            self.timers.schedule(self.now + self.step_ns, "step")

    def _subscribe(self, symbol: str) -> None:
        if self.subscribed.get(symbol):
            return
        self.subscribed[symbol] = True
        for vid, v in self.venues.items():  # the current picture first, so the subscriber starts with a book
            top = v.tops.get(symbol)
            if top:
                self.submit(M.Quote(symbol, vid, *top))
        if symbol in self.nbbo.nbbo:
            self.submit(M.Quote(symbol, "", *self.nbbo.nbbo[symbol]))

    def _events(self, v: VenueSim, events: list) -> None:
        for e in events:
            kind = e[0]
            if kind == "quote":
                for other in self.venues.values():   # each venue protects the others' quotes (Reg NMS)
                    other.on_away_quote(v.venue, e[1], e[2], e[4])
                nbbo = self.nbbo.update(e[1], v.venue, e[2:])
                if self.subscribed.get(e[1]):
                    self.submit(M.Quote(e[1], v.venue, *e[2:]))
                    if nbbo:
                        self.submit(M.Quote(e[1], "", *nbbo))
            elif kind == "trade":
                if self.subscribed.get(e[1]):
                    self.submit(M.Trade(e[1], v.venue, e[2], e[3]))
            else:
                self.submit(order_event(e))
