"""Snapshots of the deterministic apps' state at a seq, so a replay (or a recovery) can start from the latest
snapshot and the log's tail instead of the start of the day.

A snapshot is the apps' runners written out explicitly (``apps/statecodec.py``: the app, its state machine, its
timers, the runner's position and its not-yet-sequenced outputs, as tagged data, never a pickle) after handling
``seq``, with a header naming the log's trading day, the seq, the schema version, the apps, each app's
``state_hash()`` (``apps/statehash.py``), and an HMAC-SHA256 of header and body under a key only the writer's secret
gives (``key_for``: a live app's is derived from its own sequencer password; a replay's from
``SEQTRADE_SNAPSHOT_SECRET``). Files are written 0600 in directories made 0700, and a directory that others may write
to is refused.

Reading one runs no code the file could choose: the signature is checked first (a file dropped into a snapshot
directory by someone without the secret is refused unread), the state is rebuilt from data (only classes of the
deterministic packages, made without calling them), and it must hash as the state that was written. Attributes go
by name, so a snapshot survives code changes that leave the state's shape alone; one whose shape no longer fits the
code is refused, naming the class, and recovery or the replay goes from the log's start instead.

Writing is a walk of the state: a few hundred ms for the OMS or the algo late in a full day (``bench/snapshot.py``),
which a live app does in a forked child (``apps/live_snapshots.py``) so that its stream is not held up."""
from __future__ import annotations

import glob
import hashlib
import hmac
import os
import re

from sequencer import messages

from . import statecodec

MAGIC = b"SEQTRADE-SNAPSHOT-5\n"
SECRET_ENV = "SEQTRADE_SNAPSHOT_SECRET"


class SnapshotError(ValueError):
    pass


def key_for(secret: str) -> bytes:
    """The HMAC key of a secret (an app's password, or the replay secret): one-way, so a key never reveals it."""
    if not secret:
        raise SnapshotError("snapshots need a secret to sign them with: an app's password, or set "
                            f"{SECRET_ENV} for a replay's snapshots")
    return hashlib.sha256(b"seqtrade snapshot key\0" + secret.encode()).digest()


def env_key() -> bytes:
    """The replay's key, from ``SEQTRADE_SNAPSHOT_SECRET``."""
    return key_for(os.environ.get(SECRET_ENV, ""))


def _check_dir(dir: str) -> None:
    st = os.stat(dir)
    if st.st_mode & 0o022:
        raise SnapshotError(f"{dir}: snapshot directory is writable by group or others (mode "
                            f"{st.st_mode & 0o777:o}); anyone who can write there could plant a snapshot: "
                            f"chmod go-w it")


def path_for(dir: str, trading_day: str, seq: int) -> str:
    return os.path.join(dir, f"snap-{trading_day}-{seq:012d}.state")


def write(dir: str, trading_day: str, seq: int, runners: dict, key: bytes) -> str:
    runners = {n: r.plain() for n, r in runners.items()}
    body = statecodec.encode(runners)
    hashes = ",".join(runners[n].app.state_hash() for n in sorted(runners))
    head = f"{trading_day} {seq} {messages.SCHEMA_VERSION} {','.join(sorted(runners))} {hashes}".encode()
    mac = hmac.new(key, MAGIC + head + b"\n" + body, hashlib.sha256).hexdigest().encode()
    os.makedirs(dir, mode=0o700, exist_ok=True)
    _check_dir(dir)
    path = path_for(dir, trading_day, seq)
    tmp = f"{path}.{os.getpid()}.tmp"   # a writer forked by a killed process may still be finishing its own
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(MAGIC + head + b" " + mac + b"\n" + body)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)      # a snapshot is whole or absent
    return path


def apps_of(path: str) -> list[str]:
    """The apps a snapshot says it holds (read from its header, before any check: to find the key to check it)."""
    with open(path, "rb") as f:
        data = f.read(len(MAGIC) + 512)
    head = data[len(MAGIC):].partition(b"\n")[0].split()
    return head[3].decode(errors="replace").split(",") if data.startswith(MAGIC) and len(head) == 6 else []


def read(path: str, trading_day: str, key: bytes) -> tuple[int, dict]:
    """``(seq, runners)``; SnapshotError naming the file if it is not a whole snapshot of that day signed with
    ``key``. Nothing is decoded before the signature checks."""
    _check_dir(os.path.dirname(os.path.abspath(path)))
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(MAGIC):
        if data.startswith(MAGIC[:-2]):
            raise SnapshotError(f"{path}: snapshot format {data[len(MAGIC) - 2:len(MAGIC) - 1].decode(errors='replace')}"
                                f", this code reads format {MAGIC[-2:-1].decode()}")
        raise SnapshotError(f"{path}: not a seqtrade snapshot")
    head, _, body = data[len(MAGIC):].partition(b"\n")
    signed, _, mac = head.rpartition(b" ")
    want = hmac.new(key, MAGIC + signed + b"\n" + body, hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(mac, want):
        raise SnapshotError(f"{path}: signature does not match (damaged, or not written with this app's secret); "
                            f"not loaded")
    try:
        day, seq, schema, _apps, hashes = signed.decode().split()
    except ValueError:
        raise SnapshotError(f"{path}: damaged header") from None
    if day != trading_day:
        raise SnapshotError(f"{path}: a snapshot of {day}, not of the log's day {trading_day}")
    if int(schema) != messages.SCHEMA_VERSION:
        raise SnapshotError(f"{path}: written with schema {schema}, this code has {messages.SCHEMA_VERSION}")
    try:
        runners = statecodec.decode(body)
    except (statecodec.StateFormatError, ImportError, TypeError, ValueError) as e:
        raise SnapshotError(f"{path}: its state does not fit this code ({e}); replay from the log's start "
                            f"instead") from None
    for r in runners.values():        # where outputs go is not state: the loader gives its own
        r.send = lambda sseq, typ, payload: None
        r.app._submit = r._submit
    # the whole state, compared: what was restored must be what was written (exchange-core's stateHash check)
    got = ",".join(runners[n].app.state_hash() for n in sorted(runners))
    if got != hashes:
        raise SnapshotError(f"{path}: the restored state does not hash as the state that was written "
                            f"({got[:16]} vs {hashes[:16]}); not used")
    return int(seq), runners


def all_of(dir: str, trading_day: str) -> list[str]:
    """The day's snapshots in ``dir``, oldest first (the seq is zero-padded, so names sort by seq)."""
    found = sorted(glob.glob(os.path.join(dir, f"snap-{trading_day}-*.state")))
    return [p for p in found if re.search(r"-\d{12}\.state$", p)]


def latest(dir: str, trading_day: str) -> str | None:
    found = all_of(dir, trading_day)
    return found[-1] if found else None


def prune(dir: str, trading_day: str, keep: int) -> None:
    """Delete all but the newest ``keep`` snapshots of the day."""
    for p in all_of(dir, trading_day)[:-keep]:
        os.remove(p)
