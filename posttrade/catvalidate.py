"""Checks CAT order event records against the schema (``catschema``) before any file is written.

Per field: known to the event, present when required, the JSON type, the data type's limits (Text length and
printable ASCII, Price 10.8 digits, Real Quantity 12.6, Whole Quantity, Symbol, IMIDs, Exchange IDs, Timestamps with
at least millisecond precision), choice values, and name/value pairs (names and value types from the schema). Across
fields, the CAT error codes an agency algo's events can hit: price on limit orders (2067), session and an Exchange ID
on exchange routes (2093, 2019/2020), firmROEID's date (2032/2033), errorROEID only on repairs (2026), leavesQty not
above quantity (2040), the reporter IMID (2011) and the 4095-byte record limit (2132)."""
from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation

from .catschema import load

TS_STRING = re.compile(r"^(\d{8})[ T](\d{6})(\.\d{1,9})?$")
IM_ID = re.compile(r"^\d{1,8}:[A-Z0-9]{1,7}$")
JSON_TYPES = {"STRING": (str,), "NUMBER": (int, float), "BOOLEAN": (bool,), "OBJECT": (dict,), "ARRAY": (list,)}
MAX_RECORD = 4095


class CatInvalid(ValueError):
    """The first problem of an invalid record: which record, which field, what is wrong."""

    def __init__(self, index: int, rec: dict, field: str, text: str):
        self.index, self.field = index, field
        super().__init__(f"record {index} ({rec.get('type', '?')} firmROEID {rec.get('firmROEID', '?')}): "
                         f"{field}: {text}")


def _is(value, json_type) -> bool:
    types = json_type if isinstance(json_type, list) else [json_type]
    for t in types:
        if t == "NUMBER" and isinstance(value, bool):
            continue
        if isinstance(value, JSON_TYPES[t]):
            return True
    return False


def _digits(value, precision: int, scale: int) -> str | None:
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return "not a number"
    if d < 0:
        return "negative"
    sign, digits, exp = d.as_tuple()
    decimals = max(-exp, 0)
    whole = len(digits) - decimals if len(digits) > decimals else 0
    if decimals > scale or whole > precision:    # CAT's (precision, scale): integer digits, then decimals
        return f"more than {precision} integer digits or {scale} decimals"
    return None


