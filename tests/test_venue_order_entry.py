"""The venue simulator's FIX order entry, in process: what a venue owes a FIX client when its orders trade."""
from __future__ import annotations

from types import SimpleNamespace

from street.book import BUY
from street.fix_orders import FixOrderEntry
from street.venue import SymbolSpec, VenueSim


class Conn:
    def __init__(self):
        self.session = SimpleNamespace(cfg=SimpleNamespace(target="S1", begin="FIX.4.4"))
        self.sent: list = []

    def send_app(self, msgtype, body):
        self.sent.append((msgtype, {t: str(v) for t, v in body}))


def fields(*pairs):
    return [(str(t).encode(), str(v).encode()) for t, v in pairs]


def test_a_replace_that_crosses_and_fills_in_full_is_acknowledged_then_filled():
    sim = VenueSim("XNAS", [SymbolSpec("AAPL", 10_000, 1, 100_000_000, 1_000_000, 100, 100, 1000)], seed=1,
                   liquidity=False)
    entry, conn = FixOrderEntry(sim), Conn()
    entry.apply(sim.new_order(("mm", 1), "AAPL", BUY, 500, "2", 99_990_000, "0"))   # someone bids 99.99 for 500
    entry(conn, "D", fields((11, "C1"), (55, "AAPL"), (54, "2"), (38, 100), (40, "2"), (44, "100.05"), (59, "0")))
    entry(conn, "G", fields((11, "C1.1"), (41, "C1"), (55, "AAPL"), (54, "2"), (38, 100), (40, "2"), (44, "99.99")))
    kinds = [(mt, v.get(150), v.get(11)) for mt, v in conn.sent]
    assert kinds == [("8", "0", "C1"), ("8", "5", "C1.1"), ("8", "F", "C1.1")], conn.sent
    assert conn.sent[-1][1][39] == "2" and conn.sent[-1][1][14] == "100"
    assert entry.filled_qty == 100
    # and the venue has closed it: a cancel now is refused as for any closed order, with the ClOrdID it knew
    entry(conn, "F", fields((11, "C1.2"), (41, "C1.1"), (55, "AAPL"), (54, "2"), (38, 100)))
    assert conn.sent[-1][0] == "9"


def test_background_flow_never_trades_through_another_venue_s_better_quote():
    """Two venues of one seed share the fair price path. A stale bid far above the market rests at XNAS and a deep
    one far below it: the flow at XNAS picks the stale one off at its own price but never sweeps down to the deep bid
    while ARCX shows a better bid (Rule 611), and no market maker posts a quote that crosses the stale bid (610)."""
    spec = SymbolSpec("AAPL", 10_000, 100, 100_000_000, 5_000_000, 200, 100, 4_000)
    a = VenueSim("XNAS", [spec], seed=3, n_venues=2)
    b = VenueSim("ARCX", [spec], seed=3, n_venues=2)
    a.new_order("stale", "AAPL", BUY, 300, "2", 100_500_000, "0")        # 50 cents over the market
    a.new_order("deep", "AAPL", BUY, 100_000, "2", 99_000_000, "0")      # a dollar under it
    t, prints = 34_200.0, []
    for _ in range(3_000):
        t += 1.0
        b.step(t, 1.0)
        arcx_bid = b.books["AAPL"].best_bid()
        for e in a.step(t, 1.0):
            if e[0] == "trade":
                prints.append((e[2], arcx_bid))
        top = a.books["AAPL"].top()
        assert not (top[0] and top[2]) or top[0] < top[2], f"XNAS crossed or locked: {top}"
    assert prints
    assert all(px >= bid for px, bid in prints if bid), [p for p in prints if p[1] and p[0] < p[1]][:5]
    assert "deep" in {c.key for c in a.clients.values() if c.cum == 0}


