"""Loading a reference data directory: the known tables, any extra typed tables, cross-table checks, content hash.

A directory holds ``securities.csv``, ``venues.csv``, ``symbol_stats.csv`` and ``volume_curves.csv`` (required), plus
any other ``*.csv`` table with a typed header (see ``tables.py``). ``load_dir`` either returns a whole, consistent
``RefData`` or raises ``RefDataError`` naming the file, line and column of the first problem.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

from .tables import RefDataError, Table, parse_value, read_table

SECURITIES = [("symbol", "str"), ("name", "str"), ("listing", "str"), ("lot_size", "int"), ("tick", "px"),
              ("prev_close", "px"), ("adv", "int"), ("volatility_bp", "int"), ("restricted", "bool"),
              ("halted", "bool")]
VENUES = [("venue", "str"), ("cat_id", "str"), ("mic", "str"), ("fix_host", "str"), ("fix_port", "int"),
          ("md_port", "int"), ("sessions", "str"), ("make_fee", "px"), ("take_fee", "px")]
SYMBOL_STATS = [("symbol", "str"), ("avg_spread_bp", "int"), ("avg_trade_size", "int"), ("avg_depth", "int")]
VOLUME_CURVES = [("curve", "str"), ("bin_start", "str"), ("weight_bp", "int")]
KNOWN = {"securities": SECURITIES, "venues": VENUES, "symbol_stats": SYMBOL_STATS, "volume_curves": VOLUME_CURVES}
CLOSE_BIN = "CLOSE"            # the closing auction's row in volume_curves.csv


@dataclass
class Curve:
    curve: str
    open_s: int
    bin_s: int
    weights_bp: list[int]
    close_auction_bp: int


@dataclass
class RefData:
    directory: str
    tables: dict[str, Table]                      # every table by name, in file-name order
    securities: dict[str, dict] = field(default_factory=dict)
    venues: dict[str, dict] = field(default_factory=dict)
    stats: dict[str, dict] = field(default_factory=dict)
    curves: dict[str, Curve] = field(default_factory=dict)   # "*" is the default
    content_hash: str = ""
    files: list[str] = field(default_factory=list)

    @property
    def extra(self) -> list[Table]:
        return [t for n, t in self.tables.items() if n not in KNOWN]


def load_dir(directory: str) -> RefData:
    if not os.path.isdir(directory):
        raise RefDataError(directory, None, None, "reference data directory not found")
    names = sorted(f for f in os.listdir(directory) if f.endswith(".csv"))
    for need in KNOWN:
        if f"{need}.csv" not in names:
            raise RefDataError(os.path.join(directory, f"{need}.csv"), None, None, "required file is missing")
    digest = hashlib.sha256()
    tables: dict[str, Table] = {}
    for fname in names:
        path = os.path.join(directory, fname)
        with open(path, "rb") as f:
            data = f.read()
        digest.update(fname.encode() + b"\0" + len(data).to_bytes(8, "big") + data)
        name = fname[:-4]
        tables[name] = read_table(path, name, data, KNOWN.get(name))
    rd = RefData(directory, tables, content_hash=digest.hexdigest(), files=names)
    _securities(rd, tables["securities"])
    _venues(rd, tables["venues"])
    _stats(rd, tables["symbol_stats"])
    _curves(rd, tables["volume_curves"])
    return rd


def _col(t: Table, name: str) -> str:
    return f"{t.columns.index(name) + 1} ({name})"


def _unique(t: Table, key: str, seen: dict, line: int, value: str):
    if not value:
        raise RefDataError(t.path, line, _col(t, key), "must not be empty")
    if value in seen:
        raise RefDataError(t.path, line, _col(t, key), f"{value!r} is already defined")


def _securities(rd: RefData, t: Table):
    for line, r in t.dicts():
        _unique(t, "symbol", rd.securities, line, r["symbol"])
        for col in ("lot_size", "tick", "prev_close"):
            if r[col] <= 0:
                raise RefDataError(t.path, line, _col(t, col), "must be positive")
        if r["prev_close"] % r["tick"]:
            raise RefDataError(t.path, line, _col(t, "prev_close"), "is not a multiple of the tick size")
        for col in ("adv", "volatility_bp"):
            if r[col] < 0:
                raise RefDataError(t.path, line, _col(t, col), "must not be negative")
        rd.securities[r["symbol"]] = r


def _venues(rd: RefData, t: Table):
    for line, r in t.dicts():
        _unique(t, "venue", rd.venues, line, r["venue"])
        sessions = [s.strip() for s in r["sessions"].split(";") if s.strip()]
        if not sessions:
            raise RefDataError(t.path, line, _col(t, "sessions"), "list at least one session (separated by ;)")
        for col in ("fix_port", "md_port"):
            if not 0 <= r[col] <= 65535:
                raise RefDataError(t.path, line, _col(t, col), "is not a port number")
        rd.venues[r["venue"]] = {**r, "sessions": sessions}
    if not rd.venues:
        raise RefDataError(t.path, None, None, "no venues")


def _stats(rd: RefData, t: Table):
    for line, r in t.dicts():
        _unique(t, "symbol", rd.stats, line, r["symbol"])
        if r["symbol"] not in rd.securities:
            raise RefDataError(t.path, line, _col(t, "symbol"), f"{r['symbol']!r} is not in securities.csv")
        rd.stats[r["symbol"]] = r


def _curves(rd: RefData, t: Table):
    rows: dict[str, list] = {}
    for line, r in t.dicts():
        name = r["curve"]
        if name != "*" and name not in rd.securities:
            raise RefDataError(t.path, line, _col(t, "curve"), f"{name!r} is neither * nor a symbol in "
                                                               f"securities.csv")
        if r["weight_bp"] < 0:
            raise RefDataError(t.path, line, _col(t, "weight_bp"), "must not be negative")
        if r["bin_start"] == CLOSE_BIN:
            start = None
        else:
            try:
                start = parse_value(r["bin_start"], "time")
            except ValueError as e:
                raise RefDataError(t.path, line, _col(t, "bin_start"), f"{e}, nor {CLOSE_BIN}") from None
        rows.setdefault(name, []).append((line, start, r["weight_bp"]))
    if "*" not in rows:
        raise RefDataError(t.path, None, None, "no default curve (curve *)")
    for name, rs in rows.items():
        bins = [(ln, s, w) for ln, s, w in rs if s is not None]
        close = [(ln, w) for ln, s, w in rs if s is None]
        if len(bins) < 2:
            raise RefDataError(t.path, rs[0][0], None, f"curve {name} needs at least two bins")
        if len(close) > 1:
            raise RefDataError(t.path, close[1][0], _col(t, "bin_start"), f"curve {name} has a second {CLOSE_BIN}")
        width = bins[1][1] - bins[0][1]
        if width not in (300, 1800):
            raise RefDataError(t.path, bins[1][0], _col(t, "bin_start"), f"curve {name}: bins must be 5 or 30 "
                                                                         f"minutes wide, not {width // 60}")
        for (_, a, _), (ln, b, _) in zip(bins, bins[1:]):
            if b - a != width:
                raise RefDataError(t.path, ln, _col(t, "bin_start"), f"curve {name}: bin does not follow the "
                                                                     f"previous one by {width // 60} minutes")
        total = sum(w for _, _, w in rs)
        if total != 10_000:
            raise RefDataError(t.path, rs[0][0], _col(t, "weight_bp"), f"curve {name}: weights sum to {total} bp, "
                                                                       f"not 10000")
        rd.curves[name] = Curve(name, bins[0][1], width, [w for _, _, w in bins], close[0][1] if close else 0)
