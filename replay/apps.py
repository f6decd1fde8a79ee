"""The deterministic apps a log can be replayed through, by the name they sequence under."""
from __future__ import annotations

from apps.algo import AlgoApp
from apps.oms import OmsApp
from apps.positions import PositionsApp
from apps.runtime import App
from apps.street_sim import SimStreetApp

DEFAULT = ("oms", "algo")


def make(name: str, street_seed: int | None = None) -> App:
    if name == "oms":
        return OmsApp()
    if name == "algo":
        return AlgoApp()
    if name == "positions":
        return PositionsApp()
    if name == "street":
        if street_seed is None:
            raise ValueError("replaying the simulated street needs its seed (--street-seed; the demo uses 7)")
        return SimStreetApp(street_seed)
    raise ValueError(f"no deterministic app {name!r} to replay (known: oms, algo, positions, street)")
