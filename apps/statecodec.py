"""An app's state written out explicitly, and read back without running code: the snapshot format.

The state is ``[shapes, tree]`` in msgpack, the tree made of tagged nodes: atoms (None, bool, int, float, str, bytes) as themselves, and

    ["t", [...]] tuple   ["l", [...]] list   ["q", [...], maxlen] deque   ["d", [[k, v], ...]] dict (in its order)
    ["s", [...]] set     ["f", [...]] frozenset   ["I", "digits"] an int beyond 64 bits
    ["o", n, [value, ...]] an object: the n-th entry of the state's table of shapes, ["module:Class", [name, ...]],
                           gives its class and its attributes' names, the values follow in that order
    ["S", "module:Class", [...]] a msgspec struct, its fields in order   ["e", "module:Class", value] an enum member
    ["c", "module:Class"] a class (a strategy registry holds classes)   ["R", state] a random.Random's state
    ["r", n] the n-th object or container met before (shared references and cycles come back shared)

Reading it back imports nothing a snapshot names outside the deterministic packages (``ALLOWED``), calls no
``__init__``, ``__setstate__`` or ``__reduce__``: an object is made with ``object.__new__`` and its attributes set one by
one, a struct from its field values. A forged file can at worst describe a state, never run code; the snapshot's
signature and its ``state_hash()`` check (``apps/snapshot.py``) refuse one that is not what its app wrote.

Because attributes go by name, a snapshot survives code changes that leave the state's shape alone. A change of shape
is refused, naming the class: a dataclass whose fields are not the ones written, a struct or a slotted class whose
fields differ (the code that reads must be able to hold what was written, no more and no less).
"""
from __future__ import annotations

import dataclasses
import enum
import importlib
import random
import types
from collections import deque

import msgspec

# the packages whose classes a snapshot may name: the deterministic apps and the schema they keep
ALLOWED = ("apps.", "oms.", "algo.", "positions.", "sequencer.messages", "sequencer.fixvalues", "sequencer.rights")
SKIP = frozenset({"_submit", "send"})       # not state: where outputs go, set again by whoever loads it
_I64 = 1 << 63


class StateFormatError(ValueError):
    pass


def _path(cls) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


class _Out:
    def __init__(self):
        self.memo: dict[int, int] = {}
        self.keep: list = []           # alive until the encoding ends, so no id is reused by a temporary
        self.shapes: dict[tuple, int] = {}
        self.names: dict[type, tuple] = {}


def encode(obj) -> bytes:
    out = _Out()
    tree = _enc(obj, out)
    table = [[p, list(n)] for (p, n), _ in sorted(out.shapes.items(), key=lambda kv: kv[1])]
    return msgspec.msgpack.encode([table, tree])


_NAMES: dict[tuple, tuple] = {}


def attribute_names(o, skip: frozenset = SKIP) -> tuple:
    """An object's state attributes (instance and slots), sorted by name, without ``skip``: what the snapshot
    writes and what ``statehash`` walks (cached per class, set of instance attributes and ``skip``)."""
    cls, d = type(o), getattr(o, "__dict__", None)
    key = (cls, tuple(d) if d is not None else None, skip)
    names = _NAMES.get(key)
    if names is None or any(not hasattr(o, n) for n in names):
        every = sorted(set(d or ()) | {s for c in cls.__mro__ for s in getattr(c, "__slots__", ())})
        names = tuple(n for n in every if n not in skip and not n.startswith("__") and hasattr(o, n))
        _NAMES[key] = names
    return names


def _enc(o, out: _Out):
    memo, keep = out.memo, out.keep
    if isinstance(o, enum.Enum):                  # before str and int: a StrEnum is a str, and must come back one
        return ["e", _path(type(o)), o.value]
    if o is None or isinstance(o, (bool, float, str, bytes)):
        return o
    if isinstance(o, int):
        return o if -_I64 <= o < _I64 else ["I", str(o)]
    if isinstance(o, type):
        return ["c", _path(o)]
    if isinstance(o, (types.FunctionType, types.MethodType, types.BuiltinFunctionType)):
        raise StateFormatError(f"a function in the state ({getattr(o, '__qualname__', o)!r}): state must be data")
    ref = memo.get(id(o))
    if ref is not None:
        return ["r", ref]
    memo[id(o)] = len(memo)
    keep.append(o)          # alive until the encoding ends, so no id is reused by a temporary
    if isinstance(o, tuple):
        if hasattr(o, "_fields"):
            raise StateFormatError(f"a named tuple in the state ({type(o).__qualname__}): use a dataclass")
        return ["t", [_enc(x, out) for x in o]]
    if isinstance(o, list):
        return ["l", [_enc(x, out) for x in o]]
    if isinstance(o, deque):
        return ["q", [_enc(x, out) for x in o], o.maxlen]
    if isinstance(o, dict):
        return ["d", [[_enc(k, out), _enc(v, out)] for k, v in o.items()]]
    if isinstance(o, (set, frozenset)):
        items = sorted(o, key=repr)               # a set's order is not state; a fixed one keeps files comparable
        return ["f" if isinstance(o, frozenset) else "s", [_enc(x, out) for x in items]]
    if isinstance(o, msgspec.Struct):
        return ["S", _path(type(o)), [_enc(getattr(o, f), out) for f in o.__struct_fields__]]
    if isinstance(o, random.Random):
        return ["R", _enc(o.getstate(), out)]
    cls = type(o)
    if not cls.__module__.startswith(ALLOWED):
        raise StateFormatError(f"{_path(cls)} is not a class a snapshot may hold (allowed: {', '.join(ALLOWED)})")
    names = attribute_names(o)
    key = (_path(cls), names)
    at = out.shapes.get(key)
    if at is None:
        at = out.shapes[key] = len(out.shapes)
    return ["o", at, [_enc(getattr(o, n), out) for n in names]]


