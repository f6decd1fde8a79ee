"""The data dictionary of the FIX messages and fields seqtrade supports, FIX 4.2 and FIX 4.4, and validation
against it. Field numbers, types and enumerations follow the FIX specifications; the selection is ours.

Documented extensions (our counterparties' spec):
* FIX 4.2 also accepts TargetStrategy (847) and ParticipationRate (849), as defined in FIX 4.4;
* TargetStrategy 1 VWAP, 2 POV (FIX values), 1001 TWAP and 1000 LIMIT (FIX reserves 1000+ for bilateral values);
* 9001 AlgoEndTime (UTCTIMESTAMP): when the algo must be done (EffectiveTime 168 is when it may start);
* 5700 LocateBroker (STRING): who located the shares for a short sale;
* algo parameters beyond the FIX ones (INT): 9002 AlgoIntervalS (schedule re-check period, TWAP slice length, seconds),
  9003 AlgoToleranceBp (VWAP/TWAP behind/ahead tolerance), 9004 MinParticipationBp and 9005 MaxParticipationBp
  (the POV band); see ``fixgw/mapping.py`` (``PARAM_TAGS``) and ``oms/params.py`` for their ranges.

``validate`` returns the first problem as a ``Problem`` naming the session Reject (35=3) it deserves
(SessionRejectReason, RefTagID) or, for a message type we do not support, a BusinessMessageReject (35=j, reason 3).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

FIX42, FIX44 = "FIX.4.2", "FIX.4.4"

# SessionRejectReason (373)
INVALID_TAG, REQUIRED_MISSING, NOT_FOR_MSGTYPE, UNDEFINED_TAG, NO_VALUE = 0, 1, 2, 3, 4
BAD_VALUE, BAD_FORMAT, COMPID_PROBLEM, SENDING_TIME, INVALID_MSGTYPE = 5, 6, 9, 10, 11
DUPLICATE_TAG, OUT_OF_ORDER, GROUP_ORDER, GROUP_COUNT = 13, 14, 15, 16
# BusinessRejectReason (380)
BIZ_UNSUPPORTED_MSGTYPE = 3

_UTC_TS = re.compile(rb"\d{8}-\d{2}:\d{2}:\d{2}(\.\d{3}(\d{3})?)?")
_INT = re.compile(rb"-?\d+")
_UINT = re.compile(rb"\d+")
_DEC = re.compile(rb"-?\d+(\.\d*)?|-?\.\d+")


def _ok_format(typ: str, v: bytes) -> bool:
    if typ in ("INT",):
        return bool(_INT.fullmatch(v))
    if typ in ("SEQNUM", "LENGTH", "NUMINGROUP"):
        return bool(_UINT.fullmatch(v))
    if typ in ("QTY", "PRICE", "FLOAT", "AMT", "PERCENTAGE", "PRICEOFFSET"):
        return bool(_DEC.fullmatch(v))
    if typ == "BOOLEAN":
        return v in (b"Y", b"N")
    if typ == "CHAR":
        return len(v) == 1
    if typ == "UTCTIMESTAMP":
        return bool(_UTC_TS.fullmatch(v))
    return True  # STRING, EXCHANGE, ...


# tag -> (name, type, enum values or None). One table; version differences are in VERSION_ONLY below.
FIELDS: dict[int, tuple[str, str, tuple | None]] = {
    1: ("Account", "STRING", None), 6: ("AvgPx", "PRICE", None), 7: ("BeginSeqNo", "SEQNUM", None),
    8: ("BeginString", "STRING", None), 9: ("BodyLength", "LENGTH", None), 10: ("CheckSum", "STRING", None),
    11: ("ClOrdID", "STRING", None), 14: ("CumQty", "QTY", None), 16: ("EndSeqNo", "SEQNUM", None),
    17: ("ExecID", "STRING", None), 20: ("ExecTransType", "CHAR", ("0", "1", "2", "3")),
    21: ("HandlInst", "CHAR", ("1", "2", "3")), 30: ("LastMkt", "EXCHANGE", None),
    31: ("LastPx", "PRICE", None), 32: ("LastQty", "QTY", None), 34: ("MsgSeqNum", "SEQNUM", None),
    35: ("MsgType", "STRING", None), 36: ("NewSeqNo", "SEQNUM", None), 37: ("OrderID", "STRING", None),
    38: ("OrderQty", "QTY", None), 39: ("OrdStatus", "CHAR", tuple("0123456789ABCDE")),
    40: ("OrdType", "CHAR", ("1", "2")), 41: ("OrigClOrdID", "STRING", None),
    43: ("PossDupFlag", "BOOLEAN", None), 44: ("Price", "PRICE", None), 45: ("RefSeqNum", "SEQNUM", None),
    49: ("SenderCompID", "STRING", None), 50: ("SenderSubID", "STRING", None),
    52: ("SendingTime", "UTCTIMESTAMP", None), 54: ("Side", "CHAR", ("1", "2", "5", "6")),
    55: ("Symbol", "STRING", None), 56: ("TargetCompID", "STRING", None), 57: ("TargetSubID", "STRING", None),
    58: ("Text", "STRING", None), 59: ("TimeInForce", "CHAR", ("0", "1", "2", "3", "4", "5", "6", "7")),
    60: ("TransactTime", "UTCTIMESTAMP", None), 97: ("PossResend", "BOOLEAN", None),
    98: ("EncryptMethod", "INT", ("0",)), 100: ("ExDestination", "EXCHANGE", None),
    102: ("CxlRejReason", "INT", None), 103: ("OrdRejReason", "INT", None), 108: ("HeartBtInt", "INT", None),
    112: ("TestReqID", "STRING", None), 114: ("LocateReqd", "BOOLEAN", None),
    115: ("OnBehalfOfCompID", "STRING", None), 122: ("OrigSendingTime", "UTCTIMESTAMP", None),
    123: ("GapFillFlag", "BOOLEAN", None), 126: ("ExpireTime", "UTCTIMESTAMP", None),
    128: ("DeliverToCompID", "STRING", None), 141: ("ResetSeqNumFlag", "BOOLEAN", None),
    150: ("ExecType", "CHAR", tuple("0123456789ABCDEFGHI")), 151: ("LeavesQty", "QTY", None),
    168: ("EffectiveTime", "UTCTIMESTAMP", None), 371: ("RefTagID", "INT", None),
    372: ("RefMsgType", "STRING", None), 373: ("SessionRejectReason", "INT", None),
    379: ("BusinessRejectRefID", "STRING", None), 380: ("BusinessRejectReason", "INT", None),
    434: ("CxlRejResponseTo", "CHAR", ("1", "2")), 447: ("PartyIDSource", "CHAR", None),
    448: ("PartyID", "STRING", None), 452: ("PartyRole", "INT", None), 453: ("NoPartyIDs", "NUMINGROUP", None),
    320: ("SecurityReqID", "STRING", None), 322: ("SecurityResponseID", "STRING", None),
    323: ("SecurityResponseType", "INT", None), 393: ("TotalNumSecurities", "INT", None),
    553: ("Username", "STRING", None), 554: ("Password", "STRING", None),
    847: ("TargetStrategy", "INT", ("1", "2", "1000", "1001")), 849: ("ParticipationRate", "PERCENTAGE", None),
    851: ("LastLiquidityInd", "INT", ("1", "2", "3")),
    5700: ("LocateBroker", "STRING", None), 9001: ("AlgoEndTime", "UTCTIMESTAMP", None),
    9002: ("AlgoIntervalS", "INT", None), 9003: ("AlgoToleranceBp", "INT", None),
    9004: ("MinParticipationBp", "INT", None), 9005: ("MaxParticipationBp", "INT", None),
}
# fields that exist only in one version
VERSION_ONLY = {20: FIX42, 393: FIX42, 851: FIX44, 453: FIX44, 447: FIX44, 448: FIX44, 452: FIX44, 553: FIX44, 554: FIX44}

HEADER = (8, 9, 35, 49, 56, 34, 52, 43, 97, 122, 115, 128, 50, 57)
HEADER_REQUIRED = (8, 9, 35, 49, 56, 34, 52)
TRAILER = (10,)

# repeating groups: count tag -> (delimiter tag, member tags)
GROUPS = {453: (448, (448, 447, 452))}

_ORDER = (1, 11, 38, 40, 44, 54, 55, 59, 60, 100, 114, 126, 168, 847, 849, 5700, 9001, 9002, 9003, 9004, 9005, 453, 58,
          21)

# msgtype -> (name, required body tags, allowed body tags); "42"/"44" suffix lists are per-version extras
MESSAGES: dict[str, tuple[str, tuple, tuple]] = {
    "0": ("Heartbeat", (), (112,)),
    "1": ("TestRequest", (112,), (112,)),
    "2": ("ResendRequest", (7, 16), (7, 16)),
    "3": ("Reject", (45,), (45, 371, 372, 373, 58)),
    "4": ("SequenceReset", (36,), (36, 123)),
    "5": ("Logout", (), (58,)),
    "A": ("Logon", (98, 108), (98, 108, 141, 553, 554)),
    "D": ("NewOrderSingle", (11, 21, 55, 54, 60, 40, 38), _ORDER),
    "F": ("OrderCancelRequest", (41, 11, 55, 54, 60), (41, 11, 37, 55, 54, 60, 38, 1, 58)),
    "G": ("OrderCancelReplaceRequest", (41, 11, 21, 55, 54, 60, 40, 38), _ORDER + (41, 37)),
    "H": ("OrderStatusRequest", (11, 55, 54), (11, 37, 55, 54)),
    "8": ("ExecutionReport", (37, 17, 150, 39, 55, 54, 151, 14, 6),
          (37, 17, 20, 150, 39, 55, 54, 151, 14, 6, 11, 41, 38, 40, 44, 59, 31, 32, 30, 103, 58, 60, 1, 847, 849,
           851)),
    "9": ("OrderCancelReject", (37, 11, 41, 39, 434), (37, 11, 41, 39, 434, 102, 58)),
    "j": ("BusinessMessageReject", (372, 380), (45, 372, 379, 380, 58)),
    "d": ("SecurityDefinition", (320, 322), (320, 322, 323, 393, 55, 58)),
}
# valid FIX message types that we do not support: BusinessMessageReject 380=3, not a session reject
KNOWN_UNSUPPORTED = set("6 7 B C E J K L M N P Q R S T U V W X Y Z a b c e f g h i k l m n o p q r s t u v w x y z"
                        .split()) | {"AA", "AB", "AC", "AD", "AE", "AF", "AG", "AH", "AI", "AJ", "AK", "AL", "AM",
                                     "AN", "AO", "AP", "AQ", "AR", "AS", "AT", "AU", "AV", "AW", "AX", "AY", "AZ",
                                     "BA", "BB", "BC", "BD", "BE", "BF", "BG", "BH"}
ADMIN = ("0", "1", "2", "3", "4", "5", "A")


@dataclass(frozen=True)
class Problem:
    """What is wrong and how to answer it: a session Reject (``business`` False) or a BusinessMessageReject."""
    reason: int
    ref_tag: int
    text: str
    business: bool = False


def required_for(msgtype: str, begin: str) -> tuple:
    name, req, _ = MESSAGES[msgtype]
    if begin == FIX42 and msgtype == "8":
        req = req + (20,)
    if begin == FIX44 and msgtype in ("D", "G"):
        req = tuple(t for t in req if t != 21)  # HandlInst is optional in 4.4
    if msgtype == "d":
        req = req + ((393,) if begin == FIX42 else (323,))
    return req


def _predicate(tag: int):
    """One check of a field's value (format and enumeration), for the fast path."""
    name, typ, enum = FIELDS[tag]
    enum_b = frozenset(e.encode() for e in enum) if enum is not None else None
    if typ in ("STRING", "EXCHANGE", "LENGTH") and enum_b is None:
        return True
    if enum_b is not None:
        return lambda v: v in enum_b and _ok_format(typ, v)
    return lambda v: _ok_format(typ, v)


