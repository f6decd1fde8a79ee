"""Snapshots of the deterministic apps' state at a seq, so a replay (or a recovery) can start from the latest
snapshot and the log's tail instead of the start of the day.

A snapshot is the apps' runners pickled whole (the app, its state machine, its timers, the runner's position and
its not-yet-sequenced outputs) after handling ``seq``, with a header naming the log's trading day, the seq, the
schema version and the SHA-256 of the body; loading checks all four. Pickle is fine here because a snapshot is only
ever read back by the same code that wrote it, from our own disk: it is not an exchange format (a snapshot from
other code is refused by the schema version or fails loudly, and replay from the log start always remains).
Writing is one pickle of the state: 130-420 ms for the OMS or the algo late in a full day (``bench/snapshot.py``),
which a live app does in a forked child (``apps/live_snapshots.py``) so that its stream is not held up.

The header also carries a fingerprint of the code whose objects the state is made of (the deterministic folders,
``apps/`` and the message schema). A snapshot is the old code's state: loaded into changed code it would mix the two
and replay something the day never ran, so a snapshot from other code is refused, and recovery or the replay goes
from the log's start instead."""
from __future__ import annotations

import glob
import hashlib
import os
import pickle
import re

from sequencer import messages

MAGIC = b"SEQTRADE-SNAPSHOT-2\n"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_code_id = ""


def code_id() -> str:
    """SHA-256 (first 16 hex digits) of the source files a snapshot's objects come from; computed once."""
    global _code_id
    if not _code_id:
        from .determinism import DETERMINISTIC, source_files
        h = hashlib.sha256()
        for path in source_files(ROOT, DETERMINISTIC + ("apps", "sequencer/messages.py")):
            h.update(os.path.relpath(path, ROOT).encode() + b"\0")
            with open(path, "rb") as f:
                h.update(f.read())
        _code_id = h.hexdigest()[:16]
    return _code_id


class SnapshotError(ValueError):
    pass


def path_for(dir: str, trading_day: str, seq: int) -> str:
    return os.path.join(dir, f"snap-{trading_day}-{seq:012d}.pkl")


def write(dir: str, trading_day: str, seq: int, runners: dict) -> str:
    body = pickle.dumps(runners, protocol=pickle.HIGHEST_PROTOCOL)
    head = f"{trading_day} {seq} {messages.SCHEMA_VERSION} {code_id()} {hashlib.sha256(body).hexdigest()}\n".encode()
    os.makedirs(dir, exist_ok=True)
    path = path_for(dir, trading_day, seq)
    tmp = f"{path}.{os.getpid()}.tmp"   # a writer forked by a killed process may still be finishing its own
    with open(tmp, "wb") as f:
        f.write(MAGIC + head + body)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)      # a snapshot is whole or absent
    return path


def read(path: str, trading_day: str) -> tuple[int, dict]:
    """``(seq, runners)``; SnapshotError naming the file if it is not a whole snapshot of that day."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(MAGIC):
        if data.startswith(MAGIC[:-2]):
            raise SnapshotError(f"{path}: snapshot format {data[len(MAGIC) - 2:len(MAGIC) - 1].decode(errors='replace')}"
                                f", this code reads format {MAGIC[-2:-1].decode()}")
        raise SnapshotError(f"{path}: not a seqtrade snapshot")
    head, _, body = data[len(MAGIC):].partition(b"\n")
    try:
        day, seq, schema, code, digest = head.decode().split()
    except ValueError:
        raise SnapshotError(f"{path}: damaged header") from None
    if day != trading_day:
        raise SnapshotError(f"{path}: a snapshot of {day}, not of the log's day {trading_day}")
    if int(schema) != messages.SCHEMA_VERSION:
        raise SnapshotError(f"{path}: written with schema {schema}, this code has {messages.SCHEMA_VERSION}")
    if code != code_id():
        raise SnapshotError(f"{path}: written by other code (fingerprint {code}, this code {code_id()}): the state "
                            f"it holds is the old code's; replay from the log's start instead")
    if hashlib.sha256(body).hexdigest() != digest:
        raise SnapshotError(f"{path}: body does not match its SHA-256 (truncated or damaged)")
    return int(seq), pickle.loads(body)


def all_of(dir: str, trading_day: str) -> list[str]:
    """The day's snapshots in ``dir``, oldest first (the seq is zero-padded, so names sort by seq)."""
    found = sorted(glob.glob(os.path.join(dir, f"snap-{trading_day}-*.pkl")))
    return [p for p in found if re.search(r"-\d{12}\.pkl$", p)]


def latest(dir: str, trading_day: str) -> str | None:
    found = all_of(dir, trading_day)
    return found[-1] if found else None


def prune(dir: str, trading_day: str, keep: int) -> None:
    """Delete all but the newest ``keep`` snapshots of the day."""
    for p in all_of(dir, trading_day)[:-keep]:
        os.remove(p)
