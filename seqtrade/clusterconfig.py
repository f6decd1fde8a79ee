"""The cluster file: which processes make up the day, on which hosts, and how operations runs them. It is the same
TOML file as ``[sequencer]``, ``[apps.NAME]`` and ``[fixgw.NAME]``, so one file describes the whole cluster; errors
name the file and the line.

    [cluster]
    name = "sim"                  (shown in status and in the archive)
    host = "local"                (this machine's name in [hosts]; `seqtrade cluster start --host` overrides)
    run_dir = "run"               (pid files and each process's output: run/NAME.pid, run/NAME.log)
    archive_dir = "archive"       (the automated day archives into archive/YYYYMMDD/)
    refdata = "refdata"           (the day's reference data directory, published at the start of the day)
    publisher = "refdata"         (the [apps.NAME] credentials that publish reference data and risk limits)
    health_timeout_s = 30         (how long `start` waits for each process to be healthy)
    stop_timeout_s = 20           (SIGTERM, then SIGKILL after this long)
    post_trade = ["verify", "replay"]   (jobs the automated day runs after the close; see seqtrade/day.py)

    [hosts.local]
    address = "127.0.0.1"         (where the other hosts reach this one)

    [risk.firm]                   (the firm's limits: RiskLimits client "*"; [risk.CLIENT1] for one client)
    max_order_qty = 1000000       max_order_notional = 50000000.0   credit_limit = 2000000000.0
    collar_bp = 500               max_orders_per_sec = 200          (each a positive number or "unlimited")
    dup_window_ms = 0             short_without_locate = false      (0: no duplicate check)
    Fail closed: the five limits above must be set for every client that trades, by [risk.firm] or its own table;
    one set by neither refuses the client's orders (NO_LIMITS). `seqtrade cluster check` warns of one the firm leaves
    out.

    [firm]                        (the broker's identity in the regulatory reports; CAT, OATS and 606 refuse to run
    name = "Example Securities LLC"  without it unless test = true, which marks a test day's placeholder identity)
    imid = "EXSC"   crd = "123456"   cat_submitter = "140000"   test = false

    [process.NAME]                (NAME is also its [apps.NAME] / [fixgw.NAME] where it has one)
    kind = "app"                  sequencer | app | venue | mdgw | fixgw | web | client-sim
    host = "local"                (default: [cluster] host)
    args = []                     (extra command-line arguments)
    venue = "XNAS"                (venue) which venue of the reference data it simulates
    seed = 1                      (venue, client-sim) the simulation's seed
    begin = "FIX.4.2"             (venue, client-sim) FIX version of its sessions
    gateway = "clientgw"          (client-sim) the client gateway it connects to
    users = "users.toml"   listen = "127.0.0.1:8080"   (web) the desk's screen: its users file and address
    sender = "CLIENT1"  target = "SEQTRADE"   (client-sim) CompIDs
    part = "1/1"                  (client-sim) which share of the day's client orders this simulator sends

Paths are relative to the cluster file's directory; every process runs there.
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field

from sequencer import config as seqconfig
from sequencer import messages as M
from sequencer.config import ConfigError, _check, find_line

KINDS = ("sequencer", "app", "venue", "mdgw", "fixgw", "web", "client-sim")
_CLUSTER = {"name": str, "host": str, "run_dir": str, "archive_dir": str, "refdata": str, "publisher": str,
            "health_timeout_s": (int, float), "stop_timeout_s": (int, float), "post_trade": list}
_HOST = {"address": str}
_FIRM = {"name": str, "imid": str, "crd": str, "cat_submitter": str, "test": bool}
_PROCESS = {"kind": str, "host": str, "args": list, "venue": str, "seed": int, "begin": str, "gateway": str,
            "sender": str, "target": str, "part": str, "users": str, "listen": str, "node": str}
_RISK = {"max_order_qty": (int, str), "max_order_notional": (int, float, str), "credit_limit": (int, float, str),
         "collar_bp": (int, str), "dup_window_ms": int, "max_orders_per_sec": (int, str), "short_without_locate": bool}
_MONEY = ("max_order_notional", "credit_limit")
POST_TRADE_JOBS = ("verify", "replay", "cat", "oats", "activity", "clock", "606", "tca")


@dataclass
class Process:
    name: str
    kind: str
    host: str
    args: list = field(default_factory=list)
    venue: str = ""
    seed: int = 1
    begin: str = "FIX.4.4"
    gateway: str = ""
    sender: str = ""
    target: str = "SEQTRADE"
    part: str = "1/1"
    users: str = ""      # (web) the users file
    listen: str = ""     # (web) host:port of the desk's screen
    node: str = ""       # (sequencer) a [sequencer.ha.nodes.NAME]: a standby until elected primary
    rank: int = 0        # start order: lower first; stop in reverse


@dataclass
class Cluster:
    path: str
    dir: str
    seq: seqconfig.SequencerConfig
    name: str = "cluster"
    host: str = "local"
    run_dir: str = "run"
    archive_dir: str = "archive"
    refdata: str = "refdata"
    publisher: str = "refdata"
    health_timeout_s: float = 30.0
    stop_timeout_s: float = 20.0
    post_trade: list = field(default_factory=lambda: ["verify", "replay"])
    hosts: dict = field(default_factory=dict)        # name -> address
    processes: list = field(default_factory=list)    # in start order
    limits: list = field(default_factory=list)       # RiskLimits messages
    fixgw: dict = field(default_factory=dict)        # the raw [fixgw.NAME] tables (kind, listen)
    firm: dict = field(default_factory=dict)         # [firm]: the broker's regulatory identity (post-trade reports)

    def at(self, rel: str) -> str:
        return rel if os.path.isabs(rel) else os.path.join(self.dir, rel)

    def process(self, name: str) -> Process:
        for p in self.processes:
            if p.name == name:
                return p
        raise ConfigError(self.path, None, f"no [process.{name}] (known: {', '.join(p.name for p in self.processes)})")

    def sequencer_address(self) -> tuple[str, int]:
        """The address of the sequencer that answers now: with standbys (``[sequencer.ha]``), whichever node
        leads; else the one sequencer's."""
        addrs = self.seq.addresses()
        if len(addrs) > 1:
            from sequencer.status import query
            for a in addrs:
                try:
                    query(*a, timeout=0.5)
                    return a
                except OSError:
                    continue
        return self.seq.host, self.seq.port

    def status_auth(self) -> tuple[str, str] | None:
        """Credentials for the sequencer's full STATUS (the operator's view): the publisher's."""
        if self.publisher not in self.seq.apps:
            return None
        from sequencer.config import app_config
        app = app_config(self.seq, self.publisher)
        return app.name, app.password