class Validator:
    def __init__(self, imid: str = ""):
        s = load()
        self.imid = imid
        self.events = {e["eventName"]: e["fields"] for e in s["eventDefinitions"]}
        self.types = {t["dataType"]: t for t in s["dataTypes"]}
        self.choices = s["choices"]
        self.pairs = {n["nameValuePair"]: {f["name"]: f["JSONDataType"] for f in n["fields"]}
                      for n in s["nameValuePairDefinitions"]}
        self.exchanges = set(s["exchangeIDs"])

    def check(self, rec: dict, index: int) -> None:
        """Raises ``CatInvalid`` naming the record and field of the first problem."""
        def bad(field, text):
            raise CatInvalid(index, rec, field, text)
        event = rec.get("type")
        fields = self.events.get(event)
        if fields is None:
            bad("type", f"{event!r} is not an event this job reports ({', '.join(self.events)})")
        known = {f["name"]: f for f in fields}
        for name in rec:
            if name not in known:
                bad(name, f"not a field of {event}")
        for f in fields:
            name = f["name"]
            if name not in rec:
                if f["required"] == "Required":
                    bad(name, f"required in {event} and missing")
                continue
            self._field(rec[name], f, bad)
        self._cross(rec, bad)
        if len(json.dumps(rec, separators=(",", ":"))) > MAX_RECORD:
            bad("record", f"longer than {MAX_RECORD} bytes")

    def _field(self, v, f: dict, bad) -> None:
        name, dt = f["name"], f["dataType"]
        if not _is(v, f["JSONDataType"]):
            bad(name, f"{v!r} is not {f['JSONDataType']}")
        if isinstance(dt, list):          # destination: checked with destinationType below
            return
        m = re.fullmatch(r"(Text|Alphanumeric) \((\d+)\)", dt)
        if m:
            if len(v) > int(m.group(2)):
                bad(name, f"longer than {m.group(2)} characters")
            if not all(32 <= ord(c) < 127 for c in v) or (m.group(1) == "Alphanumeric" and not v.isalnum()):
                bad(name, f"{v!r} has characters a {dt} may not hold")
            return
        if dt == "Choice":
            allowed = self.choices.get(name)
            if allowed is not None and v not in allowed:
                bad(name, f"{v!r} is not one of {', '.join(allowed)}")
        elif dt == "Name/Value Pairs":
            spec = self.pairs.get(name, {})
            for k, x in v.items():
                if k not in spec:
                    bad(name, f"{k!r} is not a {name} name")
                if not _is(x, spec[k]):
                    bad(name, f"{k}={x!r} is not {spec[k]}")
        elif dt == "Timestamp":
            if isinstance(v, str):
                ts = TS_STRING.match(v)
                if not ts or len(v) > 25:
                    bad(name, f"{v!r} is not YYYYMMDD HHMMSS.CCC[NNNNNN]")
                if name == "eventTimestamp" and len(ts.group(3) or "") < 4:
                    bad(name, f"{v!r}: electronic events need at least milliseconds (2027)")
            elif v < 0:
                bad(name, "negative")
        elif dt in ("Price", "Real Quantity", "Whole Quantity"):
            t = self.types[dt]
            why = _digits(v, t["precision"], t["scale"])
            if why:
                bad(name, f"{v!r}: {why} for a {dt}")
        elif dt in ("Symbol", "CAT Reporter IMID"):
            if len(v) > self.types[dt]["maxLength"] or not v:
                bad(name, f"{v!r} is not a {dt} (at most {self.types[dt]['maxLength']} characters)")
        elif dt == "Industry Member ID":
            if not IM_ID.match(v):
                bad(name, f"{v!r} is not CRD:IMID")
        elif dt in ("Unsigned", "Integer"):
            if not isinstance(v, int) or (dt == "Unsigned" and v < 0):
                bad(name, f"{v!r} is not {dt}")

    def _cross(self, rec: dict, bad) -> None:
        if rec.get("orderType") == "LMT" and "price" not in rec:
            bad("price", "required for a limit order (2067)")
        dest_type = rec.get("destinationType")
        if dest_type == "E":
            if "session" not in rec:
                bad("session", "required for a route to an exchange (2093)")
            if rec.get("destination") not in self.exchanges:
                bad("destination", f"{rec.get('destination')!r} is not a CAT Exchange ID (2019)")
        elif dest_type == "F" and not IM_ID.match(str(rec.get("destination", ""))):
            bad("destination", "an Industry Member destination must be CRD:IMID (2020)")
        roe = rec.get("firmROEID", "")
        ts = rec.get("eventTimestamp")
        day = ts[:8] if isinstance(ts, str) else None
        if not re.fullmatch(r"\d{8}_.+", roe) or (day and roe[:8] != day):
            bad("firmROEID", f"{roe!r} must be <event date>_<id> with the eventTimestamp's date (2032/2033)")
        if rec.get("actionType") == "NEW" and "errorROEID" in rec:
            bad("errorROEID", "must be absent on a NEW record (2026)")
        if "leavesQty" in rec and "quantity" in rec and rec["leavesQty"] > rec["quantity"]:
            bad("leavesQty", "above quantity (2040)")
        if self.imid and rec.get("CATReporterIMID", self.imid) != self.imid:
            bad("CATReporterIMID", f"must be the file's IMID {self.imid} (2011)")
        tif = rec.get("timeInForce", {})
        if day and "DAY" in tif and str(tif["DAY"]) != day:
            bad("timeInForce", f"DAY={tif['DAY']} is not the event date {day}")
