"""The one schema for every message that travels on the sequenced stream.

Each payload is a ``msgspec.Struct`` with an explicit, stable integer tag. Payloads are encoded as msgpack arrays
(``array_like``): ``[tag, field1, field2, ...]``. That keeps records small and lets a field be added at the end with a
default without breaking old logs. Rules for changing this file:

* never reuse or renumber a tag; retire a type by leaving its tag unused;
* only append fields, always with a default; bump ``SCHEMA_VERSION`` when the meaning of a record changes;
* money is integers: prices are in units of ``1 / PRICE_SCALE``. A field holding a price is named ``px``, ``price`` or
  ends in ``_px``; tools such as ``seqtrade log dump`` use that convention to show it as a decimal.
"""
from __future__ import annotations

from typing import Union

import msgspec

SCHEMA_VERSION = 1
PRICE_SCALE = 1_000_000  # prices are integer micro-units (6 decimals): sub-penny safe, fits in int64 to $9e12


class UnknownMessageType(ValueError):
    """A record carries a type tag this code does not know. Never skipped: the reader stops."""

    def __init__(self, tag: int, where: str = ""):
        self.tag = tag
        super().__init__(f"unknown message type tag {tag}{' ' + where if where else ''}")


class Msg(msgspec.Struct, array_like=True, frozen=True, tag_field="t"):
    """Base of every payload. Subclasses set ``tag=<int>``."""


# --- sequencer (1..19) ------------------------------------------------------------------------------------------

class Clock(Msg, tag=1):
    """Emitted by the sequencer when nothing else was sequenced for a while, so timers fire on time."""


class ClockSample(Msg, tag=2):
    """The sequencer's reading of the host time source (the kernel's NTP discipline, see ``hostclock.py``), for the
    clock synchronisation report: the host clock's estimated offset from the reference, its maximum error, and
    whether the kernel counts the clock as synchronised at all."""
    host: str
    offset_ns: int
    max_error_ns: int = -1     # -1: unknown
    synced: bool = False


class DayStart(Msg, tag=3):
    """First record of every day's log: which day and which schema wrote it, and the day's market open and close
    (UTC ns, 0 = not set), so apps can schedule by them without reading time zones themselves."""
    trading_day: str  # YYYYMMDD
    schema_version: int = SCHEMA_VERSION
    open_ns: int = 0
    close_ns: int = 0
    rights: dict[str, list[int]] = {}   # source -> the message type tags it may submit (sequencer/rights.py)


class TermStart(Msg, tag=5):
    """The first record a sequencer writes when it becomes the primary (sequencer/ha.py): ``term`` is the fencing token
    (the etcd revision of its leadership key); every record after it, up to the next TermStart, is that term's."""
    term: int
    node: str


class SourceRights(Msg, tag=4):
    """What one app may submit (its role's message type tags). The day's first table is in ``DayStart``; a sequencer
    restarted mid-day puts the table in force on the stream again, one of these per app, so the apps check the source
    of what they act on against the same table the sequencer enforces (``sequencer/rights.py``)."""
    source: str
    role: str
    tags: list[int]


# --- client orders, from the client gateway (100..109) ------------------------------------------------------------
# Enumerations carry FIX values: side "1" buy, "2" sell, "5" sell short, "6" sell short exempt; ord_type "1" market,
# "2" limit; tif "0" day, "3" IOC, "6" GTD. Quantities are shares; prices are integers in PRICE_SCALE units.

class NewOrder(Msg, tag=100):
    client: str
    cl_ord_id: str
    symbol: str
    side: str
    qty: int
    ord_type: str
    px: int = 0
    tif: str = "0"
    account: str = ""
    strategy: str = "LIMIT"          # LIMIT, VWAP, TWAP, POV
    start_ns: int = 0                # EffectiveTime (168); 0 = now
    end_ns: int = 0                  # the algo's end time; 0 = end of day
    expire_ns: int = 0               # ExpireTime (126); 0 = none
    participation_bp: int = 0        # POV target rate (849), basis points
    locate_broker: str = ""          # for short sales: who located the shares (5700 / LocateBroker)
    params: dict[str, str] = {}      # further strategy parameters (documented custom tags)


