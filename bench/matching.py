"""Matching engine benchmark: a fixed, seeded stream of 200,000 events on one book (one core, one process).

Events: 60% passive limit orders around the mid, 25% cancels of resting orders, 15% marketable orders (half limit
orders through the touch, half market orders). The stream is generated before timing, so only matching is timed.
Prints as its last line: matching_events_per_s=<N>
"""
from __future__ import annotations

import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from street.book import BUY, SELL, Book  # noqa: E402

N = 200_000
SEED = 20261123


def make_stream(n: int, seed: int):
    rng = random.Random(seed)  # a benchmark harness, not app code: a seeded generator is fine here
    mid = 10_000
    live: list = []
    out = []
    for i in range(n):
        r = rng.random()
        if r < 0.60 or not live:
            side = BUY if rng.random() < 0.5 else SELL
            px = mid - rng.randint(1, 20) if side == BUY else mid + rng.randint(1, 20)
            out.append(("L", i, side, px, rng.randint(1, 10) * 100))
            live.append(i)
        elif r < 0.85:
            j = rng.randrange(len(live))
            live[j], live[-1] = live[-1], live[j]
            out.append(("C", live.pop()))
        elif r < 0.925:
            side = BUY if rng.random() < 0.5 else SELL
            px = mid + 25 if side == BUY else mid - 25
            out.append(("X", i, side, px, rng.randint(1, 5) * 100))
        else:
            out.append(("M", i, BUY if rng.random() < 0.5 else SELL, rng.randint(1, 5) * 100))
        if i % 1000 == 0:
            mid += rng.choice((-1, 0, 1))
    return out


def run(stream) -> tuple[float, int]:
    book = Book("BENCH")
    limit, cancel, market = book.limit, book.cancel, book.market
    fills = 0
    t = time.perf_counter()
    for ev in stream:
        k = ev[0]
        if k == "L":
            fills += len(limit(ev[1], ev[2], ev[3], ev[4]))
        elif k == "C":
            cancel(ev[1])
        elif k == "X":
            fills += len(limit(ev[1], ev[2], ev[3], ev[4], ioc=True))
        else:
            fills += len(market(ev[1], ev[2], ev[3]))
    return time.perf_counter() - t, fills


def main():
    stream = make_stream(N, SEED)
    best = None
    for _ in range(3):
        dt, fills = run(stream)
        best = dt if best is None else min(best, dt)
    print(f"{N} events (60% limit, 25% cancel, 15% marketable), {fills} fills, best of 3 runs: {best:.3f}s")
    print(f"matching_events_per_s={N / best:.0f}")


if __name__ == "__main__":
    main()
