"""``seqtrade cluster start|stop|status|exec``: running the day's processes from the cluster file.

* ``start`` starts this host's processes in dependency order (``clusterconfig.rank``), each detached with its output
  in ``run/NAME.log`` and its pid in ``run/NAME.pid``, and waits for each to be healthy before the next: the
  sequencer answers STATUS; an app or gateway is connected (and caught up if it subscribes); a venue or client
  gateway accepts connections. Once the apps are up, the day's reference data and risk limits are published (safe to
  repeat: the sequencer drops what it already has). A process already running is left alone, so ``start`` after a
  crash starts only what is missing.
* ``stop`` stops them in reverse order (clients and gateways first, the sequencer last, so everything in flight is
  sequenced and the log is flushed and closed): SIGTERM, then SIGKILL after ``stop_timeout_s``.
* ``status`` prints one line per process: pid, up since, and the last seq it has processed (the deterministic apps say
  so over their connection, PROGRESS; for the others the last seq the sequencer sent them, marked "(sent)"), with its
  lag behind the head. Processes on other hosts show what the sequencer knows of them.
* ``exec NAME`` replaces itself with one process, in the foreground: what a systemd unit runs.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

from refdata.load import load_dir
from refdata.publish import messages as refdata_messages
from sequencer.status import query
from sequencer.submitter import submit_all

from .clusterconfig import Cluster, Process

NY = ZoneInfo("America/New_York")


class ClusterError(Exception):
    pass


def _say(msg: str) -> None:
    print(msg, flush=True)


# -- the command line of each kind of process ---------------------------------------------------------------------
def command(c: Cluster, p: Process) -> list[str]:
    cfg = c.path
    if p.kind == "sequencer":
        args = ["sequencer", "--config", cfg] + (["--node", p.node] if p.node else [])
    elif p.kind == "app":
        args = ["app", "run", p.name, "--config", cfg]
    elif p.kind == "mdgw":
        args = ["mdgw", "--config", cfg, "--name", p.name, "--refdata", c.at(c.refdata)]
    elif p.kind == "fixgw":
        args = ["fixgw", "--config", cfg, "--name", p.name]
    elif p.kind == "client-sim":
        args = ["client-sim", "--config", cfg, "--name", p.name]
    elif p.kind == "web":
        args = ["web", "--config", cfg, "--name", p.name, "--users", c.at(p.users), "--listen", p.listen]
    else:  # venue simulator on the sequencer's clock, stepping from the day's clock start (or the open)
        host, port = c.sequencer_address()
        args = ["venue", "--id", p.venue, "--refdata", c.at(c.refdata), "--seed", str(p.seed), "--clock-from",
                f"{host}:{port}", "--clock-start", c.seq.clock_start or c.seq.market_open, "--begin", p.begin,
                "--host", c.hosts[p.host]]
    return [sys.executable, "-m", "seqtrade", *args, *[str(x) for x in p.args]]


# -- pid files ------------------------------------------------------------------------------------------------------
def _pid_path(c: Cluster, p: Process) -> str:
    return os.path.join(c.at(c.run_dir), f"{p.name}.pid")


def log_path(c: Cluster, p: Process) -> str:
    return os.path.join(c.at(c.run_dir), f"{p.name}.log")


def _alive(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)   # our own child: reap it if it has exited
        if done:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:   # a recycled pid is not ours
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"seqtrade" in f.read()
    except OSError:
        return True


def running(c: Cluster, p: Process) -> dict | None:
    """The pid file's contents if that process is alive."""
    try:
        with open(_pid_path(c, p)) as f:
            info = json.load(f)
    except (OSError, ValueError):
        return None
    return info if _alive(info["pid"]) else None


def tail(path: str, n: int = 8) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


# -- health -------------------------------------------------------------------------------------------------------
def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


def healthy(c: Cluster, p: Process) -> bool:
    try:
        st = query(*c.sequencer_address(), timeout=1.0, auth=c.status_auth())
    except OSError:
        return False
    if p.kind == "sequencer":
        return True
    if p.kind == "venue":
        v = load_dir(c.at(c.refdata)).venues[p.venue]
        return _listening(c.hosts[p.host], v["fix_port"])
    if p.kind == "client-sim":
        return True
    if p.kind == "web":
        host, _, port = p.listen.rpartition(":")
        return _listening(host, int(port))
    s = next((s for s in st.sessions if s.app == p.name), None)
    if s is None or (s.subscribed and not s.live):
        return False
    if p.kind == "fixgw" and c.fixgw[p.name].get("kind") == "client":
        host, _, port = c.fixgw[p.name]["listen"].rpartition(":")
        return _listening(host, int(port))
    return True


# -- start / stop ---------------------------------------------------------------------------------------------------
def local(c: Cluster, host: str | None) -> list[Process]:
    h = host or c.host
    return [p for p in c.processes if p.host == h]


def start_one(c: Cluster, p: Process) -> subprocess.Popen | None:
    if running(c, p):
        _say(f"  {p.name:<14} already running (pid {running(c, p)['pid']})")
        return None
    os.makedirs(c.at(c.run_dir), exist_ok=True)
    cmd = command(c, p)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(log_path(c, p), "ab") as out:
        out.write(f"--- {dt.datetime.now().isoformat(timespec='seconds')} {' '.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=c.dir, env=env,
                                start_new_session=True)
    with open(_pid_path(c, p), "w") as f:
        json.dump({"pid": proc.pid, "started_ns": time.time_ns(), "cmd": cmd}, f)
    deadline = time.monotonic() + c.health_timeout_s
    while not healthy(c, p):
        if proc.poll() is not None:
            raise ClusterError(f"{p.name} exited with {proc.returncode} while starting; its log "
                               f"{log_path(c, p)} ends:\n{tail(log_path(c, p))}")
        if time.monotonic() > deadline:
            raise ClusterError(f"{p.name} not healthy after {c.health_timeout_s:.0f}s; its log {log_path(c, p)} "
                               f"ends:\n{tail(log_path(c, p))}")
        time.sleep(0.1)
    _say(f"  {p.name:<14} up (pid {proc.pid}, {p.kind})")
    return proc