class CancelRequest(Msg, tag=101):
    client: str
    cl_ord_id: str
    orig_cl_ord_id: str
    symbol: str
    side: str


class ReplaceRequest(Msg, tag=102):
    client: str
    cl_ord_id: str
    orig_cl_ord_id: str
    symbol: str
    side: str
    qty: int
    ord_type: str
    px: int = 0


class StatusRequest(Msg, tag=103):
    client: str
    cl_ord_id: str
    symbol: str = ""                 # as the client sent them: echoed when the order is unknown
    side: str = ""


# --- OMS to clients (110..119) -------------------------------------------------------------------------------------

class ExecReport(Msg, tag=110):
    """One execution report. ``exec_type``/``ord_status`` are FIX 4.4 values (a trade is ExecType "F"); the client
    gateway maps them for FIX 4.2. ``cum_notional_px`` is the exact sum of last_qty * last_px: AvgPx is derived from it
    and rounded only when written to FIX."""
    client: str
    order_id: str
    cl_ord_id: str
    orig_cl_ord_id: str
    exec_id: str
    exec_type: str
    ord_status: str
    symbol: str
    side: str
    order_qty: int
    px: int
    cum_qty: int
    leaves_qty: int
    cum_notional_px: int
    last_qty: int = 0
    last_px: int = 0
    last_mkt: str = ""
    ord_rej_reason: int = -1          # FIX 4.4 OrdRejReason when exec_type is "8"
    risk_code: str = ""               # our own reason code for refusals (see oms/risk.py)
    text: str = ""
    ord_type: str = "2"
    strategy: str = ""
    restatement_reason: int = -1     # ExecRestatementReason (378) of a Restated report; -1 none
    exec_ref_id: str = ""            # ExecRefID (19): the fill a trade cancel (H) or correct (G) refers to


class CancelOnDisconnect(Msg, tag=105):
    """The client gateway: a session set ``cancel_on_disconnect`` went down (logout or a dropped connection), so
    every open order of its client is cancelled (each as a client cancel would be, its children first)."""
    client: str
    session: str
    text: str = ""


class DontKnowTrade(Msg, tag=106):
    """A client's DontKnowTrade (35=Q): it does not recognise one of our executions. Nothing changes on the order; the
    desk is told (the OMS raises an alert) and settles it with the client."""
    client: str
    order_id: str
    exec_id: str
    reason: str                      # DKReason (127): A unknown symbol, B wrong side, C quantity, D no matching order...
    symbol: str
    side: str
    text: str = ""


class DeskCancel(Msg, tag=107):
    """A person on the desk cancels a client order from the screen (the web gateway checked they may): the OMS ends it
    Canceled, its children first, and the client is told why; ``user`` puts the name on the log."""
    user: str
    order_id: str
    text: str = ""


class DeskCancelAll(Msg, tag=108):
    """A person on the desk cancels every open order of a client (or of one of its symbols) from the screen: each ends
    Canceled as a ``DeskCancel`` would, and an alert says how many, under the user's name."""
    user: str
    client: str
    symbol: str = ""
    text: str = ""


class DeskPause(Msg, tag=109):
    """A person on the desk pauses (``pause`` true) or resumes an algo order from the screen: the algo container stops
    working it and takes its children back, or works it again from now; the client is told either way."""
    user: str
    order_id: str
    pause: bool
    text: str = ""


class MassCancelRequest(Msg, tag=104):
    """A client's OrderMassCancelRequest (FIX 4.4 35=q): every open order of the client (``scope`` "7"), or of one
    symbol ("1", MassCancelRequestType 530)."""
    client: str
    cl_ord_id: str
    scope: str
    symbol: str = ""
    side: str = ""


class MassCancelReport(Msg, tag=112):
    """The OMS's answer (35=r): ``response`` is MassCancelResponse (531): "0" refused, else the scope done;
    ``affected`` the orders it cancels (each also gets its own Canceled report)."""
    client: str
    cl_ord_id: str
    mass_id: str
    scope: str
    response: str
    affected: int
    text: str = ""
    reject_reason: int = -1          # MassCancelRejectReason (532) when refused