def decode(data: bytes):
    try:
        table, tree = msgspec.msgpack.decode(data)
    except (msgspec.DecodeError, ValueError, TypeError) as e:
        raise StateFormatError(f"not a state: {e}") from None
    shapes = [_shape(path, names) for path, names in table]     # every class checked before any object is made
    return _dec(tree, [], shapes)


def _shape(path: str, names: list) -> tuple:
    cls = _cls(path)
    if dataclasses.is_dataclass(cls):
        want = {f.name for f in dataclasses.fields(cls)}
        if want != set(names) - _extra(cls):
            raise StateFormatError(f"{path}: fields {sorted(want)} in this code, {sorted(set(names))} written: "
                                   f"the state's shape changed")
    slotted = any("__slots__" in c.__dict__ for c in cls.__mro__ if c is not object)
    return cls, tuple(names), not slotted


def _cls(path: str):
    module, _, qual = path.partition(":")
    if not module.startswith(ALLOWED) and module not in ALLOWED:
        raise StateFormatError(f"a snapshot names {path}, outside the deterministic packages: refused")
    obj = importlib.import_module(module)
    for part in qual.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise StateFormatError(f"{path}: no such class in this code")
    if not isinstance(obj, type):
        raise StateFormatError(f"{path}: not a class")
    return obj


def _dec(n, refs: list, shapes: list):
    if not isinstance(n, list):
        return n
    tag = n[0]
    if tag == "r":
        return refs[n[1]]
    if tag == "I":
        return int(n[1])
    if tag == "e":
        return _cls(n[1])(n[2])
    if tag == "c":
        return _cls(n[1])
    if tag in ("l", "q", "d", "s", "f", "t", "R"):
        return _container(n, refs, shapes)
    if tag == "S":
        cls = _cls(n[1])
        if not issubclass(cls, msgspec.Struct) or len(cls.__struct_fields__) != len(n[2]):
            raise StateFormatError(f"{n[1]}: its fields are not the ones written ({len(n[2])}): the state's shape "
                                   f"changed")
        at = len(refs)
        refs.append(None)
        obj = cls(*[_dec(x, refs, shapes) for x in n[2]])
        refs[at] = obj
        return obj
    if tag == "o":
        cls, names, plain = shapes[n[1]]
        obj = object.__new__(cls)
        refs.append(obj)
        values = [_dec(x, refs, shapes) for x in n[2]]
        if plain:                                 # a __dict__ and no slots: the attributes in one update
            obj.__dict__.update(zip(names, values))
        else:
            for name, v in zip(names, values):
                object.__setattr__(obj, name, v)
        return obj
    raise StateFormatError(f"unknown node {tag!r}")


def _extra(cls) -> set:
    """Attributes a dataclass keeps besides its fields (set in __post_init__ or later): those are in __slots__ or are
    simply written; only the fields must match."""
    fields = {f.name for f in dataclasses.fields(cls)}
    return {s for c in cls.__mro__ for s in getattr(c, "__slots__", ())} - fields


def _container(n, refs: list, shapes: list):
    tag = n[0]
    at = len(refs)
    if tag == "l":
        out: list = []
        refs.append(out)
        out.extend(_dec(x, refs, shapes) for x in n[1])
        return out
    if tag == "q":
        q: deque = deque(maxlen=n[2])
        refs.append(q)
        q.extend(_dec(x, refs, shapes) for x in n[1])
        return q
    if tag == "d":
        d: dict = {}
        refs.append(d)
        for k, v in n[1]:
            key = _dec(k, refs, shapes)
            d[key] = _dec(v, refs, shapes)
        return d
    refs.append(None)              # tuples, sets, Random: made once their items are (no cycle runs through them)
    if tag == "t":
        obj = tuple(_dec(x, refs, shapes) for x in n[1])
    elif tag == "s":
        obj = {_dec(x, refs, shapes) for x in n[1]}
    elif tag == "f":
        obj = frozenset(_dec(x, refs, shapes) for x in n[1])
    else:
        obj = random.Random()
        obj.setstate(_dec(n[1], refs, shapes))
    refs[at] = obj
    return obj
