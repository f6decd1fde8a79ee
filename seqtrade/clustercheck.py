"""``seqtrade cluster check``: the whole cluster file checked before anything starts, and the security warnings an
operator should see (secrets readable by others, passwords in clear, a plain sequencer link across hosts).

Errors (a mistake in any section, a FIX gateway that would not start) exit 2 naming the file and line; warnings are
printed and exit 0, since a single-host trial cluster may accept them.
"""
from __future__ import annotations

import os
import stat

from oms.risk import CONFIG_NAME, REQUIRED
from sequencer.config import ConfigError

from .clusterconfig import Cluster


def warnings(c: Cluster) -> list[str]:
    out = []
    mode = stat.S_IMODE(os.stat(c.path).st_mode)
    clear = sorted(name for name, app in c.seq.apps.items() if app.password)
    if clear and mode & 0o044:
        out.append(f"{c.path} (mode {mode:o}) holds the clear passwords of {', '.join(clear)} and is readable by "
                   f"{'others' if mode & 0o004 else 'its group'}: chmod 600 it, or give each app a password_hash and "
                   f"a secret_file (seqtrade secret hash)")
    elif clear:
        out.append(f"{c.path} holds clear passwords ({', '.join(clear)}); every process that reads it can act as "
                   f"any app: prefer password_hash with a secret_file per process")
    base = os.path.dirname(os.path.abspath(c.path))
    for name, app in sorted(c.seq.apps.items()):
        if app.secret_file:
            path = app.secret_file if os.path.isabs(app.secret_file) else os.path.join(base, app.secret_file)
            if not os.path.exists(path):
                out.append(f"[apps.{name}] secret_file {path} does not exist")
            elif stat.S_IMODE(os.stat(path).st_mode) & 0o077:
                out.append(f"[apps.{name}] secret_file {path} is readable by group or others: chmod 600 it")
    hosts = {p.host for p in c.processes}
    if len(hosts) > 1 and not c.seq.tls_cert:
        out.append(f"processes run on {len(hosts)} hosts ({', '.join(sorted(hosts))}) and the sequencer link is "
                   f"plain TCP: set [sequencer] tls_cert, tls_key and tls_ca")
    firm = next((lim for lim in c.limits if lim.client == "*"), None)
    unset = [CONFIG_NAME.get(f, f) for f in REQUIRED if firm is None or getattr(firm, f) == 0]
    if unset:
        out.append(f"[risk.firm] does not set {', '.join(unset)}: orders from clients without a [risk.CLIENT] "
                   f"table setting them are refused (NO_LIMITS); set each to a value or \"unlimited\"")
    if c.seq.tls_cert and not c.seq.tls_ca:
        out.append("[sequencer] TLS without tls_ca: clients are not asked for certificates")
    return out


def run(c: Cluster) -> int:
    from fixgw import config as fixgw_config
    for p in c.processes:
        if p.kind == "fixgw":       # build each gateway as its process would, so a mistake shows now, not at 09:29
            try:
                fixgw_config.build(c.path, p.name)
            except ConfigError as e:
                print(f"seqtrade cluster check: error: {e}")
                return 2
        if p.kind == "web":        # the screen's rules, its users and their desks
            from web import permissions, users
            try:
                rules = permissions.load(c.path)
                permissions.check_desks(rules, users.load(c.at(p.users)), c.at(p.users))
                permissions.server_context(rules, c.path)
            except (ConfigError, ValueError) as e:
                print(f"seqtrade cluster check: error: {e}")
                return 2
    found = warnings(c)
    for w in found:
        print(f"warning: {w}")
    print(f"{c.path}: {len(c.processes)} processes, {len(c.seq.apps)} apps checked; {len(found)} warning(s)")
    return 0
