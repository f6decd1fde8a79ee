"""The matching engine against a slow reference model: no crossed book at rest, price-time priority, quantities
conserved, for random streams of limit, IOC, market, cancel and replace."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from street.book import BUY, SELL, Book, BookError

ops = st.lists(st.one_of(
    st.tuples(st.just("limit"), st.sampled_from([BUY, SELL]), st.integers(95, 105), st.integers(1, 10)),
    st.tuples(st.just("ioc"), st.sampled_from([BUY, SELL]), st.integers(95, 105), st.integers(1, 10)),
    st.tuples(st.just("market"), st.sampled_from([BUY, SELL]), st.just(0), st.integers(1, 10)),
    st.tuples(st.just("cancel"), st.integers(0, 60), st.just(0), st.just(0)),
    st.tuples(st.just("replace"), st.integers(0, 60), st.integers(95, 105), st.integers(1, 10)),
), max_size=120)


class Reference:
    """Obviously-correct model: a list of resting orders in arrival order, matched by sorting."""

    def __init__(self):
        self.resting = []  # [oid, side, px, qty, arrival]
        self.arrival = 0

    def submit(self, oid, side, px, qty, rest=True):
        fills = []
        while qty:
            opp = [o for o in self.resting if o[1] != side and (px is None or (o[2] <= px if side == BUY
                                                                               else o[2] >= px))]
            if not opp:
                break
            best = min(opp, key=lambda o: (o[2] if side == BUY else -o[2], o[4]))
            n = min(qty, best[3])
            fills.append((best[0], oid, best[2], n))
            best[3] -= n
            qty -= n
            if not best[3]:
                self.resting.remove(best)
        if qty and rest and px is not None:
            self.arrival += 1
            self.resting.append([oid, side, px, qty, self.arrival])
        return fills

    def cancel(self, oid):
        for o in self.resting:
            if o[0] == oid:
                self.resting.remove(o)
                return o[3]
        return 0

    def replace(self, oid, qty, px):
        for o in self.resting:
            if o[0] == oid:
                if px == o[2] and qty <= o[3]:
                    o[3] = qty
                    return []
                side = o[1]
                self.resting.remove(o)
                return self.submit(oid, side, px, qty)
        return None


@settings(max_examples=300, deadline=None)
@given(ops)
def test_book_matches_the_reference_model(stream):
    book, ref = Book("X"), Reference()
    submitted = {}
    filled = {}
    cancelled = {}
    dropped = {}  # what an IOC or market order did not trade
    for i, (kind, a, px, qty) in enumerate(stream):
        if kind in ("limit", "ioc", "market"):
            oid = i
            submitted[oid] = qty
            if kind == "market":
                got, want = book.market(oid, a, qty), ref.submit(oid, a, None, qty, rest=False)
            else:
                got = book.limit(oid, a, px, qty, ioc=kind == "ioc")
                want = ref.submit(oid, a, px, qty, rest=kind == "limit")
            if kind != "limit":
                dropped[oid] = qty - sum(f[3] for f in got)
        elif kind == "cancel":
            n = book.cancel(a)
            assert n == ref.cancel(a)
            cancelled[a] = cancelled.get(a, 0) + n
            got = want = []
        else:
            want = ref.replace(a, qty, px)
            if want is None:
                with pytest.raises(BookError):
                    book.replace(a, qty, px)
                got = want = []
            else:
                old = book.orders[a].qty
                got = book.replace(a, qty, px)
                submitted[a] += qty - old  # a replace changes what the order may still trade
        assert got == want, (kind, a, px, qty)  # same fills, same order: price-time priority
        for maker, taker, _p, n in got:
            filled[maker] = filled.get(maker, 0) + n
            filled[taker] = filled.get(taker, 0) + n
        bb, ba = book.best_bid(), book.best_ask()
        assert bb is None or ba is None or bb < ba, "crossed book at rest"
    resting = {o.oid: o.qty for o in book.orders.values()}
    assert resting == {o[0]: o[3] for o in ref.resting}
    for oid, qty in submitted.items():
        # conservation: every share an order asked for traded, rests, was cancelled, or (IOC/market) was dropped
        assert filled.get(oid, 0) + resting.get(oid, 0) + cancelled.get(oid, 0) + dropped.get(oid, 0) == qty, oid


def test_partial_fills_walk_the_book_in_price_then_time_order():
    b = Book("X")
    b.limit("s1", SELL, 101, 5)
    b.limit("s2", SELL, 100, 5)
    b.limit("s3", SELL, 100, 5)
    fills = b.limit("b1", BUY, 101, 12)
    assert fills == [("s2", "b1", 100, 5), ("s3", "b1", 100, 5), ("s1", "b1", 101, 2)]
    assert b.top() == (0, 0, 101, 3)


def test_replace_keeps_priority_only_when_reducing_at_same_price():
    b = Book("X")
    b.limit("a", BUY, 100, 5)
    b.limit("b", BUY, 100, 5)
    b.replace("a", 3, 100)                 # keeps its place
    assert b.market("s", SELL, 3) == [("a", "s", 100, 3)]
    b.limit("c", BUY, 100, 5)
    b.replace("b", 6, 100)                 # more quantity: to the back, behind c
    assert [f[0] for f in b.market("t", SELL, 11)] == ["c", "b"]


def test_tick_lot_and_duplicate_ids_are_refused():
    b = Book("X", tick=5, lot=100)
    with pytest.raises(BookError, match="tick"):
        b.limit("a", BUY, 101, 100)
    with pytest.raises(BookError, match="lot"):
        b.limit("a", BUY, 100, 150)
    b.limit("a", BUY, 100, 100)
    with pytest.raises(BookError, match="already resting"):
        b.limit("a", BUY, 100, 100)


def test_fill_or_kill_trades_its_whole_quantity_at_once_or_nothing():
    b = Book("X", tick=1, lot=1)
    b.limit("s1", SELL, 100, 50)
    b.limit("s2", SELL, 101, 50)
    assert b.limit("f1", BUY, 101, 120, fok=True) == [] and b.top() == (0, 0, 100, 50)   # 100 there, 120 asked
    assert b.limit("f2", BUY, 100, 60, fok=True) == []                                     # 50 within its limit
    assert b.limit("f3", BUY, 101, 100, fok=True) == [("s1", "f3", 100, 50), ("s2", "f3", 101, 50)]
    assert "f3" not in b.orders and b.top() == (0, 0, 0, 0)