def _fast_spec(msgtype: str, begin: str):
    _, _, allowed = MESSAGES[msgtype]
    # a message with a repeating group gets the full check: its count and member tags are left out here
    tags = [t for t in HEADER + tuple(allowed) + TRAILER if VERSION_ONLY.get(t, begin) == begin and t not in GROUPS]
    checks = {str(t).encode(): _predicate(t) for t in tags}
    required = tuple(str(t).encode() for t in HEADER_REQUIRED + required_for(msgtype, begin))
    return checks, required


_FAST = {(begin, mt.encode()): _fast_spec(mt, begin) for begin in (FIX42, FIX44) for mt in MESSAGES}
_HEADER_B = frozenset(str(t).encode() for t in HEADER)


def _valid_fast(fields: list, begin: str) -> str | None:
    """The MsgType when a message is plainly valid (the common case, checked in one pass), else None: then the full
    check finds and names the problem."""
    if len(fields) < 4 or fields[-1][0] != b"10":
        return None
    spec = _FAST.get((begin, fields[2][1]))
    if spec is None:
        return None
    checks, required = spec
    seen = set()
    in_body = False
    for raw_tag, value in fields:
        check = checks.get(raw_tag)
        if check is None or not value or raw_tag in seen:
            return None
        seen.add(raw_tag)
        if raw_tag in _HEADER_B:
            if in_body:
                return None
        else:
            in_body = True
        if check is not True and not check(value):
            return None
    for r in required:
        if r not in seen:
            return None
    return fields[2][1].decode()


