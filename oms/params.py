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
    if o.strategy in ("VWAP", "TWAP", "POV") and o.tif not in (TimeInForce.DAY, *IMMEDIATE):
        return f"{o.strategy} orders must be DAY orders (TimeInForce 0)"
    try:
        p = parse_params(o.strategy, o.params)
    except ValueError as e:
        return str(e)
    if o.strategy == "POV" and not (p["min_bp"] or 0) <= o.participation_bp <= (p["max_bp"] or 5000):
        return "POV needs min_bp <= ParticipationRate <= max_bp"
    return None


# TimeInForce (59): what seqtrade does with each. DAY ends Expired at the close; GTD at its ExpireTime (today);
# IOC takes what the venues show within the limit at once and cancels the rest; FOK executes in full at once on one
# venue or not at all. Anything else is rejected (OrdRejReason 11), never silently worked as DAY.
TIF = TimeInForce
TIF_NAMES = {TIF.DAY: "DAY", TIF.GOOD_TILL_CANCEL: "GTC", TIF.AT_THE_OPENING: "OPG", TIF.IMMEDIATE_OR_CANCEL: "IOC",
             TIF.FILL_OR_KILL: "FOK", TIF.GOOD_TILL_CROSSING: "GTX", TIF.GOOD_TILL_DATE: "GTD", TIF.AT_THE_CLOSE: "ATC"}
TIF_SUPPORTED = (TIF.DAY, TIF.GOOD_TILL_DATE, TIF.IMMEDIATE_OR_CANCEL, TIF.FILL_OR_KILL)
IMMEDIATE = (TIF.IMMEDIATE_OR_CANCEL, TIF.FILL_OR_KILL)
_UNSUPPORTED_WHY = {
    TIF.GOOD_TILL_CANCEL: "orders do not live across days here: send DAY, or GTD with an ExpireTime today",
    TIF.AT_THE_OPENING: "the venues have no opening auction", TIF.AT_THE_CLOSE: "the venues have no closing auction",
    TIF.GOOD_TILL_CROSSING: "the venues have no crossing session"}


def check_tif(o) -> str | None:
    """``None`` if seqtrade works the order's TimeInForce, else why not (for an OrdRejReason 11 reject)."""
    name = TIF_NAMES.get(o.tif, repr(o.tif))
    if o.tif not in TIF_SUPPORTED:
        return f"TimeInForce {name} is not supported: {_UNSUPPORTED_WHY.get(o.tif, 'unknown TimeInForce')}"
    if o.tif == TIF.GOOD_TILL_DATE and not o.expire_ns:
        return "GTD needs an ExpireTime (126); ExpireDate alone is not supported"
    if o.tif in IMMEDIATE and o.strategy != "LIMIT":
        return f"TimeInForce {name} is for LIMIT orders, not {o.strategy} (an algo works over time)"
    if o.tif in IMMEDIATE and (o.start_ns or o.end_ns or o.expire_ns):
        return f"TimeInForce {name} executes at once: no start, end or expire time"
    return None
