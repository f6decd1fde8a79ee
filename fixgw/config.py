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
    allowed = ["D", "F", "G", "H", "q", "Q"] (message types the session may send; q OrderMassCancelRequest is 4.4 only)
    clients = []                   (drop copy: only these clients; empty = all)
    heartbeat_s = 30               username = ""   password = ""   (4.4 Logon credentials, optional)

    logon_time = "08:00-17:00"     (optional, New York time: when this session may log on)
    cancel_on_disconnect = false   (this session's client's open orders are cancelled when the session goes down,
                                    by logout or a dropped connection; also at the gateway's level for all sessions)

    Per-session FIX settings (in a [[...sessions]] block, or at the gateway's level for all its sessions; the README's
    FIX section lists each with its default per side): validate_user_defined_fields, allow_unknown_msg_fields,
    validate_fields_out_of_order, validate_fields_have_values, check_latency, max_latency_s, reset_on_logon,
    reset_on_logout, reset_on_disconnect, logon_timeout_s, logout_timeout_s, and
    dictionary = { fields = { "9100" = "STRING" }, messages = { "8" = { add = [9100], required = [], optional = [] } } }
    message_log_dir = "run/fixlog" (gateway level: where the per-session message logs go; default <run_dir>/fixlog)

    [fixgw.venuegw]
    kind = "venue"
    begin = "FIX.4.2"              (the venue sessions' FIX version; venues and sessions come from the reference data)
    heartbeat_s = 30
    tls = false                    tls_ca = ""   (optional CA file to check the venue's certificate)
    [[fixgw.venuegw.sessions]]     (optional overrides for one session)
    venue = "XNAS"   session = "S1"   begin = "FIX.4.4"   sender = ""   target = ""   host = ""   port = 0
"""
from __future__ import annotations

import dataclasses
import os
import re
import ssl
import tomllib

from sequencer.config import ConfigError, _check, app_config, find_line, load

from . import dictionary as D
from .client_gateway import ORDER_TYPES, ClientGateway, ClientSession
from .gateway import parse_schedule
from .session import SessionConfig
from .venue_gateway import VenueGateway, VenueSessionSettings

VERSIONS = ("FIX.4.2", "FIX.4.4")
# per-session FIX settings (QuickFIX's names, in snake case), allowed per session and at the gateway's level
_VALIDATION = tuple(f.name for f in dataclasses.fields(D.Validation))
_SESSION_SETTINGS = {**{k: bool for k in _VALIDATION}, "check_latency": bool, "max_latency_s": int,
                     "reset_on_logon": bool, "reset_on_logout": bool, "reset_on_disconnect": bool,
                     "logon_timeout_s": int, "logout_timeout_s": int, "dictionary": dict}
_CLIENT = {"kind": str, "listen": str, "oms": str, "schedule": str, "tls_cert": str, "tls_key": str,
           "sending_time_tolerance_s": int, "sessions": list, "message_log_dir": str, "cancel_on_disconnect": bool,
           **_SESSION_SETTINGS}
_CLIENT_SESSION = {"target": str, "sender": str, "begin": str, "client": str, "account": str, "role": str,
                   "allowed": list, "clients": list, "heartbeat_s": int, "username": str, "password": str,
                   "logon_time": str, "cancel_on_disconnect": bool, **_SESSION_SETTINGS}
_VENUE = {"kind": str, "oms": str, "schedule": str, "begin": str, "heartbeat_s": int, "tls": bool, "tls_ca": str,
          "sessions": list, "message_log_dir": str, **_SESSION_SETTINGS}
_VENUE_SESSION = {"venue": str, "session": str, "begin": str, "sender": str, "target": str, "host": str, "port": int,
                  "heartbeat_s": int, **_SESSION_SETTINGS}


def session_options(path: str, line, begin: str, g: dict, s: dict, base: D.Validation,
                    ours: dict | None = None) -> dict:
    """``SessionConfig`` keyword arguments from the gateway's and the session's settings (the session's win). The
    dictionary override is built now, so a mistake in it names the config line before anything starts."""
    merged = {k: v for k, v in g.items() if k in _SESSION_SETTINGS}
    merged.update({k: v for k, v in s.items() if k in _SESSION_SETTINGS})
    for k in ("max_latency_s", "logon_timeout_s", "logout_timeout_s"):
        if k in merged and merged[k] <= 0:
            raise ConfigError(path, line, f"{k} must be positive, not {merged[k]}")
    opts = {k: merged[k] for k in _SESSION_SETTINGS if k in merged and k not in _VALIDATION and k != "dictionary"}
    opts["validation"] = dataclasses.replace(base, **{k: merged[k] for k in _VALIDATION if k in merged})
    override = D.merge(ours, g.get("dictionary"), s.get("dictionary"))
    try:
        D.get(begin, override)
    except (D.OverrideError, TypeError, ValueError, AttributeError) as e:
        raise ConfigError(path, line, f"dictionary override: {e}") from None
    opts["dictionary"] = override
    return opts


def _message_log_dir(path: str, data: dict, g: dict) -> str:
    """Where the gateway's FIX message logs go: ``message_log_dir``, else ``<cluster run_dir>/fixlog``, relative to
    the cluster file."""
    base = os.path.dirname(os.path.abspath(path))
    d = g.get("message_log_dir") or os.path.join(data.get("cluster", {}).get("run_dir", "run"), "fixlog")
    return os.path.join(base, d)


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
        gw = _client(text, path, table, g, cfg, app)
    elif kind == "venue":
        gw = _venue(text, path, table, g, cfg, app)
    else:
        gw = None
    if gw is not None:
        gw.message_log_dir = _message_log_dir(path, data, g)
        return gw
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
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(path, find_line(text, table, "listen"), f"[{table}] listen must be HOST:PORT with a port "
                                                                  f"in 1..65535")
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
        try:
            parse_schedule(s.get("logon_time", ""))
        except ValueError as e:
            raise ConfigError(path, _session_line(text, sub, i, "logon_time"), str(e)) from None
        g2 = dict(g)
        if "sending_time_tolerance_s" in g and "max_latency_s" not in g:   # the older name
            g2["max_latency_s"] = g["sending_time_tolerance_s"]
        opts = session_options(path, _session_line(text, sub, i, "target"), begin, g2, s, D.STRICT,
                               D.SEQTRADE_CLIENT)
        sc = SessionConfig(begin, s["sender"], s["target"], heartbeat_s=s.get("heartbeat_s", 30),
                           username=s.get("username", ""), password=s.get("password", ""), **opts)
        sessions.append(ClientSession(sc, s.get("client", ""), s.get("account", ""), role, allowed,
                                      s.get("clients", []), s.get("logon_time", ""),
                                      D.merge(g.get("dictionary"), s.get("dictionary")),
                                      s.get("cancel_on_disconnect", g.get("cancel_on_disconnect", False))))
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
    begin = _version(text, path, table, g.get("begin", "FIX.4.2"), find_line(text, table, "begin"))
    default = VenueSessionSettings(begin, g.get("heartbeat_s", 30),
                                   options=session_options(path, find_line(text, table, "kind"), begin, g, {},
                                                           D.LENIENT))
    overrides = {}
    sub = f"{table}.sessions"
    for i, s in enumerate(g.get("sessions", [])):
        _check_block(text, path, sub, i, s, _VENUE_SESSION)
        if not s.get("venue") or not s.get("session"):
            raise ConfigError(path, _session_line(text, sub, i, "venue"), f"[[{sub}]] {i + 1} needs venue and session")
        sbegin = _version(text, path, sub, s.get("begin", default.begin), _session_line(text, sub, i, "begin"))
        overrides[f"{s['venue']}:{s['session']}"] = VenueSessionSettings(
            sbegin, s.get("heartbeat_s", default.heartbeat_s), s.get("sender", ""), s.get("target", ""),
            s.get("host", ""), s.get("port", 0),
            session_options(path, _session_line(text, sub, i, "venue"), sbegin, g, s, D.LENIENT))
    tls = None
    if g.get("tls"):
        tls = ssl.create_default_context(cafile=g.get("tls_ca") or None)
    return VenueGateway(app.name, app.password, cfg.host, cfg.port, g.get("oms", "oms"), default, overrides,
                        _schedule(text, path, table, g), tls)
