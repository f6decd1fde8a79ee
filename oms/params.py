"""Checks of a client order's algo parameters, so a bad one is refused with a clear reason before it is accepted."""
from __future__ import annotations

from sequencer.fixvalues import TimeInForce

STRATEGIES = ("LIMIT", "VWAP", "TWAP", "POV")

# Further strategy parameters (NewOrder.params, from documented custom FIX tags): name -> (strategies, low, high, default)
PARAMS = {
    "interval_s": (("VWAP", "TWAP", "POV"), 1, 3600, 30),   # how often the schedule is re-checked / TWAP slice length
    "tol_bp": (("VWAP", "TWAP"), 0, 5000, 200),             # behind/ahead tolerance, bp of the order quantity
    "min_bp": (("POV",), 1, 5000, 0),                       # POV lower band (default 80% of the rate)
    "max_bp": (("POV",), 1, 5000, 0),                       # POV upper band (default the rate itself)
}


def parse_params(strategy: str, params: dict) -> dict[str, int]:
    """The strategy's parameters with defaults filled in; ValueError naming the parameter if one is wrong."""
    out = {}
    for name, (strats, lo, hi, default) in PARAMS.items():
        if strategy in strats:
            out[name] = default
    for name in sorted(params):
        spec = PARAMS.get(name)
        if spec is None or strategy not in spec[0]:
            raise ValueError(f"parameter {name!r} does not apply to {strategy}")
        text = params[name]
        if not text.isdigit() or not spec[1] <= int(text) <= spec[2]:
            raise ValueError(f"parameter {name}={text!r} must be a whole number from {spec[1]} to {spec[2]}")
        out[name] = int(text)
    return out


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
    try:
        p = parse_params(o.strategy, o.params)
    except ValueError as e:
        return str(e)
    if o.strategy == "POV" and not (p["min_bp"] or 0) <= o.participation_bp <= (p["max_bp"] or 5000):
        return "POV needs min_bp <= ParticipationRate <= max_bp"
    return None


# TimeInForce (59) values and what seqtrade does with each; anything else is rejected (OrdRejReason 11), never
# silently worked as DAY
TIF_NAMES = {"0": "DAY", "1": "GTC", "2": "OPG", "3": "IOC", "4": "FOK", "5": "GTX", "6": "GTD", "7": "ATC"}
TIF_SUPPORTED = ("0", "6")


def check_tif(o) -> str | None:
    """``None`` if seqtrade works the order's TimeInForce, else why not (for an OrdRejReason 11 reject)."""
    name = TIF_NAMES.get(o.tif, repr(o.tif))
    if o.tif not in TIF_SUPPORTED:
        why = {"1": "orders do not live across days here: send DAY, or GTD with an ExpireTime today",
               "2": "the venues have no opening auction", "7": "the venues have no closing auction",
               "3": "not supported yet: send DAY and cancel, or a LIMIT order (it takes what is shown first)",
               "4": "not supported yet", "5": "not supported"}.get(o.tif, "unknown TimeInForce")
        return f"TimeInForce {name} is not supported: {why}"
    if o.tif == TimeInForce.GOOD_TILL_DATE and not o.expire_ns:
        return "GTD needs an ExpireTime (126); ExpireDate alone is not supported"
    return None
