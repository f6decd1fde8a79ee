"""The day's reference data as the algos see it: built only from the start-of-day records on the stream."""
from __future__ import annotations

from sequencer import messages as M


class RefView:
    def __init__(self):
        self.securities: dict[str, M.Security] = {}
        self.venues: dict[str, M.Venue] = {}
        self.curves: dict[str, M.VolumeCurve] = {}
        self.tables: dict[str, M.RefTable] = {}
        self.content_hash = ""
        self.open_ns = 0          # the market open on sequenced (UTC ns) time, from DayStart
        self.close_ns = 0

    def on(self, m: M.Msg) -> None:
        if isinstance(m, M.Security):
            self.securities[m.symbol] = m
        elif isinstance(m, M.Venue):
            self.venues[m.venue] = m
        elif isinstance(m, M.VolumeCurve):
            self.curves[m.curve] = m
        elif isinstance(m, M.RefTable):
            self.tables[m.name] = m
        elif isinstance(m, M.RefDataReady):
            self.content_hash = m.content_hash
        elif isinstance(m, M.DayStart):
            self.open_ns, self.close_ns = m.open_ns, m.close_ns

    def table(self, name: str) -> list[dict]:
        """An extra table's rows as dicts (typed values), in file order; [] if the day has no such table."""
        t = self.tables.get(name)
        return [dict(zip(t.columns, row)) for row in t.rows] if t else []

    def curve(self, symbol: str) -> M.VolumeCurve | None:
        return self.curves.get(symbol) or self.curves.get("*")

    def curve_weight(self, symbol: str, t0_ns: int, t1_ns: int) -> int:
        """The volume curve's weight between two sequenced times, in bp * ns (divide two of these for a share).
        Times map to the curve through the market open on DayStart; the closing auction is not included."""
        c = self.curve(symbol)
        if c is None or t1_ns <= t0_ns:
            return max(t1_ns - t0_ns, 0)  # no curve: flat
        bin_ns = c.bin_s * 1_000_000_000
        total = 0
        for i, w in enumerate(c.weights_bp):
            b0 = self.open_ns + i * bin_ns
            overlap = min(t1_ns, b0 + bin_ns) - max(t0_ns, b0)
            if overlap > 0:
                total += w * overlap
        return total
