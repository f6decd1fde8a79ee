"""Submit a list of messages as one source and wait until the last is sequenced: for one-shot jobs such as the
start-of-day reference data load. Re-running is safe: the sequencer drops source_seqs it already has, so only what
is missing is sent."""
from __future__ import annotations

import asyncio

from . import messages
from .client import connect


async def submit_all(host: str, port: int, name: str, password: str, msgs: list, timeout: float = 30.0) -> tuple:
    """Returns ``(already, sent, last_seq)``: how many were already in the log, how many we sent, and the seq of the
    last one (0 if nothing needed sending)."""
    done = asyncio.get_running_loop().create_future()
    want = len(msgs)

    def on_records(recs):
        for r in recs:
            if r.source == name and r.source_seq >= want and not done.done():
                done.set_result(r.seq)

    conn, welcome = await connect(host, port, name, password, on_records=on_records)
    try:
        already = min(welcome.last_source_seq, want)
        if already >= want:
            return already, 0, 0
        conn.subscribe(welcome.head_seq + 1)
        for i, m in enumerate(msgs[already:], already + 1):
            conn.submit(i, messages.tag_of(m), messages.encode(m))
        conn.flush()
        last = await asyncio.wait_for(done, timeout)
        return already, want - already, last
    finally:
        conn.close()
