"""Message rights per source: least privilege for the apps, not only for users.

Each ``[apps.NAME]`` has a role; a role is the set of message types its process may submit. The sequencer refuses
anything else before it is sequenced (the connection is closed with the reason, and the refusal is logged), and the
messages that name their sender (a gateway's ``FixSessionMark`` and ``FixReject``) must name the source that submits
them. The clock and the day (``Clock``, ``ClockSample``, ``DayStart``, ``EndOfDay``) are the sequencer's alone.

The table is also put on the stream (``SourceRights``, one per app, each time the sequencer starts), so the OMS and
the algo check the source of what they act on against the same table: a second line of defence that a replay
reproduces exactly, because the table is in the log.

Roles and their defaults (a role can be named in ``[apps.NAME] role = "..."``; without one it is inferred from what
the cluster file says the process is, and an app that is none of these may only read the stream):

==================  ===============================================================================================
oms                 execution reports, cancel rejects, child orders/cancels/replaces, child refusals, alerts
algo                child requests, algo pauses/resumes/ends, market data subscriptions, alerts
client-gateway      client orders, cancels, replaces, status requests, FIX business rejects, its session marks
venue-gateway       venue acks, fills, rejects, cancels, replaces, cancel rejects, session up/down, alerts, marks
marketdata          quotes, trades, symbol status
positions           position updates and account P&L (the positions app), alerts
refdata             securities, venues, volume curves, extra tables, reference data ready, risk limits
operator            the kill switch, risk limits, notes
desk                the screen's actions, each naming the user: desk cancels (one order or all of a client's), algo
                    pause and resume, the kill switch; market data subscriptions for what is viewed (the web gateway)
sample              ping, pong, notes, blobs (the demo's and tests' sample apps)
reader              nothing: subscribe only
standby             nothing: a standby sequencer's replication link (``[sequencer.ha] replication_app``)
==================  ===============================================================================================
"""
from __future__ import annotations

from . import messages as M

SEQUENCER_ONLY = frozenset(M.TAG_OF_CLASS[t] for t in (M.Clock, M.ClockSample, M.DayStart, M.EndOfDay,
                                                       M.SourceRights, M.TermStart))

_ROLES = {
    "oms": (M.ExecReport, M.CancelReject, M.MassCancelReport, M.ChildOrder, M.ChildCancel, M.ChildReplace,
            M.ChildRefused, M.ParentUpdate, M.ChildStatusRequest, M.OmsAlert),
    "algo": (M.ChildNewRequest, M.ChildCancelRequest, M.ChildReplaceRequest, M.AlgoPause, M.AlgoEnd, M.AlgoResume,
             M.MdSubscribe, M.OmsAlert),
    "client-gateway": (M.NewOrder, M.CancelRequest, M.ReplaceRequest, M.StatusRequest, M.MassCancelRequest,
                       M.CancelOnDisconnect, M.DontKnowTrade,
                       M.FixReject,
                       M.FixSessionMark),
    "venue-gateway": (M.VenueAck, M.VenueFill, M.VenueReject, M.VenueCanceled, M.VenueReplaced, M.VenueCancelReject,
                      M.VenueSession, M.VenueTradeCorrection, M.VenueOrderStatus, M.OmsAlert, M.FixSessionMark),
    "marketdata": (M.Quote, M.Trade, M.SymbolStatus),
    "positions": (M.PositionUpdate, M.AccountPnl, M.OmsAlert),
    "refdata": (M.Security, M.Venue, M.VolumeCurve, M.RefTable, M.RefDataReady, M.RiskLimits),
    "operator": (M.KillSwitch, M.RiskLimits, M.Note),
    "desk": (M.DeskCancel, M.DeskCancelAll, M.DeskPause, M.KillSwitch, M.MdSubscribe, M.Note),
    "sample": (M.Ping, M.Pong, M.Note, M.Blob),
    "reader": (),
    "standby": (),       # a standby sequencer: replicates the log (its own frames, sequencer/ha.py), submits nothing
}
ROLES: dict[str, frozenset[int]] = {name: frozenset(M.TAG_OF_CLASS[c] for c in classes)
                                    for name, classes in _ROLES.items()}
