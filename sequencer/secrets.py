"""Credentials on the sequencer link: each process reads only its own secret; the cluster file need not hold any.

``[apps.NAME]`` gives the sequencer what it checks, and the app where its secret is:

* ``password_hash = "scrypt$16384$8$1$<salt>$<hash>"``: what the sequencer checks (``seqtrade secret hash`` makes
  one); or ``password = "..."`` in clear (simple, and ``seqtrade cluster check`` warns when the file is readable by
  others);
* the process's own secret: the environment variable ``SEQTRADE_SECRET_<NAME>`` (upper case, other characters as
  ``_``), else ``secret_file`` (relative to the cluster file; it must not be readable by group or others), else the
  clear ``password``.

Checks are constant-time (``hmac.compare_digest``), and scrypt makes each guess against a hash cost ~50 ms.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re

_N, _R, _P = 16384, 8, 1


class SecretError(ValueError):
    pass


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else os.urandom(16)
    h = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${h.hex()}"


def check_hash_format(stored: str) -> None:
    if not re.fullmatch(r"scrypt\$\d+\$\d+\$\d+\$[0-9a-f]{8,}\$[0-9a-f]{64}", stored):
        raise SecretError("password_hash must look like scrypt$N$r$p$<salt hex>$<hash hex> "
                          "(make one with `seqtrade secret hash`)")


def verify(password: str, clear: str = "", stored: str = "") -> bool:
    """Whether ``password`` is right, against a clear password or a stored hash, in constant time."""
    if stored:
        _, n, r, p, salt, want = stored.split("$")
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(want) // 2)
        return hmac.compare_digest(got.hex(), want)
    expected = clear or "\0" * 32      # an app with no clear password still takes the same time to refuse
    return hmac.compare_digest(password.encode(), expected.encode()) and bool(clear)


def env_name(app: str) -> str:
    return "SEQTRADE_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", app).upper()


def own_secret(app: str, clear: str, secret_file: str, config_dir: str) -> str:
    """The process's own secret: the environment, then its secret file, then the clear password."""
    from_env = os.environ.get(env_name(app))
    if from_env:
        return from_env
    if secret_file:
        path = secret_file if os.path.isabs(secret_file) else os.path.join(config_dir, secret_file)
        try:
            st = os.stat(path)
            if st.st_mode & 0o077:
                raise SecretError(f"{path}: the secret file of {app} is readable by group or others (mode "
                                  f"{st.st_mode & 0o777:o}): chmod 600 it")
            with open(path, encoding="utf-8") as f:
                secret = f.read().strip()
        except OSError as e:
            raise SecretError(f"{path}: cannot read the secret of {app}: {e.strerror}") from None
        if not secret:
            raise SecretError(f"{path}: the secret file of {app} is empty")
        return secret
    if clear:
        return clear
    raise SecretError(f"no secret for app {app!r}: set {env_name(app)}, or secret_file (or password) in "
                      f"[apps.{app}]")