def test_an_incoming_order_trades_up_to_another_venue_s_protected_quote_and_no_further():
    """Reg NMS as an exchange applies it to what arrives: an order that would trade through another venue's displayed
    quote trades only up to it (Rule 611); an IOC's rest is cancelled, a day order's rest is displayed one tick short of
    the away quote so as not to lock or cross it (Rule 610, "price to comply"); a replace is held to the same."""
    spec = SymbolSpec("AAPL", 10_000, 1, 100_000_000, 1_000_000, 100, 100, 1000)
    sim = VenueSim("XNAS", [spec], seed=1, liquidity=False)
    for i, px in enumerate((100_030_000, 100_060_000, 100_070_000)):
        sim.new_order(("mm", i), "AAPL", 2, 100, "2", px, "0")                  # asks 100.03, 100.06, 100.07
    sim.on_away_quote("ARCX", "AAPL", 99_990_000, 100_050_000)                # ARCX shows 99.99 x 100.05
    ev = sim.new_order("ioc", "AAPL", BUY, 300, "2", 100_100_000, "3")
    assert [(e[3], e[4]) for e in ev if e[0] == "fill" and e[1] == "ioc"] == [(100, 100_030_000)]
    assert ("canceled", "ioc") in [e[:2] for e in ev]
    ev = sim.new_order("day", "AAPL", BUY, 150, "2", 100_100_000, "0")
    assert [e for e in ev if e[0] == "fill"] == []                           # 100.06 is worse than ARCX's 100.05
    assert sim.books["AAPL"].best_bid() == 100_040_000                        # shown one tick under ARCX's ask
    assert sim.tops["AAPL"][0] == 100_040_000 and sim.tops["AAPL"][2] == 100_060_000
    ev = sim.replace("day", 150, 100_200_000)
    assert [e for e in ev if e[0] == "fill"] == [] and sim.books["AAPL"].best_bid() == 100_040_000
    # ARCX's ask goes: the day order is free to trade at the venue's own prices on its next change
    sim.on_away_quote("ARCX", "AAPL", 99_990_000, 0)
    ev = sim.replace("day", 150, 100_060_000)
    assert [(e[3], e[4]) for e in ev if e[0] == "fill" and e[1] == "day"] == [(100, 100_060_000)]
    # a market order is held to the protected quote too
    sim.on_away_quote("ARCX", "AAPL", 99_990_000, 100_050_000)
    ev = sim.new_order("mkt", "AAPL", BUY, 100, "1", 0, "3")
    assert [e for e in ev if e[0] == "fill"] == []


def test_market_makers_keep_a_two_sided_market_short_of_another_venue_s_quote_and_stale_orders_are_picked_off():
    spec = SymbolSpec("AAPL", 10_000, 100, 100_000_000, 5_000_000, 200, 100, 4_000)
    a = VenueSim("XNAS", [spec], seed=3, n_venues=2)
    a.step(34_201.0, 1.0)
    bid, ask = a.books["AAPL"].best_bid(), a.books["AAPL"].best_ask()
    # another venue shows a stale ask 20 cents under the market: nobody here may bid at or above it
    low = bid - 200_000
    a.on_away_quote("ARCX", "AAPL", low - 10_000, low)
    a.step(34_202.0, 1.0)
    book = a.books["AAPL"]
    assert book.best_bid() is not None and book.best_bid() < low               # still two-sided, short of it
    assert len([o for o in book.orders.values() if o.side == BUY and o.px == low - 10_000]) == 1
    # a client order left resting through the market here is taken at its own price on the next step
    a.on_away_quote("ARCX", "AAPL", 0, 0)
    px = book.best_bid() + 10_000
    a.new_order("stale", "AAPL", 2, 300, "2", px, "0")                       # a sell one tick over the bid...
    a.fair["AAPL"] += 1_000_000                                               # ...and the market jumps a dollar
    ev = a.step(34_203.0, 1.0)
    fills = [e for e in ev if e[0] == "fill" and e[1] == "stale"]
    assert sum(f[3] for f in fills) == 300 and {f[4] for f in fills} == {px}