class CancelReject(Msg, tag=111):
    client: str
    order_id: str
    cl_ord_id: str
    orig_cl_ord_id: str
    ord_status: str
    response_to: str                 # "1" cancel request, "2" cancel/replace request
    reason: int                      # FIX 4.4 CxlRejReason
    text: str = ""
    risk_code: str = ""


# --- child orders: algo -> OMS -> venue gateway (200..209) --------------------------------------------------------

class ChildNewRequest(Msg, tag=200):
    """The algo asks for a child order; the OMS checks the invariants and answers ChildOrder or ChildRefused."""
    parent_id: str
    child_id: str
    venue: str
    symbol: str
    side: str
    qty: int
    ord_type: str
    px: int = 0
    tif: str = "0"
    session: str = ""
    cause_seq: int = 0               # the record the algo was handling when it decided (0: a timer): causal chains


class ChildCancelRequest(Msg, tag=201):
    child_id: str


class ChildReplaceRequest(Msg, tag=202):
    child_id: str
    qty: int
    px: int


class ChildOrder(Msg, tag=203):
    """Approved by the OMS: the venue gateway sends it as a NewOrderSingle."""
    child_id: str
    parent_id: str
    venue: str
    symbol: str
    side: str
    qty: int
    ord_type: str
    px: int
    tif: str
    session: str = ""


class ChildCancel(Msg, tag=204):
    child_id: str
    venue: str
    reason: str = ""


class ChildReplace(Msg, tag=205):
    child_id: str
    venue: str
    qty: int
    px: int


class ChildRefused(Msg, tag=206):
    child_id: str
    parent_id: str
    request: str                     # "new", "cancel", "replace"
    code: str
    text: str


class ChildStatusRequest(Msg, tag=208):
    """The OMS asks a venue for a child's state (OrderStatusRequest, 35=H): after the venue refused to cancel it and
    did not say the order is over, so a parent waiting for it learns where it stands."""
    child_id: str
    venue: str


class ParentUpdate(Msg, tag=207):
    """The OMS to the algo container: a parent order was accepted, or its terms or state changed. The algo works
    parents from these and never decodes the client's ExecutionReports (their form is the client's business).
    ``event``: "accepted", "pending" (a client cancel or replace is taking the children back), "replaced" (new
    terms), "done" (filled, canceled or expired: stop working it), "corrected" (a venue busted or corrected a fill:
    ``cum_qty`` and ``status`` say what stands, and an order a bust un-fills is working again)."""
    order_id: str
    event: str
    client: str
    cl_ord_id: str
    status: str                      # OrdStatus after the change
    qty: int
    px: int
    ord_type: str
    cum_qty: int
    cum_notional_px: int


# --- venue gateway: what the venues said (210..219) ---------------------------------------------------------------

class VenueAck(Msg, tag=210):
    child_id: str
    venue_order_id: str = ""


class VenueFill(Msg, tag=211):
    child_id: str
    exec_id: str
    last_qty: int
    last_px: int
    liquidity: str = ""              # "1" added, "2" removed (LastLiquidityInd 851)


class VenueReject(Msg, tag=212):
    child_id: str
    text: str = ""


class VenueCanceled(Msg, tag=213):
    child_id: str
    text: str = ""


class VenueReplaced(Msg, tag=214):
    child_id: str
    qty: int
    px: int


class VenueCancelReject(Msg, tag=215):
    child_id: str
    text: str = ""
    ord_status: str = ""             # the venue's OrdStatus (39) of the order it would not cancel or replace
    reason: int = -1                 # CxlRejReason (102)
    response_to: str = ""            # CxlRejResponseTo (434): "1" cancel, "2" replace


class VenueOrderStatus(Msg, tag=218):
    """A venue's answer to an OrderStatusRequest (FIX 4.4 ExecType I, 4.2 ExecTransType 3 Status): the child's
    OrdStatus and quantities at the venue."""
    child_id: str
    ord_status: str
    cum_qty: int
    leaves_qty: int
    text: str = ""


