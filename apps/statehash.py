"""A digest of a deterministic app's whole state, as exchange-core gives each stateful part a ``stateHash()``: equal
for two states that will behave the same (the live app and a replay to the same seq, a snapshot and what it was
restored into, a standby app and the primary's), different as soon as one field differs.

The walk is explicit and in a fixed order: an object is its class name and its attributes by name; a dict its items
in insertion order (the apps fill dicts in stream order, and that order is behaviour); a set sorted; a msgspec struct
its fields; a function or bound method its qualified name (never an address); an object met again on the way (a
strategy's context pointing back at its container) a back-reference by the order it was first met. Numbers and
strings by value. Nothing the walk reads depends on memory addresses, hash seeds or the clock.
"""
from __future__ import annotations

import enum
import hashlib
import random
import types
from collections import deque

import msgspec

from .statecodec import attribute_names

# what is not state: where outputs go (set by whoever runs the app), and the outputs of the record in hand
SKIP = frozenset({"_submit", "send", "_out"})
_ATOMS = (type(None), bool, int, float, str, bytes, enum.Enum)


def state_hash(obj) -> str:
    h = hashlib.sha256()
    _walk(obj, h.update, {})
    return h.hexdigest()


def _walk(o, put, seen: dict) -> None:
    if isinstance(o, _ATOMS):
        put(f"{type(o).__name__}:{o!r};".encode())
        return
    if isinstance(o, (types.FunctionType, types.BuiltinFunctionType, types.MethodType, type)):
        put(f"fn:{getattr(o, '__qualname__', type(o).__name__)};".encode())
        return
    ref = seen.get(id(o))
    if ref is not None:
        put(f"ref:{ref};".encode())
        return
    seen[id(o)] = len(seen)
    if isinstance(o, (list, tuple, deque)):
        put(f"{type(o).__name__}[{len(o)}".encode())
        for x in o:
            _walk(x, put, seen)
        put(b"]")
    elif isinstance(o, dict):
        put(f"{type(o).__name__}{{{len(o)}".encode())
        for k, v in o.items():
            _walk(k, put, seen)
            _walk(v, put, seen)
        put(b"}")
    elif isinstance(o, (set, frozenset)):
        put(f"set[{len(o)}".encode())
        for r in sorted(repr(x) for x in o):
            put(r.encode() + b",")
        put(b"]")
    elif isinstance(o, msgspec.Struct):
        put(f"{type(o).__name__}(".encode())
        for f in o.__struct_fields__:
            _walk(getattr(o, f), put, seen)
        put(b")")
    elif isinstance(o, random.Random):
        _walk(("Random", o.getstate()), put, seen)
    else:
        put(f"{type(o).__qualname__}<".encode())
        for name in attribute_names(o, SKIP):
            put(name.encode() + b"=")
            _walk(getattr(o, name), put, seen)
        put(b">")
