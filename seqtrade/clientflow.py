"""The simulated day's client flow, shared by the in-process demo (entered on the stream) and ``seqtrade client-sim``
(sent over FIX): per symbol a VWAP over most of the day, a two-hour TWAP, a POV in the afternoon and a limit order
at the previous close, alternating buy and sell by symbol, plus a cancel and two replaces (one that comes too late,
one that takes effect), as clients do.

The plan's times are written for a 09:30-16:00 session and scaled linearly into the session actually configured,
so a short compressed test day gets the same shape of flow."""
from __future__ import annotations

from sequencer import messages as M

SESSION = (9 * 3600 + 30 * 60, 16 * 3600)
STRATEGY_PLAN = [  # (strategy, start, end, qty, params) per symbol, staggered so the day has flow at all times
    ("VWAP", "09:35", "15:55", 60_000, {}),
    ("TWAP", "10:00", "12:00", 20_000, {"interval_s": "300"}),
    ("POV", "13:00", "15:30", 400_000, {}),
    ("LIMIT", "11:00", "", 5_000, {}),
]


def _secs(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 3600 + int(m) * 60


def plan(open_ns: int, close_ns: int, prev_close: dict[str, int], client: str = "CLIENT1"
         ) -> list[tuple[int, M.Msg]]:
    """``(time_ns, request)`` in time order for the session ``open_ns``..``close_ns`` (UTC ns)."""
    span = close_ns - open_ns

    def at(hhmm: str) -> int:
        return open_ns + (_secs(hhmm) - SESSION[0]) * span // (SESSION[1] - SESSION[0])
    flow = []
    symbols = sorted(prev_close)
    for i, sym in enumerate(symbols):
        side = "1" if i % 2 == 0 else "2"
        for strat, start, end, qty, params in STRATEGY_PLAN:
            cl = f"{strat[0]}{i:02d}"
            # the limit order is priced at the previous close: it trades when the market comes to it
            px = prev_close[sym] if strat == "LIMIT" else 0
            flow.append((at(start), M.NewOrder(client, cl, sym, side, qty, "2" if px else "1", px,
                                               strategy=strat, end_ns=at(end) if end else 0,
                                               participation_bp=500 if strat == "POV" else 0, params=params)))
    flow.append((at("10:30"), M.CancelRequest(client, "X-T00", "T00", symbols[0], "1")))
    if len(symbols) > 1:
        flow.append((at("11:30"), M.ReplaceRequest(client, "R-L01", "L01", symbols[1], "2", 8_000, "1")))
    if len(symbols) > 2:   # a replace that takes effect: a working VWAP cut to 50,000 (re-sliced; CAT MEOM)
        flow.append((at("11:45"), M.ReplaceRequest(client, "R-V02", "V02", symbols[2], "1", 50_000, "1")))
    return sorted(flow, key=lambda x: x[0])


def share(flow: list, part: str) -> list:
    """Part K/N of the flow: the orders of every N-th symbol, with the cancels and replaces of those orders."""
    k, n = (int(x) for x in part.split("/"))
    symbols = sorted({m.symbol for _, m in flow})
    mine = set(symbols[k - 1::n])
    return [(t, m) for t, m in flow if m.symbol in mine]
