"""A seeded pseudo-random generator that is the same on every machine and Python version (SplitMix64), for
strategy decisions such as TWAP slice jitter. The seed comes from the stream (the order's sequence number), so a
replay draws the same numbers."""
from __future__ import annotations

_MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed: int):
        self.state = seed & _MASK

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & _MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        """A whole number in [0, n)."""
        return self.next() % n if n > 0 else 0

    def between(self, lo: int, hi: int) -> int:
        """A whole number in [lo, hi]."""
        return lo + self.below(hi - lo + 1)
