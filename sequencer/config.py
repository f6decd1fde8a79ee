"""Loading the sequencer and app settings from a TOML file, with errors that name the file and the line.

    [sequencer]
    host = "127.0.0.1"        port = 7700             data_dir = "data"
    trading_day = "20261121"  (default: today, by the sequencer's clock)
    fsync = "batch"           ("batch" | "interval" | "never", see log.LogWriter)   fsync_interval_ms = 5
    clock_interval_ms = 100   (a Clock record when nothing was sequenced for this long)
    clock_speed = 1.0         (sequenced time runs this many times faster than real time: compressed days)
    clock_start = "09:30:00"  (optional: sequenced time starts at this time of the trading day, New York time)
    market_open = "09:30:00"  market_close = "16:00:00"   (New York time; on the DayStart record for the apps)
    max_subscriber_lag_bytes = 67108864   (a live subscriber further behind is cut off; it catches up from the log)
    validate_payloads = true
    clock_sample_s = 10       (a ClockSample of the host time source this often, real seconds; 0 = none)

    tls_cert = ""  tls_key = ""  tls_ca = ""   (TLS on the sequencer link: the server's certificate and key, and the CA
                               that signed it and every app's client certificate; with tls_ca set, a client
                               certificate is required; see sequencer/tls.py)

    [apps.NAME]
    password = "..."          (the credential the app gives in its HELLO, in clear; or instead:)
    password_hash = "scrypt$..."   secret_file = "secrets/NAME.secret"   (see sequencer/secrets.py: the cluster file
                               then holds no secret; the process reads only its own)
    tls_cert = ""  tls_key = ""   (the app's client certificate on a TLS sequencer link)
    class = "apps.sample:PongApp"   (for `seqtrade app run`)
    params = { ... }          (constructor keyword arguments)
    role = "oms"              (what it may submit: oms, algo, client-gateway, venue-gateway, marketdata, refdata,
                               operator, sample, reader, or a list of them; default inferred, see sequencer/rights.py)
    snapshot_dir = ""         (write the app's state here every snapshot_every records and at a clean stop, and
    snapshot_every = 100000    restart from the latest one plus the log's tail; "" = always replay from seq 1)
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field

from . import rights, secrets


class ConfigError(Exception):
    def __init__(self, path: str, line: int | None, msg: str):
        self.path, self.line = path, line
        super().__init__(f"{path}:{line}: {msg}" if line else f"{path}: {msg}")


@dataclass
class AppConfig:
    name: str
    password: str                 # in clear, if the cluster file has it; app_config() puts the process's own here
    cls: str = ""
    params: dict = field(default_factory=dict)
    snapshot_dir: str = ""
    snapshot_every: int = 100_000
    roles: tuple = ("reader",)
    password_hash: str = ""
    secret_file: str = ""
    tls_cert: str = ""
    tls_key: str = ""

    @property
    def rights(self) -> frozenset:
        return rights.tags_of(self.roles)


@dataclass
class HaNode:
    name: str
    host: str
    port: int
    data_dir: str


@dataclass
class HaConfig:
    """``[sequencer.ha]``: a primary and hot standbys elected through etcd (sequencer/ha.py)."""
    etcd: list = field(default_factory=list)           # "host:port" of each etcd member
    key: str = "/seqtrade/leader"                      # the election key (one per cluster)
    lease_s: float = 2.0                               # a primary that cannot renew within this stops sequencing
    sync_standbys: int = 1                             # standbys that must have a batch on disk before it is published
    replication_app: str = "replication"               # the [apps.NAME] standbys authenticate as (role standby)
    nodes: dict = field(default_factory=dict)          # name -> HaNode


@dataclass
class SequencerConfig:
    host: str = "127.0.0.1"
    port: int = 7700
    data_dir: str = "data"
    trading_day: str = ""
    fsync: str = "batch"
    fsync_interval_ms: int = 5
    clock_interval_ms: int = 100
    clock_speed: float = 1.0
    clock_start: str = ""
    market_open: str = "09:30:00"
    market_close: str = "16:00:00"
    max_subscriber_lag_bytes: int = 64 * 1024 * 1024
    validate_payloads: bool = True
    clock_sample_s: float = 10.0
    tls_cert: str = ""
    tls_key: str = ""
    tls_ca: str = ""
    apps: dict = field(default_factory=dict)  # name -> AppConfig
    ha: HaConfig | None = None
    path: str = "<defaults>"

    def addresses(self) -> list[tuple[str, int]]:
        """Every address a sequencer of this cluster may answer on: the primary's, then each HA node's."""
        out = [(self.host, self.port)]
        for n in (self.ha.nodes.values() if self.ha else ()):
            if (n.host, n.port) not in out:
                out.append((n.host, n.port))
        return out


_SEQ_KEYS = {"host": str, "port": int, "data_dir": str, "trading_day": str, "fsync": str,
             "fsync_interval_ms": int, "clock_interval_ms": int, "clock_speed": (int, float), "clock_start": str,
             "market_open": str, "market_close": str,
             "max_subscriber_lag_bytes": int, "validate_payloads": bool, "clock_sample_s": (int, float),
             "tls_cert": str, "tls_key": str, "tls_ca": str, "ha": dict}
_HA_KEYS = {"etcd": list, "key": str, "lease_s": (int, float), "sync_standbys": int, "replication_app": str,
            "nodes": dict}
_NODE_KEYS = {"host": str, "port": int, "data_dir": str}
_APP_KEYS = {"password": str, "class": str, "params": dict, "snapshot_dir": str, "snapshot_every": int,
             "role": (str, list), "password_hash": str, "secret_file": str, "tls_cert": str, "tls_key": str}


def find_line(text: str, table: str | None, key: str) -> int | None:
    """The line where ``key`` is set inside ``[table]`` (or where the table starts), for error messages."""
    lines = text.splitlines()
    in_table = table is None
    table_line = None
    for i, line in enumerate(lines, 1):
        s = line.strip()
        m = re.match(r"^\[\s*([^\]]+?)\s*\]$", s)
        if m:
            in_table = m.group(1) == table
            if in_table:
                table_line = i
            continue
        if in_table and re.match(rf"^\"?{re.escape(key)}\"?\s*=", s):
            return i
    return table_line


def _check(text, path, table, data: dict, schema: dict):
    for key, val in data.items():
        if key not in schema:
            raise ConfigError(path, find_line(text, table, key),
                              f"unknown setting {key!r} in [{table}] (known: {', '.join(sorted(schema))})")
        want = schema[key]
        if isinstance(val, bool) and want is not bool:
            ok = False
        else:
            ok = isinstance(val, want)
        if not ok:
            names = want.__name__ if isinstance(want, type) else " or ".join(t.__name__ for t in want)
            raise ConfigError(path, find_line(text, table, key),
                              f"[{table}] {key} must be a {names}, not {type(val).__name__} {val!r}")


def _seconds(hhmmss: str) -> int | None:
    """Seconds after midnight of ``HH:MM[:SS]``, or None if it is not a time of day (16:60, 24:00)."""
    parts = [int(x) for x in hhmmss.split(":")]
    h, m, s = parts[0], parts[1], parts[2] if len(parts) > 2 else 0
    if h > 23 or m > 59 or s > 59:
        return None
    return (h * 60 + m) * 60 + s


def load(path: str) -> SequencerConfig:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ConfigError(path, None, f"cannot read: {e.strerror}") from None
    text = raw.decode("utf-8", errors="replace")
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise ConfigError(path, None, "not valid TOML: nested too deeply") from None
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        raise ConfigError(path, int(m.group(1)) if m else None, f"not valid TOML: {e}") from None
    return from_dict(data, path, text)


def from_dict(data: dict, path: str = "<config>", text: str = "") -> SequencerConfig:
    cfg = SequencerConfig(path=path)
    # the cluster file also has the operations sections (seqtrade/clusterconfig.py reads them)
    unknown = sorted(set(data) - {"sequencer", "apps", "fixgw", "cluster", "hosts", "process", "risk", "firm", "screen"})
    if unknown:
        raise ConfigError(path, find_line(text, unknown[0], "\0"),
                          f"unknown section [{unknown[0]}] (known: [sequencer], [apps.NAME], [fixgw.NAME], [cluster], "
                          f"[hosts.NAME], [process.NAME], [risk.CLIENT], [firm], [screen])")
    seq = data.get("sequencer", {})
    _check(text, path, "sequencer", seq, _SEQ_KEYS)
    for k, v in seq.items():
        if k != "ha":
            setattr(cfg, k, v)
    if "ha" in seq:
        cfg.ha = _ha(seq["ha"], path, text)
    if cfg.fsync not in ("batch", "interval", "never"):
        raise ConfigError(path, find_line(text, "sequencer", "fsync"),
                          f"fsync must be \"batch\", \"interval\" or \"never\", not {cfg.fsync!r}")
    if cfg.trading_day and not re.fullmatch(r"\d{8}", cfg.trading_day):
        raise ConfigError(path, find_line(text, "sequencer", "trading_day"),
                          f"trading_day must be YYYYMMDD, not {cfg.trading_day!r}")
    for k in ("clock_start", "market_open", "market_close"):
        v = getattr(cfg, k)
        if v and (not re.fullmatch(r"\d\d:\d\d(:\d\d)?", v) or _seconds(v) is None):
            raise ConfigError(path, find_line(text, "sequencer", k), f"{k} must be a time of day HH:MM[:SS] "
                                                                     f"(00:00 to 23:59:59), not {v!r}")
    if cfg.market_open and cfg.market_close and _seconds(cfg.market_open) >= _seconds(cfg.market_close):
        raise ConfigError(path, find_line(text, "sequencer", "market_close"),
                          f"market_close {cfg.market_close} must be after market_open {cfg.market_open}")
    for k in ("clock_interval_ms", "port", "max_subscriber_lag_bytes"):
        if getattr(cfg, k) <= 0:
            raise ConfigError(path, find_line(text, "sequencer", k), f"{k} must be positive")
    if cfg.port > 65535:
        raise ConfigError(path, find_line(text, "sequencer", "port"), f"port must be 1..65535, not {cfg.port}")
    if cfg.clock_sample_s < 0:
        raise ConfigError(path, find_line(text, "sequencer", "clock_sample_s"), "clock_sample_s must be 0 or more")
    if cfg.clock_speed <= 0:
        raise ConfigError(path, find_line(text, "sequencer", "clock_speed"), "clock_speed must be positive")
    apps = data.get("apps", {})
    for name in sorted(apps):
        table = f"apps.{name}"
        a = apps[name]
        if not isinstance(a, dict):
            raise ConfigError(path, find_line(text, "apps", name), f"[{table}] must be a table")
        _check(text, path, table, a, _APP_KEYS)
        if not a.get("password") and not a.get("password_hash"):
            raise ConfigError(path, find_line(text, table, "password"), f"[{table}] needs a password or a "
                                                                        f"password_hash")
        if a.get("password_hash"):
            try:
                secrets.check_hash_format(a["password_hash"])
            except secrets.SecretError as e:
                raise ConfigError(path, find_line(text, table, "password_hash"), f"[{table}] {e}") from None
        if a.get("snapshot_every", 1) <= 0:
            raise ConfigError(path, find_line(text, table, "snapshot_every"), "snapshot_every must be positive")
        role = a.get("role") or rights.infer_role(name, a.get("class", ""), data)
        roles = (role,) if isinstance(role, str) else tuple(role)
        try:
            rights.tags_of(roles)
        except rights.RightsError as e:
            raise ConfigError(path, find_line(text, table, "role"), f"[{table}] {e}") from None
        if name == "sequencer":
            raise ConfigError(path, find_line(text, "apps", name), "no app may be called \"sequencer\"")
        cfg.apps[name] = AppConfig(name, a.get("password", ""), a.get("class", ""), dict(a.get("params", {})),
                                   a.get("snapshot_dir", ""), a.get("snapshot_every", 100_000), roles,
                                   a.get("password_hash", ""), a.get("secret_file", ""), a.get("tls_cert", ""),
                                   a.get("tls_key", ""))
    return cfg


def _ha(h: dict, path: str, text: str) -> HaConfig:
    _check(text, path, "sequencer.ha", h, _HA_KEYS)

    def err(table, key, msg):
        return ConfigError(path, find_line(text, table, key), f"[{table}] {msg}")
    ha = HaConfig(**{k: v for k, v in h.items() if k != "nodes"})
    if not ha.etcd or not all(isinstance(e, str) and re.fullmatch(r"[\w.\-]+:\d+", e) for e in ha.etcd):
        raise err("sequencer.ha", "etcd", "etcd must list the etcd members as \"host:port\"")
    if ha.lease_s <= 0:
        raise err("sequencer.ha", "lease_s", "lease_s must be positive")
    for name, n in sorted(h.get("nodes", {}).items()):
        table = f"sequencer.ha.nodes.{name}"
        if not isinstance(n, dict) or not n.get("port"):
            raise err(table, "port", "a node needs host, port and data_dir")
        _check(text, path, table, n, _NODE_KEYS)
        ha.nodes[name] = HaNode(name, n.get("host", "127.0.0.1"), n["port"], n.get("data_dir", f"data-{name}"))
    if len(ha.nodes) < 2:
        raise err("sequencer.ha", "nodes", "HA needs at least two [sequencer.ha.nodes.NAME]")
    if not 0 <= ha.sync_standbys < len(ha.nodes):
        raise err("sequencer.ha", "sync_standbys", f"sync_standbys must be 0..{len(ha.nodes) - 1} (the standbys "
                                                   f"there are)")
    return ha


def for_node(cfg: SequencerConfig, node: str) -> SequencerConfig:
    """The config of one HA node: its own address and data directory (relative to the cluster file's)."""
    import dataclasses
    import os
    if cfg.ha is None or node not in cfg.ha.nodes:
        raise ConfigError(cfg.path, None, f"no [sequencer.ha.nodes.{node}] "
                                          f"({', '.join(cfg.ha.nodes) if cfg.ha else 'no [sequencer.ha]'})")
    n = cfg.ha.nodes[node]
    data = n.data_dir if os.path.isabs(n.data_dir) else os.path.join(os.path.dirname(os.path.abspath(cfg.path)),
                                                                      n.data_dir)
    return dataclasses.replace(cfg, host=n.host, port=n.port, data_dir=data)


def app_config(cfg: SequencerConfig, name: str, what: str = "the app's credentials") -> AppConfig:
    """The ``[apps.NAME]`` section of the process that runs as ``name``, with its own secret as ``password`` (from
    the environment, its secret file or the cluster file: ``sequencer/secrets.py``), or a ConfigError naming the file.
    It also sets up this process's side of a TLS sequencer link (``sequencer/tls.py``)."""
    import dataclasses
    import os
    app = cfg.apps.get(name)
    if app is None:
        raise ConfigError(cfg.path, None, f"no [apps.{name}] section ({what})")
    try:
        secret = secrets.own_secret(name, app.password, app.secret_file, os.path.dirname(os.path.abspath(cfg.path)))
    except secrets.SecretError as e:
        raise ConfigError(cfg.path, None, str(e)) from None
    from . import client, tls
    tls.use_client(cfg, app)
    client.use_addresses(cfg.addresses())
    return dataclasses.replace(app, password=secret)