class VenueTradeCorrection(Msg, tag=217):
    """A venue busted (``kind`` "bust": FIX 4.4 ExecType H, 4.2 ExecTransType 1) or corrected ("correct": ExecType G,
    ExecTransType 2) one of its earlier fills, ``ref_exec_id``; a correction carries the fill's new quantity and
    price."""
    child_id: str
    exec_id: str
    ref_exec_id: str
    kind: str
    last_qty: int = 0
    last_px: int = 0


class VenueSession(Msg, tag=216):
    venue: str
    session: str
    up: bool


class OmsAlert(Msg, tag=220):
    """Something a person must look at (an overfill, a fill for an unknown child): never silently dropped."""
    code: str
    text: str
    parent_id: str = ""
    child_id: str = ""


class AlgoPause(Msg, tag=221):
    """The algo container stopped working a parent (a strategy broke a rule or raised): the OMS tells the client."""
    parent_id: str
    code: str
    text: str


class AlgoResume(Msg, tag=223):
    """The algo container works a paused parent again (the desk resumed it): the OMS tells the client."""
    parent_id: str
    text: str


class AlgoEnd(Msg, tag=222):
    """A parent's algo reached its end time with quantity left: the OMS cancels the rest back to the client."""
    parent_id: str
    text: str


# --- FIX gateways: session bookkeeping on the stream (230..239) ------------------------------------------------

class FixSessionMark(Msg, tag=230):
    """A FIX gateway's session state after it sent or received something: what a restarted gateway resumes from.

    ``next_in``/``next_out`` are the session's next MsgSeqNums; ``delivered_seq`` is the stream seq up to which every
    record meant for this session has been sent (or refused); ``out_seqs[i]`` is the MsgSeqNum that carried the record
    at stream seq ``stream_seqs[i]``, sent at ``sent_ns`` (wall clock, for OrigSendingTime on a resend); ``up`` says
    whether the session was logged on when the mark was written (a clean logout writes ``up`` False)."""
    gateway: str
    session: str
    next_in: int
    next_out: int
    delivered_seq: int
    up: bool
    sent_ns: int = 0
    out_seqs: list[int] = []
    stream_seqs: list[int] = []


class FixReject(Msg, tag=231):
    """A FIX gateway refuses an application message it cannot map (BusinessMessageReject 35=j). Sequenced before it
    is sent, like every other outgoing message, so a restarted gateway can resend it."""
    gateway: str
    session: str
    ref_seq: int
    ref_msgtype: str
    reason: int
    text: str
    ref_id: str = ""


# --- reference and market data (250..269) -------------------------------------------------------------------------

class Security(Msg, tag=250):
    symbol: str
    name: str = ""
    listing: str = ""
    lot_size: int = 1
    tick_px: int = 10_000            # 0.01
    prev_close_px: int = 0
    adv: int = 0
    volatility_bp: int = 0
    restricted: bool = False
    halted: bool = False


class Venue(Msg, tag=251):
    """A venue from the day's reference data. Fees are per share (negative = rebate)."""
    venue: str
    cat_id: str                      # the CAT exchange id of the venue
    mic: str
    sessions: list[str]              # the FIX sessions that reach it (destination selection)
    make_fee_px: int = 0
    take_fee_px: int = 0
    fix_host: str = ""
    fix_port: int = 0
    md_port: int = 0


class VolumeCurve(Msg, tag=252):
    """Share of the day's volume per intraday bin, in basis points of the whole day (bins plus the closing
    auction sum to 10,000). ``curve`` is a symbol, or "*" for the default curve."""
    curve: str
    open_s: int                      # the first bin's start, seconds after midnight New York time
    bin_s: int
    weights_bp: list[int]
    close_auction_bp: int = 0


class RefTable(Msg, tag=253):
    """Any other reference data table, typed (see refdata/tables.py), so a new table needs no code."""
    name: str
    columns: list[str]
    types: list[str]
    rows: list[list[Union[int, bool, str]]]


class RefDataReady(Msg, tag=254):
    """Last record of the start-of-day load: what was published and the SHA-256 of the files it came from."""
    content_hash: str
    files: list[str]
    securities: int
    venues: int


