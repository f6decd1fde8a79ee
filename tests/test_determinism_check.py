"""The AST check over the deterministic folders finds nothing in our code, and does find each kind of problem."""
from __future__ import annotations

import os

import pytest

from replay.determinism import check_source, check_tree

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_deterministic_code_is_clean():
    assert check_tree(ROOT) == []


@pytest.mark.parametrize("src, words", [
    ("import time\nx = time.time_ns()\n", "reads the clock"),
    ("from datetime import datetime\nx = datetime.now()\n", "reads the clock"),
    ("import datetime\nx = datetime.datetime.utcnow()\n", "reads the clock"),
    ("import random\nx = random.random()\n", "unseeded randomness"),
    ("import random\nr = random.Random()\n", "without a seed"),
    ("import threading\n", "imports threading"),
    ("import socket\n", "imports socket"),
    ("f = open('x')\n", "opens a file"),
    ("for s in set(names):\n    pass\n", "iterates over a set"),
    ("out = [x for x in {1, 2}]\n", "iterates over a set"),
])
def test_each_kind_of_problem_is_found(src, words):
    found = check_source(src, "m.py")
    assert found and words in found[-1] and found[-1].startswith("m.py:")


def test_seeded_randomness_and_sorted_sets_are_fine():
    assert check_source("import random\nr = random.Random(7)\nfor x in sorted(set(a)):\n    pass\n", "m.py") == []