def publish_day_data(c: Cluster) -> None:
    """The day's reference data, then the risk limits, onto the stream (each re-runnable)."""
    host, port = c.sequencer_address()
    if c.publisher not in c.seq.apps:
        raise ClusterError(f"{c.path}: [cluster] publisher {c.publisher!r} has no [apps.{c.publisher}] credentials")
    from sequencer.config import app_config
    app = app_config(c.seq, c.publisher)
    rd = load_dir(c.at(c.refdata))
    already, sent, _ = asyncio.run(submit_all(host, port, c.publisher, app.password,
                                              refdata_messages(rd) + list(c.limits)))
    _say(f"  reference data {rd.content_hash[:12]} and {len(c.limits)} risk limit sets: "
         + (f"{sent} records published" if sent else "already on the stream"))


def start(c: Cluster, host: str | None = None) -> dict[str, subprocess.Popen]:
    procs = local(c, host)
    if not procs:
        raise ClusterError(f"{c.path}: no processes for host {host or c.host!r}")
    _say(f"starting {c.name} on {host or c.host}: {', '.join(p.name for p in procs)}")
    # the host that runs the sequencer publishes the day's data once its apps are up (apps elsewhere catch up)
    publish = any(p.kind == "sequencer" for p in procs)
    started = {}
    for p in procs + [None]:
        if publish and (p is None or p.rank >= 2):
            publish_day_data(c)
            publish = False
        if p is not None and (proc := start_one(c, p)):
            started[p.name] = proc
    return started


def stop_one(c: Cluster, p: Process) -> str:
    info = running(c, p)
    if info is None:
        if os.path.exists(_pid_path(c, p)):   # it ended on its own (a client simulator at the end of its day)
            os.remove(_pid_path(c, p))
            return "not running (had exited)"
        return "not running"
    pid, t0 = info["pid"], time.monotonic()
    os.kill(pid, signal.SIGTERM)
    while _alive(pid):
        if time.monotonic() - t0 > c.stop_timeout_s:
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
            return f"killed (pid {pid}) after {c.stop_timeout_s:.0f}s without stopping"
        time.sleep(0.05)
    os.remove(_pid_path(c, p))
    return f"stopped (pid {pid}) in {time.monotonic() - t0:.1f}s"


def stop(c: Cluster, host: str | None = None) -> None:
    procs = list(reversed(local(c, host)))
    _say(f"stopping {c.name} on {host or c.host}")
    for p in procs:
        _say(f"  {p.name:<14} {stop_one(c, p)}")


# -- status ----------------------------------------------------------------------------------------------------------
def status_rows(c: Cluster) -> list[list[str]]:
    try:
        st = query(*c.sequencer_address(), timeout=1.0, auth=c.status_auth())
    except OSError:
        st = None
    sessions = {s.app: s for s in st.sessions} if st else {}
    rows = []
    for p in c.processes:
        info = running(c, p) if p.host == c.host else None
        s = sessions.get(p.name)
        if p.kind == "sequencer":
            state = "up" if st else "down"
            seen, lag = (f"{st.head_seq:,}", "head") if st else ("-", "-")
        else:
            up = info is not None or s is not None
            state = "up" if up else "down"
            if up and p.kind in ("app", "mdgw", "fixgw") and s is None:
                state = "up, not connected"
            # an app that reports what it has processed (PROGRESS) is judged by that; others by what they were sent
            done = s.processed_seq if s and s.processed_seq else (s.delivered_seq if s and s.subscribed else 0)
            seen = f"{done:,}" + ("" if s and s.processed_seq else " (sent)") if s and (s.subscribed or
                                                                                       s.processed_seq) else "-"
            lag = f"{max(st.head_seq - done, 0):,}" if seen != "-" else "-"
        since = "-"
        if info:
            since = dt.datetime.fromtimestamp(info["started_ns"] / 1e9).strftime("%H:%M:%S")
        elif s:
            since = dt.datetime.fromtimestamp(s.since_ns / 1e9).strftime("%H:%M:%S") + " (conn)"
        rows.append([p.name, p.kind, p.host, str(info["pid"]) if info else "-", state, since, seen, lag])
    return rows


def print_status(c: Cluster) -> int:
    head = ["process", "kind", "host", "pid", "state", "up since", "processed seq", "lag"]
    rows = status_rows(c)
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    for r in [head] + rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
    try:
        st = query(*c.sequencer_address(), timeout=1.0, auth=c.status_auth())
        t = dt.datetime.fromtimestamp(st.clock_ns / 1e9, NY).strftime("%H:%M:%S")
        print(f"trading day {st.trading_day}, sequenced time {t} New York (x{st.clock_speed:g}), head seq "
              f"{st.head_seq:,}, log {st.log_path}")
    except OSError:
        print("the sequencer does not answer")
    return 0 if all(r[4] == "up" for r in rows) else 1


def exec_one(c: Cluster, name: str) -> int:
    p = c.process(name)
    cmd = command(c, p)
    os.chdir(c.dir)
    os.execv(cmd[0], cmd)
    return 0  # not reached