class Quote(Msg, tag=260):
    """Top of book; ``venue`` "" is the consolidated NBBO. ``feed_ns``: when the venue's feed sent the update that
    caused it (the feed host's monotonic clock; 0 when not from a feed), kept for latency measurement only."""
    symbol: str
    venue: str
    bid_px: int
    bid_qty: int
    ask_px: int
    ask_qty: int
    feed_ns: int = 0


class Trade(Msg, tag=261):
    symbol: str
    venue: str
    px: int
    qty: int
    feed_ns: int = 0


class SymbolStatus(Msg, tag=262):
    symbol: str
    halted: bool


class MdSubscribe(Msg, tag=263):
    """An app asks for a symbol's market data: the market data gateway sequences quotes and trades only for symbols
    someone asked for."""
    symbol: str
    subscriber: str


# --- admin (300..319) ---------------------------------------------------------------------------------------------

UNLIMITED = -1   # a RiskLimits value set explicitly to "no limit"


class RiskLimits(Msg, tag=300):
    """Pre-trade limits for a client, or the firm when ``client`` is "*". A value of 0 is "not set here": a client's
    takes the firm's, and a required limit (``oms.risk.REQUIRED``) that neither sets refuses the order. ``UNLIMITED``
    (-1) is "no limit", said explicitly. ``dup_window_ms`` 0 is "no duplicate check"."""
    client: str
    max_order_qty: int = 0
    max_order_notional_px: int = 0
    credit_limit_px: int = 0
    collar_bp: int = 0
    dup_window_ms: int = 0
    max_orders_per_sec: int = 0
    short_without_locate: bool = False


class KillSwitch(Msg, tag=301):
    client: str                      # "*" = the whole firm
    active: bool
    cancel_open: bool = False
    text: str = ""


class EndOfDay(Msg, tag=302):
    text: str = ""


# --- positions and P&L (270..279) ----------------------------------------------------------------------------

class PositionUpdate(Msg, tag=270):
    """The positions app: one account's position in one symbol after a fill, a bust or a correction, or a new mark.
    ``cost_px`` is the signed cost of the open quantity and the P&L figures are in price units × shares (divide by
    PRICE_SCALE for dollars); unrealised = qty × mark - cost."""
    account: str
    symbol: str
    qty: int
    cost_px: int
    realized_px: int
    mark_px: int
    unrealized_px: int


class AccountPnl(Msg, tag=271):
    """The positions app: an account's totals, with every PositionUpdate of the account. Exposures are Σ|qty|·mark
    (gross) and Σ qty·mark (net)."""
    account: str
    realized_px: int
    unrealized_px: int
    gross_exposure_px: int
    net_exposure_px: int


# --- sample apps used by the demo and the tests (900..919) ------------------------------------------------------

class Ping(Msg, tag=900):
    n: int
    px: int = 0


class Pong(Msg, tag=901):
    n: int
    ping_seq: int


class Note(Msg, tag=902):
    text: str


class Blob(Msg, tag=903):
    """Benchmark traffic: a send time (monotonic ns, same host) and padding to a chosen payload size."""
    t_ns: int
    data: bytes


# Every concrete message type, in tag order. Adding a type means adding it here too.
ALL_TYPES: tuple[type[Msg], ...] = (
    Clock, ClockSample, DayStart, SourceRights, TermStart,
    NewOrder, CancelRequest, ReplaceRequest, StatusRequest, MassCancelRequest, CancelOnDisconnect, DontKnowTrade, DeskCancel,
    DeskCancelAll, DeskPause,
    ExecReport,
    CancelReject,
    MassCancelReport,
    ChildNewRequest, ChildCancelRequest, ChildReplaceRequest, ChildOrder, ChildCancel, ChildReplace, ChildRefused, ParentUpdate,
    ChildStatusRequest, VenueOrderStatus,
    VenueAck, VenueFill, VenueReject, VenueCanceled, VenueReplaced, VenueCancelReject, VenueSession, VenueTradeCorrection, OmsAlert, AlgoPause, AlgoEnd, AlgoResume,
    FixSessionMark, FixReject,
    Security, Venue, VolumeCurve, RefTable, RefDataReady, Quote, Trade, SymbolStatus, MdSubscribe, RiskLimits, KillSwitch, EndOfDay,
    PositionUpdate, AccountPnl,
    Ping, Pong, Note, Blob)

