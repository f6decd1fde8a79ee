"""``seqtrade report cat|oats|activity|clock|606|tca --log LOG --out DIR``: one post-trade job over a closed log.
Each prints one line saying what it wrote (the automated day shows it) and exits non-zero on a problem."""
from __future__ import annotations

import sys
import time

from . import activity, cat, clocksync, oats, rule606, tca
from .catvalidate import CatInvalid
from .daylog import DayLog

KINDS = ("cat", "oats", "activity", "clock", "606", "tca")


# what the library uses when nobody says: fit for tests, never for a filing (the CLI refuses them without --test-firm)
PLACEHOLDER = {"cat_submitter": "99999", "imid": "SEQT", "crd": "999999", "name": "SEQTRADE TEST BROKER"}
NEEDS_FIRM = {"cat": ("cat_submitter", "imid", "crd"), "oats": ("imid",), "606": ("name",)}


def firm_identity(kind: str, given: dict, test: bool) -> tuple[dict | None, str]:
    """The firm's identity for ``kind``: ``(identity, "")``, or ``(None, why not)`` when the report needs fields
    nobody gave (or gave as the placeholders) and this is not a test."""
    firm = {k: v for k, v in given.items() if v}
    missing = [k for k in NEEDS_FIRM.get(kind, ()) if firm.get(k, PLACEHOLDER[k]) == PLACEHOLDER[k]]
    if missing and not test:
        return None, (f"the {kind.upper()} report needs the firm's {', '.join(missing)}: set them in the cluster "
                      f"file's [firm] (--config) or pass --{missing[0].replace('_', '-')}; --test-firm uses "
                      f"placeholders for a test day")
    return {**PLACEHOLDER, **firm}, ""


def run(kind: str, log_path: str, out: str, firm: dict | None = None, test_firm: bool = False) -> int:
    ident, why = firm_identity(kind, firm or {}, test_firm)
    if ident is None:
        print(f"report {kind}: refused: {why}", file=sys.stderr)
        return 2
    submitter, imid, crd = ident["cat_submitter"], ident["imid"], ident["crd"]
    t0 = time.monotonic()
    print(f"report {kind}: reading {log_path}", file=sys.stderr, flush=True)
    log = DayLog(log_path, progress=True)
    print(f"report {kind}: {log.records:,} records, {len(log.orders)} client orders, {len(log.children):,} child "
          f"orders ({time.monotonic() - t0:.1f}s)", file=sys.stderr, flush=True)
    if kind == "cat":
        try:
            paths = cat.write(log, out, cat.CatFirm(submitter, imid, crd))
        except CatInvalid as e:
            print(f"report cat: refused, nothing written: {e}", file=sys.stderr)
            return 1
        n = sum(len(cat.read(p)) for p in paths)
        print(f"CAT: {n:,} order events validated against schema 4.1.0 in {', '.join(paths)} (+ .meta.json)")
    elif kind == "oats":
        print(f"OATS (retired format, archive only): {oats.write(log, out, imid)}")
    elif kind == "activity":
        print(f"activity report: {activity.write(log, out)}")
    elif kind == "clock":
        path = clocksync.write(log, out)
        print(f"clock sync: {clocksync.report(log)[2]} breaches of 50 ms in {len(log.clock)} samples: {path}")
    elif kind == "606":
        paths = rule606.write(log, out, ident["name"])
        print(f"606(b)(3): {len(paths)} client reports: {', '.join(paths)}")
    else:
        print(f"TCA: {tca.write(log, out)} and {len(log.orders) + 1} charts")
    return 0
