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
