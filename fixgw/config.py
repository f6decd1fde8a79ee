"""FIX gateway settings from the cluster's TOML file (the same file as ``[sequencer]`` and ``[apps.NAME]``), with
errors that name the file and the line.

    [fixgw.clientgw]               (the gateway's sequencer credentials are in [apps.clientgw])
    kind = "client"
    listen = "127.0.0.1:9001"
    oms = "oms"                    (whose ExecReports to send; default "oms")
    schedule = "07:00-18:00"       (optional, New York time: logons refused and sessions logged out outside it)
    tls_cert = "cert.pem"          (optional: TLS on every session; tls_key too)
    tls_key = "key.pem"

    [[fixgw.clientgw.sessions]]
    target = "CLIENT1"             (their SenderCompID)
    sender = "SEQTRADE"            (ours)
    begin = "FIX.4.4"              ("FIX.4.2" or "FIX.4.4")
    client = "CLIENT1"             (the client on the stream; default the target)
    account = "ACC1"               (optional: the only Account (1) this session may use; the default for orders)
    role = "orders"                ("orders" or "dropcopy")
    allowed = ["D", "F", "G", "H"] (message types the session may send)
    clients = []                   (drop copy: only these clients; empty = all)
    heartbeat_s = 30               username = ""   password = ""   (4.4 Logon credentials, optional)

    [fixgw.venuegw]
    kind = "venue"
    begin = "FIX.4.2"              (the venue sessions' FIX version; venues and sessions come from the reference data)
    heartbeat_s = 30
    tls = false                    tls_ca = ""   (optional CA file to check the venue's certificate)
    [[fixgw.venuegw.sessions]]     (optional overrides for one session)
    venue = "XNAS"   session = "S1"   begin = "FIX.4.4"   sender = ""   target = ""   host = ""   port = 0
"""
from __future__ import annotations

import re
import ssl
import tomllib

from sequencer.config import ConfigError, _check, app_config, find_line, load

from .client_gateway import ORDER_TYPES, ClientGateway, ClientSession
from .gateway import parse_schedule
from .session import SessionConfig
from .venue_gateway import VenueGateway, VenueSessionSettings

VERSIONS = ("FIX.4.2", "FIX.4.4")
_CLIENT = {"kind": str, "listen": str, "oms": str, "schedule": str, "tls_cert": str, "tls_key": str,
           "sending_time_tolerance_s": int, "sessions": list}
_CLIENT_SESSION = {"target": str, "sender": str, "begin": str, "client": str, "account": str, "role": str,
                   "allowed": list, "clients": list, "heartbeat_s": int, "username": str, "password": str}
_VENUE = {"kind": str, "oms": str, "schedule": str, "begin": str, "heartbeat_s": int, "tls": bool, "tls_ca": str,
          "sessions": list}
_VENUE_SESSION = {"venue": str, "session": str, "begin": str, "sender": str, "target": str, "host": str, "port": int,
                  "heartbeat_s": int}


def _session_line(text: str, table: str, index: int, key: str) -> int | None:
    """The line of ``key`` in the index-th ``[[table]]`` block (or of the block's header)."""
    n = -1
    header = None
    for i, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if re.match(rf"^\[\[\s*{re.escape(table)}\s*\]\]$", s):
            n += 1
            if n == index:
                header = i
            elif n > index:
                break
        elif n == index and re.match(r"^\[", s):
            break
        elif n == index and re.match(rf"^\"?{re.escape(key)}\"?\s*=", s):
            return i
    return header


def _check_block(text, path, table, index, data, schema) -> None:
    try:
        _check(text, path, table, data, schema)
    except ConfigError as e:
        key = next((k for k in data if k not in schema or not isinstance(data[k], schema[k])), "")
        msg = str(e).split(": ", 1)[1] if ": " in str(e) else str(e)
        raise ConfigError(path, _session_line(text, table, index, key), f"{msg} (session {index + 1})") from None


def _version(text, path, table, begin, line) -> str:
    if begin not in VERSIONS:
        raise ConfigError(path, line, f"[{table}] begin must be one of {', '.join(VERSIONS)}, not {begin!r}")
    return begin