# messages that name the app that sent them: the name must be the submitting source
OWNED = {M.TAG_OF_CLASS[M.FixSessionMark]: "gateway", M.TAG_OF_CLASS[M.FixReject]: "gateway"}

# what the cluster file says a process is -> its role
_BY_CLASS = {"apps.oms:OmsApp": "oms", "apps.algo:AlgoApp": "algo", "apps.positions:PositionsApp": "positions",
             "apps.sample:PingApp": "sample",
             "apps.sample:PongApp": "sample"}


class RightsError(ValueError):
    pass


def tags_of(roles) -> frozenset[int]:
    """The message type tags a list of roles may submit."""
    out: set[int] = set()
    for r in roles:
        if r not in ROLES:
            raise RightsError(f"unknown role {r!r} (roles: {', '.join(ROLES)})")
        out |= ROLES[r]
    return frozenset(out)


def infer_role(name: str, app_cls: str, data: dict) -> str:
    """The default role of ``[apps.NAME]`` from the rest of the cluster file (``data``: the whole parsed TOML)."""
    if app_cls in _BY_CLASS:
        return _BY_CLASS[app_cls]
    gw = data.get("fixgw", {}).get(name)
    if isinstance(gw, dict):
        return {"client": "client-gateway", "venue": "venue-gateway"}.get(gw.get("kind"), "reader")
    proc = data.get("process", {}).get(name)
    if isinstance(proc, dict) and proc.get("kind") == "mdgw":
        return "marketdata"
    if isinstance(proc, dict) and proc.get("kind") == "web":
        return "desk"
    if name == data.get("cluster", {}).get("publisher", "refdata"):
        return "refdata"
    return "reader"


def refusal(source: str, allowed: frozenset[int], types) -> str | None:
    """Why a batch from ``source`` may not be sequenced (None: it may)."""
    if allowed.issuperset(types):
        return None
    bad = next(t for t in types if t not in allowed)
    cls = M.TYPES_BY_TAG.get(bad)
    what = cls.__name__ if cls else f"type {bad}"
    if bad in SEQUENCER_ONLY:
        return f"{source} may not submit {what}: only the sequencer does"
    return f"{source} may not submit {what} (not in its role's rights)"


_DAY_START = M.TAG_OF_CLASS[M.DayStart]
_SOURCE_RIGHTS = M.TAG_OF_CLASS[M.SourceRights]
TABLE_TYPES = frozenset((_DAY_START, _SOURCE_RIGHTS))


class SourceGuard:
    """An app's second line of defence: the rights table as the stream says it (``DayStart``, then ``SourceRights``
    after a sequencer restart), and whether a record's source may send its type. Deterministic and replayed: the
    table is in the log. A log written before rights existed carries no table, and then everything is allowed (it
    replays as it ran)."""

    def __init__(self):
        self.table: dict[str, frozenset[int]] | None = None

    def observe(self, rec) -> None:
        """Call with every DayStart and SourceRights record."""
        m = rec.msg
        if rec.type == _DAY_START:
            if m.rights:
                self.table = {src: frozenset(tags) for src, tags in m.rights.items()}
        elif rec.type == _SOURCE_RIGHTS:
            if self.table is None:
                self.table = {}
            self.table[m.source] = frozenset(m.tags)

    def allows(self, rec) -> bool:
        t = self.table
        return t is None or rec.source == "sequencer" or rec.type in t.get(rec.source, ())

    def alert(self, rec) -> M.OmsAlert:
        cls = M.TYPES_BY_TAG.get(rec.type)
        return M.OmsAlert("UNAUTHORIZED_SOURCE", f"seq {rec.seq}: {rec.source} may not send "
                                                 f"{cls.__name__ if cls else rec.type}; not acted on")
