"""The screen's users: a TOML file of ``[users.NAME]`` tables, each with ``password_hash`` (scrypt, from
``seqtrade secret hash``), ``desk`` (a desk of the cluster file's ``[screen.desks]``: what the user may see) and
``roles`` (trader, risk, supervisor: what the user may do, by the cluster file's ``[screen.rights]``; see
``web/permissions.py``). Sessions expire; a mistake in the file names the file and the user."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass

from sequencer import secrets

from .permissions import ROLES


@dataclass(frozen=True)
class User:
    name: str
    password_hash: str
    desk: str
    roles: tuple[str, ...]


class UsersError(ValueError):
    pass


def load(path: str) -> dict[str, User]:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise UsersError(f"{path}: {e}") from None
    out = {}
    for name, u in sorted(data.get("users", {}).items()):
        where = f"{path}: [users.{name}]"
        if not isinstance(u, dict) or not isinstance(u.get("password_hash"), str):
            raise UsersError(f"{where} needs password_hash (seqtrade secret hash)")
        try:
            secrets.check_hash_format(u["password_hash"])
        except secrets.SecretError as e:
            raise UsersError(f"{where}: {e}") from None
        desk, roles = u.get("desk"), u.get("roles", ["trader"])
        if not isinstance(desk, str) or not desk:
            raise UsersError(f"{where} needs desk = \"<a desk of the cluster file's [screen.desks]>\"")
        bad = [r for r in roles if r not in ROLES]
        if bad:
            raise UsersError(f"{where}: unknown role {bad[0]!r} (known: {', '.join(ROLES)})")
        out[name] = User(name, u["password_hash"], desk, tuple(roles))
    if not out:
        raise UsersError(f"{path}: no [users.NAME]")
    return out


def check(users: dict[str, User], name: str, password: str) -> User | None:
    u = users.get(name)
    if u is None:
        secrets.verify(password, stored=next(iter(users.values())).password_hash)   # same work: no user probing
        return None
    return u if secrets.verify(password, stored=u.password_hash) else None
