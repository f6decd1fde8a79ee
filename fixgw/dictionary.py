"""The FIX 4.2 and 4.4 data dictionaries, from the standard (``fixdict.json``, extracted by ``fixgw/dictgen.py`` from
the FIX specification's data), per-counterparty overrides on top, and validation of a framed message against them.

A ``Dictionary`` is one version plus a session's overrides; ``Validation`` holds the session's switches, named after
QuickFIX's session settings (the names FIX users know):

* ``validate_user_defined_fields`` (ValidateUserDefinedFields): tags 5000 and up must be in the dictionary;
* ``allow_unknown_msg_fields`` (AllowUnknownMsgFields): tags below 5000 that are not in the dictionary, or not in this
  message, are let through unchecked;
* ``validate_fields_out_of_order`` (ValidateFieldsOutOfOrder): header first, trailer last;
* ``validate_fields_have_values`` (ValidateFieldsHaveValues): an empty value is refused.

``validate`` returns ``(msgtype, Problem or None)``; a ``Problem`` names the session Reject (35=3) it deserves
(SessionRejectReason 373, RefTagID 371), per the FIX session test cases: a tag not in the specification → 0, a
required tag missing → 1, a tag not defined for this message type → 2, no value → 4, a value out of range → 5, a bad
format → 6, an invalid MsgType → 11, a tag twice → 13, out of order → 14, repeating group out of order → 15, a wrong
NumInGroup → 16.

Which messages an application supports is the application's business, not the session's: every message of the
standard passes the session layer, and a gateway answers the ones it does not handle with a BusinessMessageReject.

seqtrade's own client-side extensions (the order entry spec we give clients) are the override ``SEQTRADE_CLIENT``:
* FIX 4.2 also accepts TargetStrategy (847) and ParticipationRate (849), as defined in FIX 4.4;
* TargetStrategy 1 VWAP, 2 POV (FIX values), 1000 LIMIT and 1001 TWAP (FIX leaves 1000+ to bilateral agreement);
* 9001 AlgoEndTime (UTCTIMESTAMP): when the algo must be done (EffectiveTime 168 is when it may start);
* 5700 LocateBroker (STRING): who located the shares for a short sale;
* 9002 AlgoIntervalS, 9003 AlgoToleranceBp, 9004 MinParticipationBp, 9005 MaxParticipationBp (INT), see
  ``fixgw/mapping.py`` (``PARAM_TAGS``) and ``oms/params.py`` for their ranges.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass

FIX42, FIX44 = "FIX.4.2", "FIX.4.4"
USER_MIN = 5000   # the first user-defined tag number

# SessionRejectReason (373)
INVALID_TAG, REQUIRED_MISSING, NOT_FOR_MSGTYPE, UNDEFINED_TAG, NO_VALUE = 0, 1, 2, 3, 4
BAD_VALUE, BAD_FORMAT, COMPID_PROBLEM, SENDING_TIME, INVALID_MSGTYPE = 5, 6, 9, 10, 11
DUPLICATE_TAG, OUT_OF_ORDER, GROUP_ORDER, GROUP_COUNT = 13, 14, 15, 16
# BusinessRejectReason (380)
BIZ_UNSUPPORTED_MSGTYPE = 3

ADMIN = ("0", "1", "2", "3", "4", "5", "A")

_DATE = rb"\d{4}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])"
_TIME = rb"([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?"
_FORMATS = {
    "INT": re.compile(rb"-?\d+"),
    "DAYOFMONTH": re.compile(rb"([1-9]|[12]\d|3[01])"),
    "UTCTIMESTAMP": re.compile(_DATE + rb"-" + _TIME),
    "UTCTIMEONLY": re.compile(_TIME),
    "UTCDATEONLY": re.compile(_DATE), "UTCDATE": re.compile(_DATE), "LOCALMKTDATE": re.compile(_DATE),
    "MONTHYEAR": re.compile(rb"\d{4}(0[1-9]|1[0-2])(([0-2]\d|3[01])|w[1-5])?"),
    "BOOLEAN": re.compile(rb"[YN]"),
    "CHAR": re.compile(rb"[^\x01]", re.S),
}
for _t in ("SEQNUM", "LENGTH", "NUMINGROUP"):
    _FORMATS[_t] = re.compile(rb"\d+")
for _t in ("QTY", "PRICE", "FLOAT", "AMT", "PERCENTAGE", "PRICEOFFSET"):
    _FORMATS[_t] = re.compile(rb"-?(\d+(\.\d*)?|\.\d+)")


def ok_format(typ: str, v: bytes) -> bool:
    rx = _FORMATS.get(typ)
    return rx is None or rx.fullmatch(v) is not None


@dataclass(frozen=True)
class Problem:
    """What is wrong and how to answer it: a session Reject (``business`` False) or a BusinessMessageReject."""
    reason: int
    ref_tag: int
    text: str
    business: bool = False


@dataclass(frozen=True)
class Validation:
    validate_user_defined_fields: bool = True
    allow_unknown_msg_fields: bool = False
    validate_fields_out_of_order: bool = True
    validate_fields_have_values: bool = True


STRICT = Validation()
LENIENT = Validation(validate_user_defined_fields=False, allow_unknown_msg_fields=True)


class Group:
    """A repeating group: its count tag, its delimiter (first member), members in order, required members, and nested
    groups by their count tag."""
    __slots__ = ("count_tag", "delim", "members", "required", "groups")

    def __init__(self, count_tag: int, items: list):
        self.count_tag = count_tag
        self.delim = items[0][0]
        self.members = {it[0]: i for i, it in enumerate(items)}
        self.required = tuple(it[0] for it in items if it[1])
        self.groups = {it[0]: Group(it[0], it[2]) for it in items if len(it) > 2}


class MessageSpec:
    __slots__ = ("msgtype", "name", "admin", "fields", "required", "groups", "in_groups")

    def __init__(self, msgtype: str, name: str, cat: str, items: list):
        self.msgtype, self.name, self.admin = msgtype, name, cat == "admin"
        self.fields = {it[0] for it in items}
        self.required = tuple(it[0] for it in items if it[1])
        self.groups = {it[0]: Group(it[0], it[2]) for it in items if len(it) > 2}
        self.in_groups: set[int] = set()
        stack = list(self.groups.values())
        while stack:
            g = stack.pop()
            self.in_groups.update(g.members)
            stack += g.groups.values()


_DATA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixdict.json")
_STANDARD: dict | None = None


def standard() -> dict:
    """The extracted standard, per BeginString (loaded once)."""
    global _STANDARD
    if _STANDARD is None:
        with open(_DATA_FILE, encoding="utf-8") as f:
            _STANDARD = json.load(f)["versions"]
    return _STANDARD


# seqtrade's client order entry spec: see the module's docstring
_ALGO_TAGS = [[847, 0], [849, 0], [9001, 0], [9002, 0], [9003, 0], [9004, 0], [9005, 0], [5700, 0]]
SEQTRADE_CLIENT = {
    "fields": {"847": {"name": "TargetStrategy", "type": "INT", "values": ["1", "2", "1000", "1001"]},
               "849": {"name": "ParticipationRate", "type": "PERCENTAGE"},
               "5700": {"name": "LocateBroker", "type": "STRING"},
               "9001": {"name": "AlgoEndTime", "type": "UTCTIMESTAMP"},
               "9002": {"name": "AlgoIntervalS", "type": "INT"}, "9003": {"name": "AlgoToleranceBp", "type": "INT"},
               "9004": {"name": "MinParticipationBp", "type": "INT"},
               "9005": {"name": "MaxParticipationBp", "type": "INT"}},
    "messages": {"D": {"add": _ALGO_TAGS}, "G": {"add": _ALGO_TAGS}, "8": {"add": [[847, 0], [849, 0]]}},
}


class OverrideError(ValueError):
    pass


class Dictionary:
    """One FIX version's dictionary with a counterparty's overrides applied.

    ``override`` (from a session's settings, as TOML tables) may hold:
    ``fields = {"9100" = "STRING", "847" = {type = "INT", values = ["1", "2", "1000"]}}`` (new or changed fields) and
    ``messages = {"8" = {add = [9100], required = [60], optional = [38]}}`` (fields a message may carry, fields the
    counterparty makes required or optional). A new message type: ``messages = {"U1" = {name = "...", add = [...]}}``.
    """

    def __init__(self, begin: str, override: dict | None = None):
        std = standard().get(begin)
        if std is None:
            raise OverrideError(f"no FIX dictionary for {begin!r} (have {', '.join(standard())})")
        self.begin = begin
        self.fields: dict[int, tuple[str, str, frozenset | None]] = {}
        for tag, (name, typ, enum) in std["fields"].items():
            self.fields[int(tag)] = (name, typ, frozenset(enum) if enum else None)
        messages = {mt: [name, cat, list(items)] for mt, (name, cat, items) in std["messages"].items()}
        for o in ([override] if override else []):
            self._apply(o, messages)
        self.header = MessageSpec("header", "header", "admin", std["header"])
        self.trailer = MessageSpec("trailer", "trailer", "admin", std["trailer"])
        self.messages = {mt: MessageSpec(mt, name, cat, items) for mt, (name, cat, items) in messages.items()}
        self._fast: dict[tuple, tuple] = {}

    def _apply(self, o: dict, messages: dict) -> None:
        for key in o:
            if key not in ("fields", "messages"):
                raise OverrideError(f"dictionary override: unknown key {key!r} (fields, messages)")
        for tag, spec in o.get("fields", {}).items():
            if not str(tag).isdigit():
                raise OverrideError(f"dictionary override: field {tag!r} is not a tag number")
            old = self.fields.get(int(tag), (f"Tag{tag}", "STRING", None))
            if isinstance(spec, str):
                spec = {"type": spec}
            typ = spec.get("type", old[1])
            if typ not in _FORMATS and typ not in ("STRING", "DATA", "MULTIPLEVALUESTRING", "EXCHANGE", "CURRENCY",
                                                   "COUNTRY"):
                raise OverrideError(f"dictionary override: field {tag} has unknown type {typ!r}")
            values = spec.get("values")
            self.fields[int(tag)] = (spec.get("name", old[0]), typ,
                                     frozenset(str(v) for v in values) if values else
                                     (None if "type" in spec and typ != old[1] else old[2]))
        for mt, spec in o.get("messages", {}).items():
            if mt not in messages:
                messages[mt] = [spec.get("name", f"Message{mt}"), spec.get("category", "app"), []]
            items = messages[mt][2]
            present = {it[0] for it in items}
            for add in spec.get("add", []):
                tag, req = (add[0], add[1]) if isinstance(add, list) else (add, 0)
                if int(tag) not in self.fields:
                    raise OverrideError(f"dictionary override: message {mt} adds tag {tag}, which has no field "
                                        f"definition (add it under fields)")
                if int(tag) not in present:
                    items.append([int(tag), int(bool(req))])
                    present.add(int(tag))
            for key, flag in (("required", 1), ("optional", 0)):
                for tag in spec.get(key, []):
                    hit = [it for it in items if it[0] == int(tag)]
                    if not hit:
                        raise OverrideError(f"dictionary override: message {mt} has no tag {tag} to make {key}")
                    hit[0][1] = flag

    def has_value(self, tag: int, value: str) -> bool:
        """Whether this dictionary takes ``value`` for ``tag`` (for what we send: never send what the peer's
        dictionary refuses)."""
        spec = self.fields.get(tag)
        return spec is not None and (spec[2] is None or value in spec[2]) and ok_format(spec[1], value.encode())

    def carries(self, msgtype: str, tag: int) -> bool:
        m = self.messages.get(msgtype)
        return m is not None and tag in m.fields

    # -- validation -----------------------------------------------------------------------------------------------
    def _value_problem(self, tag: int, value: bytes) -> Problem | None:
        name, typ, enum = self.fields[tag]
        if not ok_format(typ, value):
            return Problem(BAD_FORMAT, tag, f"{name} ({tag}) value {value[:40]!r} is not a valid {typ}")
        if enum is not None:
            vals = value.decode(errors="replace").split(" ") if typ == "MULTIPLEVALUESTRING" else \
                [value.decode(errors="replace")]
            for v in vals:
                if v not in enum:
                    return Problem(BAD_VALUE, tag, f"{name} ({tag}) value {value[:40]!r} is not one of "
                                                   f"{', '.join(sorted(enum))}")
        return None

    def _fast_spec(self, msgtype: bytes):
        """(tag bytes -> value check or True, required tag bytes) for a message without groups or surprises."""
        spec = self.messages[msgtype.decode()]
        checks = {}
        for part in (self.header, spec, self.trailer):
            for tag in part.fields:
                if tag in part.groups or tag not in self.fields:
                    continue
                name, typ, enum = self.fields[tag]
                if enum is None and (typ not in _FORMATS):
                    checks[str(tag).encode()] = True
                elif enum is None:
                    checks[str(tag).encode()] = _FORMATS[typ].fullmatch
                elif typ == "MULTIPLEVALUESTRING":
                    continue   # the full check splits it
                else:
                    enum_b = frozenset(e.encode() for e in enum)
                    rx = _FORMATS.get(typ)
                    checks[str(tag).encode()] = (lambda x, e=enum_b, r=rx: x in e and (r is None or r.fullmatch(x)))
        required = tuple(str(t).encode() for t in self.header.required + spec.required + self.trailer.required)
        return checks, required, frozenset(str(t).encode() for t in self.header.fields)

    def _valid_fast(self, fields: list, v: Validation = STRICT) -> str | None:
        """The MsgType when a message is plainly valid (the common case, checked in one pass), else None: then the
        full check finds and names the problem (or, with lenient settings, lets it through). Plainly valid is valid
        under any settings, so ``v`` changes nothing here; it is taken for symmetry with ``validate``."""
        if len(fields) < 4 or fields[-1][0] != b"10":
            return None
        mt = fields[2][1]
        spec = self._fast.get(mt)
        if spec is None:
            if mt.decode(errors="replace") not in self.messages:
                return None
            spec = self._fast[mt] = self._fast_spec(mt)
        checks, required, header = spec
        seen = set()
        in_body = False
        for raw_tag, value in fields:
            check = checks.get(raw_tag)
            if check is None or not value or raw_tag in seen:
                return None
            seen.add(raw_tag)
            if raw_tag in header:
                if in_body:
                    return None
            else:
                in_body = True
            if check is not True and not check(value):
                return None
        for r in required:
            if r not in seen:
                return None
        return mt.decode()

    def validate(self, fields: list, v: Validation = STRICT) -> tuple[str | None, Problem | None]:
        """Check a framed message's fields (``framing.split_fields``). Returns ``(msgtype, problem or None)``."""
        fast = self._valid_fast(fields, v)
        if fast is not None:
            return fast, None
        return self._validate_full(fields, v)

    def _checked(self, tag: int, v: Validation) -> bool:
        """Whether a tag must be known (QuickFIX's shouldCheckTag)."""
        if tag < USER_MIN:
            return not v.allow_unknown_msg_fields
        return v.validate_user_defined_fields

    def _validate_full(self, fields: list, v: Validation = STRICT) -> tuple[str | None, Problem | None]:
        tags: list[int] = []
        for raw_tag, value in fields:
            if not raw_tag.isdigit() or raw_tag.startswith(b"0") or len(raw_tag) > 9:
                return None, Problem(INVALID_TAG, 0, f"invalid tag number {raw_tag[:20]!r}")
            tags.append(int(raw_tag))
        msgtype = fields[2][1].decode(errors="replace") if len(fields) > 2 and fields[2][1] else None
        if msgtype is None:
            return None, Problem(REQUIRED_MISSING, 35, "MsgType missing")
        spec = self.messages.get(msgtype)
        if spec is None:
            return msgtype, Problem(INVALID_MSGTYPE, 35, f"invalid MsgType {msgtype!r}")
        if v.validate_fields_have_values:
            for (raw_tag, value), tag in zip(fields, tags):
                if not value:
                    return msgtype, Problem(NO_VALUE, tag, f"tag {tag} has no value")
        header, trailer = self.header, self.trailer
        n = len(tags)
        section = 0            # 0 header, 1 body, 2 trailer
        seen: set[int] = set()
        i = 0
        while i < n:
            tag = tags[i]
            value = fields[i][1]
            if tag in header.fields:
                part, where = header, 0
            elif tag in trailer.fields:
                part, where = trailer, 2
            else:
                part, where = spec, 1
            if v.validate_fields_out_of_order:
                if where < section:
                    what = "header" if where == 0 else "body"
                    return msgtype, Problem(OUT_OF_ORDER, tag, f"{what} field {tag} after the "
                                                               f"{'body' if section == 1 else 'trailer'} started")
                if tag == 10 and i != n - 1:
                    return msgtype, Problem(OUT_OF_ORDER, tag, "CheckSum must be the last field")
            section = max(section, where)
            if tag in seen:
                return msgtype, Problem(DUPLICATE_TAG, tag, f"tag {tag} appears more than once")
            seen.add(tag)
            known = tag in self.fields
            if not known:
                if self._checked(tag, v):
                    return msgtype, Problem(INVALID_TAG, tag, f"tag {tag} is not defined in {self.begin}")
                i += 1
                continue
            if tag not in part.fields:
                if part is spec and tag in spec.in_groups:
                    return msgtype, Problem(GROUP_ORDER, tag, f"tag {tag} of a repeating group is outside its "
                                                              f"group")
                if self._checked(tag, v):
                    return msgtype, Problem(NOT_FOR_MSGTYPE, tag, f"tag {tag} ({self.fields[tag][0]}) is not "
                                                                  f"allowed in {spec.name}")
                i += 1
                continue
            if value:
                p = self._value_problem(tag, value)
                if p:
                    return msgtype, p
            group = part.groups.get(tag)
            i += 1
            if group is not None and value:
                i, p = self._group(group, int(value), tags, fields, i)
                if p:
                    return msgtype, p
        for part in (header, spec, trailer):
            for tag in part.required:
                if tag not in seen:
                    return msgtype, Problem(REQUIRED_MISSING, tag, f"required tag {tag} "
                                                                   f"({self.fields[tag][0]}) missing")
        return msgtype, None

    def _group(self, g: Group, count: int, tags: list, fields: list, i: int) -> tuple[int, Problem | None]:
        """Read the instances of group ``g`` starting at ``i``: each starts with the delimiter, members appear once per
        instance and in order, nested groups recurse; the number of instances must equal the count."""
        instances = 0
        n = len(tags)
        in_instance: set[int] = set()
        last_pos = -1
        while i < n and tags[i] in g.members:
            tag = tags[i]
            pos = g.members[tag]
            if tag == g.delim:
                if instances:
                    p = self._group_required(g, in_instance)
                    if p:
                        return i, p
                instances += 1
                in_instance = set()
                last_pos = -1
            elif instances == 0:
                return i, Problem(GROUP_ORDER, tag, f"group {g.count_tag} must start with tag {g.delim}")
            if tag in in_instance or pos < last_pos:
                return i, Problem(GROUP_ORDER, tag, f"tag {tag} out of order in group {g.count_tag}")
            in_instance.add(tag)
            last_pos = pos
            value = fields[i][1]
            if value:
                p = self._value_problem(tag, value)
                if p:
                    return i, p
            i += 1
            sub = g.groups.get(tag)
            if sub is not None and value:
                i, p = self._group(sub, int(value), tags, fields, i)
                if p:
                    return i, p
        if instances:
            p = self._group_required(g, in_instance)
            if p:
                return i, p
        if instances != count:
            return i, Problem(GROUP_COUNT, g.count_tag, f"NumInGroup {g.count_tag} says {count} but {instances} "
                                                         f"follow")
        return i, None

    def _group_required(self, g: Group, present: set) -> Problem | None:
        for t in g.required:
            if t not in present:
                return Problem(REQUIRED_MISSING, t, f"required tag {t} missing in group {g.count_tag}")
        return None


_CACHE: dict[tuple[str, str], Dictionary] = {}


def get(begin: str, override: dict | None = None) -> Dictionary:
    """The dictionary for a version and an override, shared by every session with the same pair."""
    key = (begin, json.dumps(override, sort_keys=True) if override else "")
    d = _CACHE.get(key)
    if d is None:
        d = _CACHE[key] = Dictionary(begin, override)
    return d


def merge(*overrides: dict | None) -> dict | None:
    """Overrides applied one after the other (ours, then a counterparty's), as one."""
    out: dict = {"fields": {}, "messages": {}}
    for o in overrides:
        if not o:
            continue
        out["fields"].update(o.get("fields", {}))
        for mt, spec in o.get("messages", {}).items():
            cur = out["messages"].setdefault(mt, {})
            for k, val in spec.items():
                cur[k] = cur.get(k, []) + list(val) if isinstance(val, list) else val
        for key in o:
            if key not in ("fields", "messages"):
                out[key] = o[key]
    return out if out["fields"] or out["messages"] or len(out) > 2 else None


def validate(fields: list, begin: str, v: Validation = STRICT) -> tuple[str | None, Problem | None]:
    """Validation against the plain standard of ``begin``."""
    return get(begin).validate(fields, v)
