"""Client gateway throughput and NewOrderSingle-to-sequenced latency, real processes on loopback.

Starts a sequencer and one client gateway process (``seqtrade fixgw``; no OMS, so the gateway only takes orders
in). This process logs a FIX 4.4 client on through our session layer, then:

* throughput: writes ``--orders`` NewOrderSingle messages (pre-encoded, consecutive MsgSeqNums) as fast as the socket
  takes them and counts, as a subscriber of the stream, the NewOrder records the gateway got sequenced. The figure is
  orders / (last record received - first byte written): framing, parsing, dictionary validation, mapping and
  submission in the gateway, plus the sequencer's persist and publish;
* latency: ``--latency-orders`` single orders, one at a time, each timed from the moment its last byte was written
  (``perf_counter_ns``, same host) to this subscriber receiving its sequenced record.

Last line: ``fix_msgs_per_s=<N> nos_to_sequenced_p99_us=<X>``. Three processes (sequencer, gateway, this one) share
the machine's cores.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from fixgw import mapping  # noqa: E402
from fixgw.fix_client import FixClient  # noqa: E402
from fixgw.session import Session, SessionConfig, fix_time  # noqa: E402
from seqtrade.localcluster import LocalCluster  # noqa: E402
from seqtrade.procs import free_port  # noqa: E402
from sequencer import messages as M  # noqa: E402
from sequencer.client import connect  # noqa: E402

NEW_ORDER = M.TAG_OF_CLASS[M.NewOrder]


def encode_nos(seq: int, cl: str, sending_time: str) -> bytes:
    body = (f"35=D\x0149=BENCH\x0156=SEQTRADE\x0134={seq}\x0152={sending_time}\x0111={cl}\x0155=AAPL\x0154=1\x01"
            f"60={sending_time}\x0140=2\x0138=100\x0144=10.00\x0159=0\x01").encode()
    head = b"8=FIX.4.4\x019=" + str(len(body)).encode() + b"\x01"
    msg = head + body
    return msg + b"10=" + f"{sum(msg) % 256:03d}".encode() + b"\x01"


def session_layer_rate(n: int) -> float:
    """NewOrderSingle/s through the session layer and the mapping alone, in this process: framing, split, dictionary
    check, sequence checks, FIX -> NewOrder (no submit, no network). Where the gateway's time per order goes."""
    s = Session(SessionConfig("FIX.4.4", "SEQTRADE", "BENCH", heartbeat_s=600))
    now = time.time_ns()
    s.on_connect(now)
    t = fix_time(now)
    logon = (f"35=A\x0149=BENCH\x0156=SEQTRADE\x0134=1\x0152={t}\x0198=0\x01108=600\x01").encode()
    head = b"8=FIX.4.4\x019=" + str(len(logon)).encode() + b"\x01"
    s.on_data(head + logon + b"10=" + f"{sum(head + logon) % 256:03d}".encode() + b"\x01", now)
    blob = b"".join(encode_nos(2 + i, f"S{i}", t) for i in range(n))
    made = 0
    t0 = time.perf_counter()
    for i in range(0, len(blob), 65536):
        for a in s.on_data(blob[i:i + 65536], now):
            if a[0] == "app":
                mapping.client_request(a[1], mapping.values_of(a[2]), "BENCH", "")
                made += 1
    rate = made / (time.perf_counter() - t0)
    if made != n:
        raise SystemExit(f"session layer took {made} of {n} orders")
    return rate


def simplefix_parse_rate(n: int) -> float:
    """The peer: simplefix's own parser taking the same NewOrderSingle stream apart (framing and field split only,
    no validation, no session). Our session layer does that and much more; the ratio shows what the rest costs."""
    import simplefix
    t = fix_time(time.time_ns())
    blob = b"".join(encode_nos(2 + i, f"S{i}", t) for i in range(n))
    p = simplefix.FixParser()
    got = 0
    t0 = time.perf_counter()
    for i in range(0, len(blob), 65536):
        p.append_buffer(blob[i:i + 65536])
        while p.get_message() is not None:
            got += 1
    rate = got / (time.perf_counter() - t0)
    if got != n:
        raise SystemExit(f"simplefix parsed {got} of {n}")
    return rate


