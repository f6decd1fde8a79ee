"""Where the sequencer's time goes, piece by piece, in one process with no network: the figures behind the
"where the time goes" part of the README's performance section.

Prints: the sequencing core's rate (decode SUBMIT + checks + framing + log write, fsync off), with and without payload
validation; framing and subscriber parsing cost per record; and the average fdatasync time of this machine's disk.
Last line: core_msgs_per_s=<N> core_novalidate_msgs_per_s=<N> frame_us=<X> parse_us=<Y> fdatasync_us=<Z>
"""
from __future__ import annotations

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sequencer import messages as M, protocol, record  # noqa: E402
from sequencer.core import SequencerCore  # noqa: E402
from sequencer.log import LogWriter, log_path  # noqa: E402

N = 300_000
BATCH = 1000


def core_rate(tmp: str, validate: bool) -> tuple[float, list[bytes]]:
    w = LogWriter(log_path(tmp, "20260105"), "20260105", fsync="never", notice=lambda m: None)
    try:      # as the server runs it: with the source's message rights checked (sequencer/rights.py)
        from sequencer import rights
        core = SequencerCore(w, validate, {"p": rights.tags_of(["sample"])})
    except ImportError:   # code from before rights existed, for a before/after comparison
        core = SequencerCore(w, validate)
    payload = M.encode(M.Blob(time.monotonic_ns(), b"x" * 49))
    tag = M.tag_of(M.Blob(0, b""))
    base = core.last_source_seq("p")
    bodies = [protocol.encode_items([(base + i * BATCH + j, tag, payload) for j in range(1, BATCH + 1)])
              for i in range(N // BATCH)]
    out = []
    t = time.perf_counter()
    for b in bodies:
        core.sequence("p", protocol.decode_items(b), time.time_ns(), len(b))
        out.append(core.commit())
    rate = N / (time.perf_counter() - t)
    w.close()
    return rate, out


def fdatasync_us(directory: str, k: int = 200) -> float:
    """Average time of an 8 KiB append + fdatasync in ``directory``: what one batch's durability costs here."""
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        t = time.perf_counter()
        for _ in range(k):
            os.write(fd, b"x" * 8192)
            os.fdatasync(fd)
        return (time.perf_counter() - t) / k * 1e6
    finally:
        os.close(fd)
        os.unlink(path)


def main():
    with tempfile.TemporaryDirectory(prefix="seqcore-") as tmp:
        rate_v, batches = core_rate(os.path.join(tmp, "v"), True)
        rate_nv, _ = core_rate(os.path.join(tmp, "nv"), False)
        items = [(i, 903, b"x" * 64) for i in range(BATCH)]
        t = time.perf_counter()
        for _ in range(N // BATCH):
            record.encode_batch(1, 5, b"producer", items)
        frame_us = (time.perf_counter() - t) / N * 1e6
        t = time.perf_counter()
        n = sum(len(record.parse(b)[0]) for b in batches)
        parse_us = (time.perf_counter() - t) / n * 1e6
        sync_us = fdatasync_us(tmp)
    print(f"sequencing core (in-process, fsync off, {BATCH}-item batches): {rate_v:,.0f} msgs/s with payload "
          f"validation, {rate_nv:,.0f} without")
    print(f"framing {frame_us:.2f} us/record; subscriber parsing {parse_us:.2f} us/record; "
          f"fdatasync of an 8 KiB append {sync_us:.0f} us on average")
    print(f"core_msgs_per_s={rate_v:.0f} core_novalidate_msgs_per_s={rate_nv:.0f} frame_us={frame_us:.2f} "
          f"parse_us={parse_us:.2f} fdatasync_us={sync_us:.0f}")


if __name__ == "__main__":
    main()