def rank(kind: str, gw_kind: str = "") -> int:
    """Dependency order: the sequencer, the deterministic apps (then the day's reference data is published), the
    venues, the market data gateway, the venue gateway, the client-facing gateways, and the clients last."""
    if kind == "fixgw":
        return 4 if gw_kind == "venue" else 5
    return {"sequencer": 0, "app": 1, "venue": 2, "mdgw": 3, "web": 5, "client-sim": 6}[kind]


def load(path: str) -> Cluster:
    seq = seqconfig.load(path)
    text = open(path, encoding="utf-8", errors="replace").read()
    data = tomllib.loads(text)
    # absolute: every process is started in the cluster's directory and given this path, and the operator may have
    # named the file relative to wherever they stood (deploy/start-day.sh deploy/cluster.example.toml)
    c = Cluster(os.path.abspath(path), os.path.dirname(os.path.abspath(path)), seq)
    cl = data.get("cluster", {})
    _check(text, path, "cluster", cl, _CLUSTER)
    for k, v in cl.items():
        setattr(c, k, v)
    for job in c.post_trade:
        if job not in POST_TRADE_JOBS:
            raise ConfigError(path, find_line(text, "cluster", "post_trade"),
                              f"unknown post_trade job {job!r} (known: {', '.join(POST_TRADE_JOBS)})")
    for name, h in sorted(data.get("hosts", {}).items()):
        _check(text, path, f"hosts.{name}", h, _HOST)
        c.hosts[name] = h.get("address", "127.0.0.1")
    if not c.hosts:
        c.hosts = {c.host: "127.0.0.1"}
    if c.host not in c.hosts:
        raise ConfigError(path, find_line(text, "cluster", "host"),
                          f"[cluster] host {c.host!r} is not in [hosts] ({', '.join(c.hosts)})")
    c.fixgw = data.get("fixgw", {})
    if "firm" in data:
        _check(text, path, "firm", data["firm"], _FIRM)
        c.firm = dict(data["firm"])
    for name, r in sorted(data.get("risk", {}).items()):
        table = f"risk.{name}"
        _check(text, path, table, r, _RISK)
        c.limits.append(_risk_limits(text, path, name, r))
    for name, p in data.get("process", {}).items():   # file order: the order within one rank
        c.processes.append(_process(text, path, name, p, c))
    c.processes.sort(key=lambda p: p.rank)             # stable
    seqs = [p for p in c.processes if p.kind == "sequencer"]
    if c.seq.ha is None and len(seqs) != 1:
        raise ConfigError(path, None, f"a cluster has exactly one [process.*] of kind \"sequencer\", not {len(seqs)} "
                                      f"(several are HA nodes: [sequencer.ha], and node = \"NAME\" on each)")
    if c.seq.ha is not None and (not seqs or any(not p.node for p in seqs)):
        raise ConfigError(path, None, "with [sequencer.ha] every [process.*] of kind \"sequencer\" names its node")
    return c


