"""A whole trading cluster in one process on the simulated street: sequencer core and log, OMS, algo container
and ``SimStreetApp``, with the day's reference data published first. Deterministic for a given seed, so tests,
simulations and benchmarks can record a day and replay it."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from refdata.load import load_dir
from refdata.publish import messages as refdata_messages
from oms.risk import open_limits

from .algo import AlgoApp
from .memory import MemoryCluster
from .oms import OmsApp
from .street_sim import SimStreetApp

NY = ZoneInfo("America/New_York")
SECOND = 1_000_000_000


def ny_ns(day: str, hhmmss: str) -> int:
    """UTC nanoseconds of a New York wall-clock time on a trading day (YYYYMMDD, HH:MM[:SS])."""
    parts = [int(x) for x in hhmmss.split(":")] + [0]
    dt = datetime(int(day[:4]), int(day[4:6]), int(day[6:]), parts[0], parts[1], parts[2], tzinfo=NY)
    return int(dt.timestamp()) * SECOND


class SimCluster(MemoryCluster):
    def __init__(self, data_dir: str, refdata_dir: str, seed: int = 1, day: str = "20260102", step_ms: int = 1000,
                 open_time: str = "09:30", close_time: str = "16:00", start_time: str = "09:29:00",
                 limits: list | None = None):
        self.open_ns, self.close_ns = ny_ns(day, open_time), ny_ns(day, close_time)
        super().__init__(data_dir, day, start_ns=ny_ns(day, start_time), close_ns=self.close_ns,
                         open_ns=self.open_ns)
        self.oms, self.algo, self.street = OmsApp(), AlgoApp(), SimStreetApp(seed, step_ms)
        for app in (self.oms, self.algo, self.street):
            self.add(app)
        if self.log.last_seq <= 1:  # a new day: the reference data load and the risk limits come first
            for m in refdata_messages(load_dir(refdata_dir)):
                self.inject("refdata", m)
            for m in limits if limits is not None else [open_limits()]:
                self.inject("admin", m)
        self.run()

    def at(self, hhmmss: str) -> int:
        return ny_ns(self.log.trading_day, hhmmss)

    def run_until(self, t_ns: int, step_ns: int = SECOND) -> None:
        """Advance sequenced time to ``t_ns`` in steps (each a Clock record, so timers fire close to their time)."""
        t = self.now
        while t < t_ns:
            t = min(t + step_ns, t_ns)
            self.advance(t)
