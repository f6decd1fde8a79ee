"""``seqtrade report clock``: clock synchronisation of the day, from the sequencer's ``ClockSample`` records (the
host time source as the kernel's NTP discipline reports it, see ``sequencer/hostclock.py``).

CAT (NMS Plan 6.8(a), FINRA 6820) and FINRA 4590 want business clocks within 50 ms of NIST, checked through the
day, with a log of the results and of any time the clock drifted past the tolerance. For each host: samples, the
share synchronised, max and p99 of |offset| and of the kernel's maximum error bound, and every breach: a sample not
synchronised at all, or whose |offset| or error bound exceeds the tolerance."""
from __future__ import annotations

import os

from .daylog import DayLog, et

TOLERANCE_NS = 50_000_000


def _p99(xs: list[int]) -> int:
    xs = sorted(xs)
    return xs[min(int(len(xs) * 0.99), len(xs) - 1)] if xs else 0


def report(log: DayLog) -> tuple[str, str, int]:
    """(text, csv, breaches)."""
    lines = [f"Clock synchronisation report, trading day {log.trading_day} (tolerance 50 ms against the reference)",
             ""]
    csv = ["time_et,host,synced,offset_ns,max_error_ns,breach"]
    hosts: dict[str, list] = {}
    breaches = 0
    for ts, s in log.clock:
        breach = (not s.synced) or abs(s.offset_ns) > TOLERANCE_NS or s.max_error_ns > TOLERANCE_NS
        breaches += breach
        hosts.setdefault(s.host, []).append((ts, s, breach))
        csv.append(f"{et(ts).strftime('%H:%M:%S')},{s.host},{str(s.synced).lower()},{s.offset_ns},"
                   f"{s.max_error_ns},{'Y' if breach else 'N'}")
    if not hosts:
        lines.append("NO CLOCK SAMPLES in this log: the clock cannot be shown to have been synchronised.")
    for host in sorted(hosts):
        xs = hosts[host]
        offs = [abs(s.offset_ns) for _, s, _ in xs]
        errs = [s.max_error_ns for _, s, _ in xs if s.max_error_ns >= 0]
        synced = sum(1 for _, s, _ in xs if s.synced)
        bad = [(ts, s) for ts, s, b in xs if b]
        lines += [f"host {host}: {len(xs)} samples from {et(xs[0][0]).strftime('%H:%M:%S')} to "
                  f"{et(xs[-1][0]).strftime('%H:%M:%S')} ET, synchronised {synced}/{len(xs)}",
                  f"  |offset|  max {max(offs) / 1e6:.3f} ms  p99 {_p99(offs) / 1e6:.3f} ms",
                  f"  max error bound  max {max(errs, default=0) / 1e6:.3f} ms  p99 {_p99(errs) / 1e6:.3f} ms",
                  f"  breaches: {len(bad)}" + (" - WITHIN TOLERANCE ALL DAY" if not bad else "")]
        for ts, s in bad[:20]:
            why = "not synchronised (no time source disciplining the clock)" if not s.synced else \
                f"offset {s.offset_ns / 1e6:.3f} ms, error bound {s.max_error_ns / 1e6:.3f} ms"
            lines.append(f"    {et(ts).strftime('%H:%M:%S')} {why}")
        if len(bad) > 20:
            lines.append(f"    ... {len(bad) - 20} more in the CSV")
    lines.append("")
    lines.append(f"result: {'BREACHES: ' + str(breaches) if breaches else 'no breach'}")
    return "\n".join(lines) + "\n", "\n".join(csv) + "\n", breaches


def write(log: DayLog, out_dir: str) -> str:
    os.makedirs(out_dir, exist_ok=True)
    text, csv, _ = report(log)
    path = os.path.join(out_dir, f"clock-sync-{log.trading_day}.txt")
    with open(path, "w") as f:
        f.write(text)
    with open(os.path.join(out_dir, f"clock-sync-{log.trading_day}.csv"), "w") as f:
        f.write(csv)
    return path