def build(path: str, name: str):
    """The gateway called ``name`` in the config file at ``path``, ready to ``run``."""
    cfg = load(path)
    text = open(path, encoding="utf-8", errors="replace").read()
    data = tomllib.loads(text)
    table = f"fixgw.{name}"
    g = data.get("fixgw", {}).get(name)
    if not isinstance(g, dict):
        raise ConfigError(path, None, f"no [{table}] section")
    app = app_config(cfg, name, "the gateway's sequencer credentials")
    kind = g.get("kind", "")
    if kind == "client":
        return _client(text, path, table, g, cfg, app)
    if kind == "venue":
        return _venue(text, path, table, g, cfg, app)
    raise ConfigError(path, find_line(text, table, "kind"), f"[{table}] kind must be \"client\" or \"venue\", "
                                                             f"not {kind!r}")


def _schedule(text, path, table, g) -> str:
    try:
        parse_schedule(g.get("schedule", ""))
    except ValueError as e:
        raise ConfigError(path, find_line(text, table, "schedule"), str(e)) from None
    return g.get("schedule", "")


def _client(text, path, table, g, cfg, app) -> ClientGateway:
    _check(text, path, table, g, _CLIENT)
    host, _, port = g.get("listen", "").rpartition(":")
    if not port.isdigit():
        raise ConfigError(path, find_line(text, table, "listen"), f"[{table}] listen must be HOST:PORT")
    sessions = []
    sub = f"{table}.sessions"
    for i, s in enumerate(g.get("sessions", [])):
        _check_block(text, path, sub, i, s, _CLIENT_SESSION)
        for k in ("target", "sender"):
            if not s.get(k):
                raise ConfigError(path, _session_line(text, sub, i, k), f"[[{sub}]] {i + 1} needs {k}")
        begin = _version(text, path, sub, s.get("begin", "FIX.4.4"), _session_line(text, sub, i, "begin"))
        role = s.get("role", "orders")
        if role not in ("orders", "dropcopy"):
            raise ConfigError(path, _session_line(text, sub, i, "role"), f"role must be \"orders\" or \"dropcopy\", "
                                                                          f"not {role!r}")
        allowed = s.get("allowed", list(ORDER_TYPES))
        bad = [t for t in allowed if t not in ORDER_TYPES]
        if bad:
            raise ConfigError(path, _session_line(text, sub, i, "allowed"),
                              f"allowed message types are {', '.join(ORDER_TYPES)}, not {bad[0]!r}")
        sc = SessionConfig(begin, s["sender"], s["target"], heartbeat_s=s.get("heartbeat_s", 30),
                           username=s.get("username", ""), password=s.get("password", ""),
                           sending_time_tolerance_s=g.get("sending_time_tolerance_s", 120))
        sessions.append(ClientSession(sc, s.get("client", ""), s.get("account", ""), role, allowed,
                                      s.get("clients", [])))
    if not sessions:
        raise ConfigError(path, find_line(text, table, "kind"), f"[{table}] has no [[{sub}]]")
    tls = None
    if g.get("tls_cert"):
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            tls.load_cert_chain(g["tls_cert"], g.get("tls_key") or None)
        except (OSError, ssl.SSLError) as e:
            raise ConfigError(path, find_line(text, table, "tls_cert"), f"cannot load the TLS certificate: {e}") \
                from None
    try:
        return ClientGateway(app.name, app.password, cfg.host, cfg.port, (host or "127.0.0.1", int(port)), sessions,
                             g.get("oms", "oms"), _schedule(text, path, table, g), tls)
    except ValueError as e:
        raise ConfigError(path, find_line(text, table, "sessions"), str(e)) from None


def _venue(text, path, table, g, cfg, app) -> VenueGateway:
    _check(text, path, table, g, _VENUE)
    default = VenueSessionSettings(_version(text, path, table, g.get("begin", "FIX.4.2"),
                                            find_line(text, table, "begin")), g.get("heartbeat_s", 30))
    overrides = {}
    sub = f"{table}.sessions"
    for i, s in enumerate(g.get("sessions", [])):
        _check_block(text, path, sub, i, s, _VENUE_SESSION)
        if not s.get("venue") or not s.get("session"):
            raise ConfigError(path, _session_line(text, sub, i, "venue"), f"[[{sub}]] {i + 1} needs venue and session")
        overrides[f"{s['venue']}:{s['session']}"] = VenueSessionSettings(
            _version(text, path, sub, s.get("begin", default.begin), _session_line(text, sub, i, "begin")),
            s.get("heartbeat_s", default.heartbeat_s), s.get("sender", ""), s.get("target", ""), s.get("host", ""),
            s.get("port", 0))
    tls = None
    if g.get("tls"):
        tls = ssl.create_default_context(cafile=g.get("tls_ca") or None)
    return VenueGateway(app.name, app.password, cfg.host, cfg.port, g.get("oms", "oms"), default, overrides,
                        _schedule(text, path, table, g), tls)