def validate(fields: list, begin: str) -> tuple[str | None, Problem | None]:
    """Check a framed message's fields (``framing.split_fields``). Returns ``(msgtype, problem or None)``."""
    fast = _valid_fast(fields, begin)
    if fast is not None:
        return fast, None
    return _validate_full(fields, begin)


def _validate_full(fields: list, begin: str) -> tuple[str | None, Problem | None]:
    tags: list[int] = []
    for raw_tag, value in fields:
        if not raw_tag.isdigit() or raw_tag.startswith(b"0") or len(raw_tag) > 9:
            return None, Problem(INVALID_TAG, 0, f"invalid tag number {raw_tag[:20]!r}")
        tags.append(int(raw_tag))
    msgtype = fields[2][1].decode(errors="replace") if len(fields) > 2 and fields[2][1] else None
    for (raw_tag, value), tag in zip(fields, tags):
        if value is None or value == b"":
            return msgtype, Problem(NO_VALUE, tag, f"tag {tag} has no value")
    if msgtype is None:
        return None, Problem(REQUIRED_MISSING, 35, "MsgType missing")
    if msgtype not in MESSAGES:
        if msgtype in KNOWN_UNSUPPORTED:
            return msgtype, Problem(BIZ_UNSUPPORTED_MSGTYPE, 35, f"unsupported message type {msgtype}", True)
        return msgtype, Problem(INVALID_MSGTYPE, 35, f"invalid MsgType {msgtype!r}")
    _, _, allowed = MESSAGES[msgtype]
    allowed_set = set(allowed)
    group_members = {m for c in allowed if c in GROUPS for m in GROUPS[c][1]}
    # header first, trailer last, no tag twice (outside repeating groups)
    in_body = False
    seen: dict[int, bool] = {}
    n = len(tags)
    for i, tag in enumerate(tags):
        if tag in TRAILER and i != n - 1:
            return msgtype, Problem(OUT_OF_ORDER, tag, "CheckSum must be the last field")
        if tag in HEADER:
            if in_body:
                return msgtype, Problem(OUT_OF_ORDER, tag, f"header field {tag} after the body started")
        elif tag not in TRAILER:
            in_body = True
        if tag in seen and tag not in group_members:
            return msgtype, Problem(DUPLICATE_TAG, tag, f"tag {tag} appears more than once")
        seen[tag] = True
    values = {}
    for (raw_tag, value), tag in zip(fields, tags):
        spec = FIELDS.get(tag)
        if spec is None or VERSION_ONLY.get(tag, begin) != begin:
            return msgtype, Problem(UNDEFINED_TAG, tag, f"tag {tag} is not defined in {begin}")
        if tag not in HEADER and tag not in TRAILER and tag not in allowed_set and tag not in group_members:
            return msgtype, Problem(NOT_FOR_MSGTYPE, tag, f"tag {tag} ({spec[0]}) is not allowed in "
                                                          f"{MESSAGES[msgtype][0]}")
        name, typ, enum = spec
        if not _ok_format(typ, value):
            return msgtype, Problem(BAD_FORMAT, tag, f"{name} ({tag}) value {value[:40]!r} is not a valid {typ}")
        if enum is not None and value.decode(errors="replace") not in enum:
            return msgtype, Problem(BAD_VALUE, tag, f"{name} ({tag}) value {value[:40]!r} is not one of "
                                                    f"{', '.join(enum)}")
        values.setdefault(tag, value)
    for tag in HEADER_REQUIRED + required_for(msgtype, begin):
        if tag not in values:
            return msgtype, Problem(REQUIRED_MISSING, tag, f"required tag {tag} ({FIELDS[tag][0]}) missing")
    for count_tag, (delim, members) in GROUPS.items():
        if count_tag in values:
            p = _check_group(tags, count_tag, int(values[count_tag]), delim, members)
            if p:
                return msgtype, p
    return msgtype, None


def _check_group(tags: list[int], count_tag: int, count: int, delim: int, members: tuple) -> Problem | None:
    """The instances follow the count field; each starts with the delimiter; their number matches the count."""
    i = tags.index(count_tag) + 1
    instances = 0
    while i < len(tags) and tags[i] in members:
        if tags[i] == delim:
            instances += 1
        elif instances == 0:
            return Problem(GROUP_ORDER, tags[i], f"group {count_tag} must start with tag {delim}")
        i += 1
    stray = [t for t in tags[i:] if t in members]
    if stray:
        return Problem(GROUP_ORDER, stray[0], f"tag {stray[0]} of group {count_tag} outside the group")
    if instances != count:
        return Problem(GROUP_COUNT, count_tag, f"NumInGroup {count_tag} says {count} but {instances} follow")
    return None