async def run(port: int, client_port: int, orders: int, latency_orders: int):
    count = 0
    last_ns = 0
    waiting: dict[str, asyncio.Future] = {}

    def on_records(recs):
        nonlocal count, last_ns
        now = time.perf_counter_ns()
        for r in recs:
            if r.type == NEW_ORDER:
                count += 1
                last_ns = now
                fut = waiting.pop(r.msg.cl_ord_id, None)
                if fut is not None:
                    fut.set_result(now)
    conn, welcome = await connect("127.0.0.1", port, "bench", "pw-bench", on_records=on_records)
    conn.subscribe(welcome.head_seq + 1)
    cl = FixClient(SessionConfig("FIX.4.4", "BENCH", "SEQTRADE", initiator=True, heartbeat_s=600))
    await cl.connect("127.0.0.1", client_port)
    st = cl.conn.session.st

    # throughput
    now_txt = fix_time(time.time_ns())
    blob = b"".join(encode_nos(st.next_out + i, f"T{i}", now_txt) for i in range(orders))
    st.next_out += orders
    start = time.perf_counter_ns()
    cl.conn.transport.write(blob)
    deadline = time.monotonic() + 120
    while count < orders and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    if count < orders:
        raise SystemExit(f"only {count} of {orders} orders were sequenced in 120 s")
    per_s = orders / ((last_ns - start) / 1e9)
    print(f"throughput: {orders} NewOrderSingle in {(last_ns - start) / 1e6:.0f} ms: {per_s:,.0f}/s", flush=True)

    # latency, one order at a time
    lat = []
    loop = asyncio.get_running_loop()
    for i in range(latency_orders):
        cl_id = f"L{i}"
        raw = encode_nos(st.next_out, cl_id, fix_time(time.time_ns()))
        st.next_out += 1
        fut = loop.create_future()
        waiting[cl_id] = fut
        cl.conn.transport.write(raw)
        t0 = time.perf_counter_ns()
        t1 = await asyncio.wait_for(fut, 10)
        lat.append((t1 - t0) / 1000)
        await asyncio.sleep(0.001)
    lat.sort()
    p50, p99 = lat[len(lat) // 2], lat[int(len(lat) * 0.99)]
    print(f"latency over {latency_orders} single orders: p50 {p50:.0f} us, p99 {p99:.0f} us, max {lat[-1]:.0f} us")
    await cl.close(logout=False)
    conn.close()
    return per_s, p99


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=100_000)
    ap.add_argument("--latency-orders", type=int, default=2000)
    ap.add_argument("--fsync", default="batch", choices=("batch", "interval", "never"))
    a = ap.parse_args()
    rate = session_layer_rate(20_000)
    peer = simplefix_parse_rate(20_000)
    print(f"session layer (full FIX 4.4 dictionary) + mapping alone, in-process: {rate:,.0f} NewOrderSingle/s "
          f"({1e6 / rate:.1f} us each); peer, simplefix parse only: {peer:,.0f}/s ({1e6 / peer:.1f} us); "
          f"ratio ours/peer {rate / peer:.2f}", flush=True)
    with tempfile.TemporaryDirectory() as d:
        c = LocalCluster(d, seq={"fsync": a.fsync})
        c.app("clientgw")
        c.app("bench")
        client_port = free_port()
        c.extra = f"""
[fixgw.clientgw]
kind = "client"
listen = "127.0.0.1:{client_port}"
[[fixgw.clientgw.sessions]]
target = "BENCH"
sender = "SEQTRADE"
begin = "FIX.4.4"
heartbeat_s = 600
"""
        c.start_sequencer()
        try:
            c.start("clientgw", "fixgw", "--config", c.config, "--name", "clientgw", wait_port=client_port)
            per_s, p99 = asyncio.run(run(c.port, client_port, a.orders, a.latency_orders))
        finally:
            c.stop_all()
    print(f"setup: sequencer (fsync={a.fsync}) + client gateway + this client/subscriber, 3 processes on "
          f"{os.cpu_count()} cores")
    print(f"fix_msgs_per_s={per_s:.0f} nos_to_sequenced_p99_us={p99:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
