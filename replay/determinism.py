"""A check over the deterministic code (AST, no import): what would make a replay differ from the day.

Flagged: reading a clock (``time.*``, ``datetime.now/utcnow/today``, ``date.today``), unseeded randomness (the
``random`` module's functions, ``Random()`` without a seed, ``os.urandom``, ``uuid``), threads and processes,
sockets, files and other I/O (``open``, ``socket``, ``asyncio``, ``subprocess``, ``threading``), and iterating over
a set (its order depends on hashing, which changes between processes for strings).
"""
from __future__ import annotations

import ast
import os

DETERMINISTIC = ("oms", "algo", "positions", "apps/oms.py", "apps/algo.py", "apps/positions.py", "apps/runtime.py",
                 "apps/street_sim.py",
                 "street/venue.py", "street/book.py", "street/events.py", "marketdata/consolidate.py")

BANNED_MODULES = {"threading", "socket", "asyncio", "subprocess", "multiprocessing", "selectors", "uuid", "secrets",
                  "concurrent"}
CLOCK_CALLS = {"time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns", "process_time"}
DATETIME_NOW = {"now", "utcnow", "today"}
RANDOM_FUNCS = {"random", "randint", "randrange", "choice", "choices", "shuffle", "sample", "uniform", "gauss",
                "seed", "getrandbits", "normalvariate", "expovariate"}


class _Visitor(ast.NodeVisitor):
    def __init__(self, path: str):
        self.path, self.problems = path, []

    def flag(self, node, text: str) -> None:
        self.problems.append(f"{self.path}:{node.lineno}: {text}")

    def visit_Import(self, node):
        for a in node.names:
            if a.name.split(".")[0] in BANNED_MODULES:
                self.flag(node, f"imports {a.name} (threads, sockets, processes or ids from the OS)")
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        mod = (node.module or "").split(".")[0]
        if mod in BANNED_MODULES:
            self.flag(node, f"imports from {node.module}")
        if mod == "time":
            self.flag(node, "imports from time (a clock)")
        if mod == "random" and any(a.name != "Random" for a in node.names):
            self.flag(node, "imports random functions (unseeded randomness)")
        self.generic_visit(node)

    def visit_Call(self, node):
        f = node.func
        if isinstance(f, ast.Name) and f.id == "open":
            self.flag(node, "opens a file")
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
            mod, fn = f.value.id, f.attr
            if mod == "time" and fn in CLOCK_CALLS:
                self.flag(node, f"reads the clock (time.{fn})")
            elif mod in ("datetime", "date") and fn in DATETIME_NOW:
                self.flag(node, f"reads the clock ({mod}.{fn})")
            elif mod == "random" and fn in RANDOM_FUNCS:
                self.flag(node, f"unseeded randomness (random.{fn})")
            elif mod == "random" and fn == "Random" and not node.args and not node.keywords:
                self.flag(node, "random.Random() without a seed")
            elif mod == "os" and fn in ("urandom", "getpid", "environ"):
                self.flag(node, f"os.{fn} differs between runs")
        if isinstance(f, ast.Attribute) and f.attr in DATETIME_NOW and isinstance(f.value, ast.Attribute) and \
                f.value.attr in ("datetime", "date"):
            self.flag(node, f"reads the clock (datetime.{f.value.attr}.{f.attr})")
        self.generic_visit(node)

    def _iter(self, node, it):
        if isinstance(it, (ast.Set, ast.SetComp)) or (isinstance(it, ast.Call) and isinstance(it.func, ast.Name)
                                                      and it.func.id in ("set", "frozenset")):
            self.flag(node, "iterates over a set (hash order)")

    def visit_For(self, node):
        self._iter(node, node.iter)
        self.generic_visit(node)

    def visit_comprehension(self, node):
        self._iter(node.iter, node.iter)
        self.generic_visit(node)


def check_source(text: str, path: str) -> list[str]:
    v = _Visitor(path)
    v.visit(ast.parse(text, path))
    return v.problems


def source_files(root: str, targets=DETERMINISTIC) -> list[str]:
    """The .py files of ``targets`` (files or folders under ``root``), each once, in a fixed order."""
    found = set()
    for t in targets:
        full = os.path.join(root, t)
        found.update([full] if full.endswith(".py") else
                     (os.path.join(d, f) for d, _, fs in os.walk(full) for f in fs if f.endswith(".py")))
    return sorted(found)


def check_tree(root: str, targets=DETERMINISTIC) -> list[str]:
    problems = []
    for path in source_files(root, targets):
        with open(path, encoding="utf-8") as fh:
            problems += check_source(fh.read(), os.path.relpath(path, root))
    return problems