def _risk_limits(text: str, path: str, name: str, r: dict) -> M.RiskLimits:
    """One [risk.NAME] table as a RiskLimits record. A limit is a positive number or "unlimited" (said explicitly);
    one left out is not set here (a client's falls back to the firm's; the OMS refuses orders where neither sets it)."""
    table = f"risk.{name}"
    vals = {}
    for key in ("max_order_qty", "max_order_notional", "credit_limit", "collar_bp", "max_orders_per_sec"):
        v = r.get(key, 0)
        if isinstance(v, str):
            if v != "unlimited":
                raise ConfigError(path, find_line(text, table, key),
                                  f"[{table}] {key} must be a number or \"unlimited\", not {v!r}")
            v = M.UNLIMITED
        elif v < 0 or (v == 0 and key in r):
            raise ConfigError(path, find_line(text, table, key),
                              f"[{table}] {key} must be positive (or \"unlimited\"), not {v}")
        elif key in _MONEY:
            v = round(v * M.PRICE_SCALE)
        vals[key] = v
    if r.get("dup_window_ms", 0) < 0:
        raise ConfigError(path, find_line(text, table, "dup_window_ms"), f"[{table}] dup_window_ms must be >= 0")
    return M.RiskLimits("*" if name == "firm" else name, vals["max_order_qty"], vals["max_order_notional"],
                        vals["credit_limit"], vals["collar_bp"], r.get("dup_window_ms", 0),
                        vals["max_orders_per_sec"], r.get("short_without_locate", False))


def _process(text: str, path: str, name: str, p: dict, c: Cluster) -> Process:
    table = f"process.{name}"
    if not isinstance(p, dict):
        raise ConfigError(path, find_line(text, "process", name), f"[{table}] must be a table")
    _check(text, path, table, p, _PROCESS)

    def err(key, msg):
        return ConfigError(path, find_line(text, table, key), f"[{table}] {msg}")
    kind = p.get("kind", "")
    if kind not in KINDS:
        raise err("kind", f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    proc = Process(name, kind, p.get("host", c.host), **{k: v for k, v in p.items() if k not in ("kind", "host")})
    if proc.host not in c.hosts:
        raise err("host", f"host {proc.host!r} is not in [hosts] ({', '.join(c.hosts)})")
    if kind in ("app", "mdgw", "fixgw", "web") and name not in c.seq.apps:
        raise err("kind", f"a {kind!r} process needs its sequencer credentials in [apps.{name}]")
    gw_kind = ""
    if kind == "fixgw":
        if name not in c.fixgw:
            raise err("kind", f"a fixgw process needs its settings in [fixgw.{name}]")
        gw_kind = c.fixgw[name].get("kind", "")
    if kind == "web" and not (proc.users and re.fullmatch(r"[\w.\-]+:\d+", proc.listen)):
        raise err("kind", "a web process needs users = \"<users file>\" and listen = \"host:port\"")
    if kind == "sequencer" and proc.node and (c.seq.ha is None or proc.node not in c.seq.ha.nodes):
        raise err("node", f"node {proc.node!r} is not in [sequencer.ha.nodes]")
    if kind == "venue" and not proc.venue:
        raise err("venue", "a venue process needs venue = \"<id in venues.csv>\"")
    if kind == "client-sim":
        if proc.gateway not in c.fixgw or c.fixgw[proc.gateway].get("kind") != "client":
            raise err("gateway", f"gateway must name a client [fixgw.*] section, not {proc.gateway!r}")
        if not proc.sender:
            raise err("sender", "a client-sim needs sender = \"<its SenderCompID>\"")
        if not re.fullmatch(r"\d+/\d+", proc.part) or not 1 <= int(proc.part.split("/")[0]) <= int(
                proc.part.split("/")[1]):
            raise err("part", f"part must be K/N with 1 <= K <= N, not {proc.part!r}")
    if kind in ("venue", "client-sim") and proc.begin not in ("FIX.4.2", "FIX.4.4"):
        raise err("begin", f"begin must be FIX.4.2 or FIX.4.4, not {proc.begin!r}")
    proc.rank = rank(kind, gw_kind)
    return proc
