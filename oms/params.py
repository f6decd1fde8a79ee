"""Checks of a client order's algo parameters, so a bad one is refused with a clear reason before it is accepted."""
from __future__ import annotations

STRATEGIES = ("LIMIT", "VWAP", "TWAP", "POV")


def check_params(o, now: int) -> str | None:
    """``None`` if the NewOrder's strategy parameters make sense, else the reason."""
    if o.strategy not in STRATEGIES:
        return f"unknown strategy {o.strategy!r} (known: {', '.join(STRATEGIES)})"
    if o.start_ns and o.end_ns and o.end_ns <= o.start_ns:
        return "end time is not after the start time"
    if o.end_ns and o.end_ns <= now:
        return "end time is already past"
    if o.expire_ns and o.expire_ns <= now:
        return "ExpireTime is already past"
    if o.strategy == "POV":
        if not 1 <= o.participation_bp <= 5_000:
            return f"POV needs a ParticipationRate between 0.01% and 50%, not {o.participation_bp / 100}%"
    elif o.participation_bp:
        return f"ParticipationRate is only for POV, not {o.strategy}"
    if o.strategy in ("VWAP", "TWAP", "POV") and o.tif not in ("0",):
        return f"{o.strategy} orders must be DAY orders (TimeInForce 0)"
    return None
