"""The screen's permission rules, declared in the cluster file and applied to every message both ways.

    [screen.desks.equities]          # a desk: the clients and accounts its users see ("*": every one)
    clients = ["CLIENT1", "CLIENT2"]

    [screen.rights]                  # an action: the roles that may take it (the defaults below if not given)
    cancel = ["trader", "risk"]
    kill = ["risk"]

Each user (the users file) names a desk and roles. Rows go to a browser only if they belong to the user's desk;
an action is taken only if one of the user's roles may take it and its order or client is on the desk (the firm-wide
kill switch needs a desk with "*"). A supervisor's role is in no action's list: read-only. Refusals are answered and
logged by the gateway."""
from __future__ import annotations

import os
import ssl
import tomllib
from dataclasses import dataclass

from sequencer.config import ConfigError, find_line

# every action the screen can send; "watch" asks for an order's children, fills and market (read, not write)
DEFAULT_RIGHTS: dict[str, tuple[str, ...]] = {
    "watch": ("trader", "risk", "supervisor"),
    "cancel": ("trader", "risk"),
    "cancel_all": ("trader", "risk"),
    "pause": ("trader", "risk"),
    "resume": ("trader", "risk"),
    "kill": ("risk",),
    "release": ("risk",),
}
ROLES = ("trader", "risk", "supervisor")
DEFAULT_DESKS = {"all": ("*",)}


@dataclass(frozen=True)
class Rules:
    desks: dict[str, tuple[str, ...]]
    rights: dict[str, tuple[str, ...]]
    tls_cert: str = ""
    tls_key: str = ""

    def may(self, roles, action: str) -> bool:
        return bool(set(roles) & set(self.rights.get(action, ())))

    def actions(self, roles) -> list[str]:
        return [a for a in self.rights if self.may(roles, a)]


def load(path: str) -> Rules:
    """The ``[screen]`` section of the cluster file (defaults when it has none); errors name the file and line."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
        data = tomllib.loads(raw.decode())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(path, None, str(e)) from None
    return from_dict(data.get("screen", {}), path, raw.decode())


def from_dict(screen: dict, path: str = "<config>", text: str = "") -> Rules:
    def err(table, key, msg):
        return ConfigError(path, find_line(text, table, key), f"[{table}] {msg}")
    if not isinstance(screen, dict):
        raise ConfigError(path, find_line(text, None, "screen"), "screen must be a table")
    desks = dict(DEFAULT_DESKS)
    for name, d in sorted(screen.get("desks", {}).items()):
        clients = d.get("clients") if isinstance(d, dict) else None
        if not clients or not isinstance(clients, list) or not all(isinstance(c, str) and c for c in clients):
            raise err(f"screen.desks.{name}", "clients", "needs clients = [\"CLIENT\", ...] (or [\"*\"] for all)")
        desks[name] = tuple(clients)
    rights = dict(DEFAULT_RIGHTS)
    for action, roles in sorted(screen.get("rights", {}).items()):
        if action not in DEFAULT_RIGHTS:
            raise err("screen.rights", action, f"unknown action {action!r} (actions: {', '.join(DEFAULT_RIGHTS)})")
        if not isinstance(roles, list) or not all(r in ROLES for r in roles):
            raise err("screen.rights", action, f"{action} must list roles from {', '.join(ROLES)}")
        rights[action] = tuple(roles)
    for key in ("tls_cert", "tls_key"):
        if not isinstance(screen.get(key, ""), str):
            raise err("screen", key, f"{key} must be a file path")
    if bool(screen.get("tls_cert")) != bool(screen.get("tls_key")):
        raise err("screen", "tls_cert", "TLS needs both tls_cert and tls_key")
    unknown = sorted(set(screen) - {"desks", "rights", "tls_cert", "tls_key"})
    if unknown:
        raise err("screen", unknown[0], f"unknown key {unknown[0]!r} (desks, rights, tls_cert, tls_key)")
    return Rules(desks, rights, screen.get("tls_cert", ""), screen.get("tls_key", ""))


def server_context(rules: Rules, path: str) -> ssl.SSLContext | None:
    """The screen's HTTPS context from ``[screen] tls_cert``/``tls_key`` (relative paths from the cluster file's
    directory); None for plain HTTP."""
    if not rules.tls_cert:
        return None
    base = os.path.dirname(os.path.abspath(path))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(os.path.join(base, rules.tls_cert), os.path.join(base, rules.tls_key))
    except (OSError, ssl.SSLError) as e:
        raise ConfigError(path, None, f"[screen] TLS files: {e}") from None
    return ctx


def check_desks(rules: Rules, users: dict, users_path: str) -> None:
    """Every user's desk is one the rules declare; else ``ValueError`` naming the users file and the user."""
    for u in users.values():
        if u.desk not in rules.desks:
            raise ValueError(f"{users_path}: [users.{u.name}] desk {u.desk!r} is not in [screen.desks] "
                             f"({', '.join(sorted(rules.desks))})")
