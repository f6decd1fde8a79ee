"""``seqtrade log dump`` and ``seqtrade log verify``: a person's view of a day's log."""
from __future__ import annotations

import datetime as dt
import json
import sys
from zoneinfo import ZoneInfo

from sequencer import messages
from sequencer.log import LogReader, verify, stderr_notice

NEW_YORK = ZoneInfo("America/New_York")


def format_ts(ts: int) -> str:
    """ns since the epoch as New York time with nanoseconds: 2026-11-21T09:30:00.000000123-05:00."""
    secs, ns = divmod(ts, 1_000_000_000)
    d = dt.datetime.fromtimestamp(secs, NEW_YORK)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + f".{ns:09d}" + d.strftime("%z")[:3] + ":" + d.strftime("%z")[3:]


def resolve_type(name: str) -> int:
    if name.isdigit():
        return int(name)
    cls = messages.TYPES_BY_NAME.get(name)
    if cls is None:
        raise ValueError(f"unknown message type {name!r}; known: {', '.join(sorted(messages.TYPES_BY_NAME))}")
    return cls.__struct_config__.tag


def dump(path: str, from_seq: int = 1, to_seq: int | None = None, type_name: str | None = None, out=sys.stdout):
    want = resolve_type(type_name) if type_name else None
    n = 0
    for rec in LogReader(path, notice=stderr_notice).records(from_seq, to_seq):
        if want is not None and rec.type != want:
            continue
        row = {"seq": rec.seq, "time": format_ts(rec.ts), "ts": rec.ts, "source": rec.source,
               "source_seq": rec.source_seq}
        try:
            row.update(messages.to_display(rec.msg))
        except ValueError as e:
            row.update({"type": messages.type_name(rec.type), "error": str(e)})
        out.write(json.dumps(row) + "\n")
        n += 1
    return n


def verify_cmd(path: str, out=sys.stdout) -> None:
    res = verify(path)
    sources = ", ".join(f"{s}={n}" for s, n in sorted(res.source_seqs.items()))
    out.write(f"{path}: OK: trading day {res.trading_day}, schema {res.schema_version}, {res.count} records, "
              f"seq 1..{res.last_seq} with no gap, time never decreasing; last source_seq by source: {sources}\n")
