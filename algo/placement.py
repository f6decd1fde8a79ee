"""Where a child goes. Venue selection (which market: price, displayed size, fees, venue up) is kept apart from
destination selection (which of our FIX sessions reaches that market: round-robin over the sessions that are up),
so adding a session never changes a routing decision and a venue is skipped only when no session reaches it."""
from __future__ import annotations

from oms.rules import through_limit
from sequencer.fixvalues import Side

from .market import MarketView
from .refview import RefView

BUY = Side.BUY


class Destinations:
    """Session state from the sequenced VenueSession records. A venue is down until a session says it is up."""

    def __init__(self):
        self.up: dict[str, dict[str, bool]] = {}        # venue -> session -> up
        self._next: dict[str, int] = {}

    def on_session(self, venue: str, session: str, up: bool) -> None:
        sessions = self.up.setdefault(venue, {})
        if session:
            sessions[session] = up
        else:  # the whole venue
            for s in sessions:
                sessions[s] = up

    def venue_up(self, venue: str) -> bool:
        return any(self.up.get(venue, {}).values())

    def pick(self, venue: str) -> str | None:
        """The next session that is up for this venue, round-robin; None if all are down."""
        live = [s for s, up in self.up.get(venue, {}).items() if up]
        if not live:
            return None
        i = self._next.get(venue, 0)
        self._next[venue] = i + 1
        return live[i % len(live)]


def _offers(ref: RefView, md: MarketView, dest: Destinations, symbol: str, side: str,
            limit: int) -> list[tuple[str, int, int]]:
    """``[(venue, px, shown)]`` of the venues that are up and show the other side within the limit: best price first,
    then the larger displayed size, then the lower take fee."""
    offers = []
    for venue, top in md.tops.get(symbol, {}).items():
        px, shown = (top[2], top[3]) if side == BUY else (top[0], top[1])
        if px and shown and dest.venue_up(venue) and venue in ref.venues and not through_limit(side, px, limit):
            fee = ref.venues[venue].take_fee_px
            offers.append(((px if side == BUY else -px), -shown, fee, venue, px, shown))
    return [(venue, px, shown) for *_, venue, px, shown in sorted(offers)]


def fill_or_kill_venue(ref: RefView, md: MarketView, dest: Destinations, symbol: str, side: str, limit: int,
                       qty: int) -> tuple[str, int] | None:
    """``(venue, px)`` of the best venue whose displayed quote alone holds all of ``qty`` within the limit."""
    return next(((venue, px) for venue, px, shown in _offers(ref, md, dest, symbol, side, limit) if shown >= qty),
                None)


def take_venues(ref: RefView, md: MarketView, dest: Destinations, symbol: str, side: str, limit: int,
                qty: int, lot: int, take_share_pct: int) -> list[tuple[str, int, int]]:
    """Marketable children: ``[(venue, qty, px)]`` against displayed liquidity within the limit, best price first,
    then the larger displayed size, then the lower take fee. Each takes at most ``take_share_pct`` of what the venue
    shows, in whole lots."""
    out = []
    for venue, px, shown in _offers(ref, md, dest, symbol, side, limit):
        if qty <= 0:
            break
        n = min(qty, shown * take_share_pct // 100)
        n -= n % lot if n >= lot else 0
        if n > 0:
            out.append((venue, n, px))
            qty -= n
    return out


def post_venue(ref: RefView, md: MarketView, dest: Destinations, symbol: str, side: str, px: int) -> str | None:
    """A passive child's venue: among venues that are up, one already showing this price on our side (join the
    displayed market), then the best rebate (lowest make fee), then the name; None if no venue is up."""
    best = None
    for venue in sorted(ref.venues):
        if not dest.venue_up(venue):
            continue
        top = md.top(symbol, venue)
        joins = (top[0] if side == BUY else top[2]) == px
        key = (not joins, ref.venues[venue].make_fee_px, venue)
        if best is None or key < best[0]:
            best = (key, venue)
    return best[1] if best else None