TYPES_BY_TAG: dict[int, type[Msg]] = {cls.__struct_config__.tag: cls for cls in ALL_TYPES}
TYPES_BY_NAME: dict[str, type[Msg]] = {cls.__name__: cls for cls in ALL_TYPES}
assert len(TYPES_BY_TAG) == len(ALL_TYPES), "duplicate message tag"

TAG_OF_CLASS: dict[type, int] = {cls: tag for tag, cls in TYPES_BY_TAG.items()}

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Union[ALL_TYPES])  # type: ignore[valid-type]
_list_decoder = msgspec.msgpack.Decoder(list[Union[ALL_TYPES]])  # type: ignore[valid-type]
_raw_list_decoder = msgspec.msgpack.Decoder(list[msgspec.Raw])


def tag_of(msg: Msg) -> int:
    return msg.__struct_config__.tag


def encode(msg: Msg) -> bytes:
    return _encoder.encode(msg)


def decode(payload: bytes, tag: int | None = None) -> Msg:
    """Decode a payload. ``tag`` is the type recorded in the record header; it must match the payload's own tag.
    Every consumer decodes every record it looks at, so the checks run only when something does not match."""
    try:
        msg = _decoder.decode(payload)
    except msgspec.ValidationError as e:
        if tag is not None and tag not in TYPES_BY_TAG:
            raise UnknownMessageType(tag) from None
        raw = msgspec.msgpack.decode(payload)
        if isinstance(raw, list) and raw and isinstance(raw[0], int) and raw[0] not in TYPES_BY_TAG:
            raise UnknownMessageType(raw[0]) from None
        raise ValueError(f"payload does not match the schema: {e}") from None
    except msgspec.DecodeError as e:
        if tag is not None and tag not in TYPES_BY_TAG:
            raise UnknownMessageType(tag) from None
        raise ValueError(f"payload is not valid msgpack: {e}") from None
    if tag is not None and msg.__struct_config__.tag != tag:
        if tag not in TYPES_BY_TAG:
            raise UnknownMessageType(tag)
        raise ValueError(f"record header says type {tag} but payload is {type(msg).__name__} ({tag_of(msg)})")
    return msg


def _array_header(n: int) -> bytes:
    if n < 16:
        return bytes((0x90 | n,))
    if n < 65536:
        return b"\xdc" + n.to_bytes(2, "big")
    return b"\xdd" + n.to_bytes(4, "big")


def valid_batch(types: list[int], payloads: list[bytes]) -> bool:
    """True if every payload decodes and carries the tag its header says: one C call for the whole batch (the
    payloads side by side are a msgpack array). On False, ``decode`` each to find out which and why."""
    buf = _array_header(len(payloads)) + b"".join(payloads)
    try:
        # each element must span exactly its own payload, or two bad payloads could line up into good ones
        if list(map(len, _raw_list_decoder.decode(buf))) != list(map(len, payloads)):
            return False
        msgs = _list_decoder.decode(buf)
    except msgspec.DecodeError:
        return False
    tags = TAG_OF_CLASS
    return len(msgs) == len(types) and [tags[type(m)] for m in msgs] == types


def type_name(tag: int) -> str:
    cls = TYPES_BY_TAG.get(tag)
    return cls.__name__ if cls else f"?{tag}"


def is_price_field(name: str) -> bool:
    return name in ("px", "price") or name.endswith("_px")


def to_display(msg: Msg) -> dict:
    """A dict for people: type name plus fields, prices shown as decimal strings."""
    out: dict = {"type": type(msg).__name__}
    for f in msg.__struct_fields__:
        v = getattr(msg, f)
        if is_price_field(f) and isinstance(v, int):
            v = format_price(v)
        elif isinstance(v, Msg):
            v = to_display(v)
        out[f] = v
    return out


def format_price(v: int) -> str:
    """Integer price to a decimal string with at least two decimals: 1_500_000 -> '1.50'."""
    sign = "-" if v < 0 else ""
    whole, frac = divmod(abs(v), PRICE_SCALE)
    return f"{sign}{whole}.{f'{frac:06d}'.rstrip('0').ljust(2, '0')}"
