"""Typed delimited files: the one reader behind every reference data table.

A table is a CSV file whose first non-comment line is the header. Known tables (see ``load.py``) have fixed column
types; any other file declares its own in the header as ``name:type`` (``region:str,borrow_rate_bp:int``), so a new
table needs no code. Types:

* ``str``  text as written (surrounding spaces stripped)
* ``int``  a whole number (``-5``, ``1200``)
* ``px``   a decimal price, stored as an integer in ``PRICE_SCALE`` units (``101.25`` -> 101_250_000); at most six
           decimals, so no value is ever rounded
* ``bool`` ``Y``/``N``, ``true``/``false``, ``1``/``0``
* ``time`` ``HH:MM`` or ``HH:MM:SS`` New York time of the trading day, stored as seconds after midnight

Every error names the file, line and column, so a user can go straight to the cell.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from sequencer.messages import PRICE_SCALE

TYPES = ("str", "int", "px", "bool", "time")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_INT = re.compile(r"^-?[0-9]+$")
_PX = re.compile(r"^(-?)([0-9]+)(?:\.([0-9]{1,6}))?$")
_TIME = re.compile(r"^([0-9]{1,2}):([0-5][0-9])(?::([0-5][0-9]))?$")
_BOOLS = {"y": True, "yes": True, "true": True, "1": True, "n": False, "no": False, "false": False, "0": False}


class RefDataError(ValueError):
    def __init__(self, path: str, line: int | None, column: str | None, msg: str):
        self.path, self.line, self.column = path, line, column
        where = path + (f":{line}" if line else "") + (f": column {column}" if column else "")
        super().__init__(f"{where}: {msg}")


@dataclass
class Table:
    name: str                    # the file name without .csv
    path: str
    columns: list[str]
    types: list[str]
    rows: list[list]             # typed values, in file order
    lines: list[int]             # the file line of each row, for errors found later (cross-table checks)

    def dicts(self):
        for row, line in zip(self.rows, self.lines):
            yield line, dict(zip(self.columns, row))


def parse_value(text: str, typ: str) -> object:
    """A cell's typed value; raises ValueError with a reason a person can act on."""
    if typ == "str":
        return text
    if typ == "int":
        if not _INT.match(text):
            raise ValueError(f"{text!r} is not a whole number")
        return int(text)
    if typ == "px":
        m = _PX.match(text)
        if not m:
            raise ValueError(f"{text!r} is not a decimal price with at most 6 decimals")
        sign, whole, frac = m.groups()
        v = int(whole) * PRICE_SCALE + int((frac or "").ljust(6, "0"))
        return -v if sign else v
    if typ == "bool":
        v = _BOOLS.get(text.lower())
        if v is None:
            raise ValueError(f"{text!r} is not Y/N, true/false or 1/0")
        return v
    if typ == "time":
        m = _TIME.match(text)
        if not m or int(m.group(1)) > 23:
            raise ValueError(f"{text!r} is not a time HH:MM[:SS]")
        return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3) or 0)
    raise ValueError(f"unknown column type {typ!r} (known: {', '.join(TYPES)})")


def read_table(path: str, name: str, data: bytes, spec: list[tuple[str, str]] | None) -> Table:
    """Parse one file. ``spec`` fixes the columns of a known table; ``None`` reads ``name:type`` from the header."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise RefDataError(path, None, None, f"not UTF-8 text (byte {e.start})") from None
    lines = [(n, ln) for n, ln in enumerate(text.splitlines(), 1) if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise RefDataError(path, None, None, "empty file: a header line is required")
    head_no, head = lines[0]
    header = [h.strip() for h in next(csv.reader([head]))]
    if spec is not None:
        want = [c for c, _ in spec]
        if header != want:
            raise RefDataError(path, head_no, None, f"header must be {','.join(want)}; found {','.join(header)}")
        columns, types = want, [t for _, t in spec]
    else:
        columns, types = [], []
        for i, h in enumerate(header, 1):
            col, _, typ = h.partition(":")
            col, typ = col.strip(), (typ.strip() or "str")
            if not _NAME.match(col):
                raise RefDataError(path, head_no, f"{i}", f"column name {col!r} must be lower_case letters, digits "
                                                          f"and _")
            if typ not in TYPES:
                raise RefDataError(path, head_no, f"{i} ({col})", f"unknown type {typ!r} (known: "
                                                                  f"{', '.join(TYPES)})")
            if col in columns:
                raise RefDataError(path, head_no, f"{i} ({col})", "duplicate column name")
            columns.append(col)
            types.append(typ)
    rows, row_lines = [], []
    for n, ln in lines[1:]:
        cells = next(csv.reader(io.StringIO(ln)))
        if len(cells) != len(columns):
            raise RefDataError(path, n, None, f"{len(cells)} fields; the header has {len(columns)}")
        row = []
        for i, (cell, col, typ) in enumerate(zip(cells, columns, types), 1):
            try:
                row.append(parse_value(cell.strip(), typ))
            except ValueError as e:
                raise RefDataError(path, n, f"{i} ({col})", str(e)) from None
        rows.append(row)
        row_lines.append(n)
    return Table(name, path, columns, types, rows, row_lines)
