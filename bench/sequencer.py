"""Sequencer benchmark: the real sequencer process, real client processes, loopback TCP.

Throughput: one producer process submits N messages with 64-byte payloads in batches as fast as the sequencer
takes them; one subscriber process receives them (checking every record's CRC, as an app does). The figure is
messages delivered to the subscriber per second, with fsync per batch (the default durability).

Latency: one process submits at a fixed rate (default 10,000 msgs/s) and is also subscribed; each payload carries its
send time, and submit-to-delivery is measured on the same host clock in the same process.

Redis Streams, where redis-server is installed: the same shapes (XADD pipelined in the same batch size from
pre-encoded RESP on a raw socket, XREAD COUNT 10000 by a second process with redis-py and its hiredis parser), with
appendonly + appendfsync always, the closest Redis setting to fsync per batch.

Three processes (sequencer, producer, subscriber) share this machine's cores: see the line printed first.

Prints as its last line: sequenced_msgs_per_s=<N> p50_us=<X> p99_us=<Y> p999_us=<Z> [redis_streams_msgs_per_s=<N>]
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from sequencer import messages as M, protocol, record  # noqa: E402
from seqtrade import procs  # noqa: E402
from bench.sequencer_core import fdatasync_us  # noqa: E402

BLOB = M.tag_of(M.Blob(0, b""))
PAD = b"x" * 49  # Blob(t_ns, PAD) encodes to 64 bytes
BATCH = 1000


def _hello(sock, app, pw):
    sock.sendall(protocol.frame(protocol.HELLO, protocol.encode(protocol.Hello(app, pw, M.SCHEMA_VERSION))))
    reader = protocol.FrameReader()
    while True:
        frames = reader.feed(sock.recv(65536))
        for kind, body in frames:
            if kind == protocol.ERROR:
                raise SystemExit(f"sequencer refused {app}: {body.decode()}")
            if kind == protocol.WELCOME:
                return protocol.decode_welcome(body), reader


def _connect(port, app, pw):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    w, reader = _hello(s, app, pw)
    return s, w, reader


def role_producer(port, n):
    s, w, _ = _connect(port, "producer", "bench")
    payload = M.encode(M.Blob(time.monotonic_ns(), PAD))
    assert len(payload) == 64
    sseq = w.last_source_seq
    sent = 0
    while sent < n:
        k = min(BATCH, n - sent)
        s.sendall(protocol.frame(protocol.SUBMIT, protocol.encode_items(
            (sseq + i, BLOB, payload) for i in range(1, k + 1))))
        sseq += k
        sent += k
    time.sleep(0.5)
    s.close()


def role_subscriber(port, n, out):
    s, w, reader = _connect(port, "subscriber", "bench")
    s.sendall(protocol.frame(protocol.SUBSCRIBE, protocol.U64.pack(w.head_seq + 1)))
    got = 0
    first = None
    while got < n:
        data = s.recv(1 << 20)
        if not data:
            raise SystemExit("sequencer closed the subscription")
        for kind, body in reader.feed(data):
            if kind == protocol.RECORDS:
                recs, _ = record.parse(body)  # CRC-checked, decoded headers: what an app's runtime does
                for r in recs:
                    if r.type == BLOB:
                        if first is None:
                            first = time.monotonic_ns()
                        got += 1
    elapsed = (time.monotonic_ns() - first) / 1e9
    with open(out, "w") as f:
        f.write(f"{got} {elapsed}\n")


def role_latency(port, rate, seconds, out):
    """Submit at ``rate``/s and receive on the same connection; record submit-to-delivery per message."""
    import selectors
    s, w, reader = _connect(port, "latency", "bench")
    s.sendall(protocol.frame(protocol.SUBSCRIBE, protocol.U64.pack(w.head_seq + 1)))
    s.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ)
    sseq = w.last_source_seq
    total = int(rate * seconds)
    lat = []
    start = time.monotonic_ns()
    interval = 1_000_000_000 / rate
    sent = 0
    warmup = rate // 2
    while len(lat) < total - warmup:
        now = time.monotonic_ns()
        due = min(total, int((now - start) / interval) + 1)
        if due > sent:  # send what is due now (usually one; more if we fell behind)
            items = []
            for _ in range(due - sent):
                sseq += 1
                items.append((sseq, BLOB, M.encode(M.Blob(time.monotonic_ns(), PAD))))
            s.sendall(protocol.frame(protocol.SUBMIT, protocol.encode_items(items)))
            sent = due
        wait = max(0.0, (start + sent * interval - time.monotonic_ns()) / 1e9)
        for _key, _ev in sel.select(timeout=wait if sent < total else 0.1):
            data = s.recv(1 << 20)
            now = time.monotonic_ns()
            for kind, body in reader.feed(data):
                if kind == protocol.RECORDS:
                    for r in record.parse(body)[0]:
                        if r.type == BLOB and r.source == "latency":
                            if r.source_seq - w.last_source_seq > warmup:
                                lat.append(now - r.msg.t_ns)
    lat.sort()
    with open(out, "w") as f:
        f.write(" ".join(str(x) for x in lat))


CONFIG = """
[sequencer]
host = "127.0.0.1"
port = {port}
data_dir = "{data}"
trading_day = "20260105"
fsync = "{fsync}"
clock_interval_ms = 100
validate_payloads = {validate}
[apps.producer]
password = "bench"
role = "sample"
[apps.subscriber]
password = "bench"
[apps.latency]
password = "bench"
role = "sample"
"""


def child(*args):
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), *args], cwd=ROOT)


def reader_and_producer(reader_role, producer_role, port, n, tmp) -> float:
    """Start a reader process, then a producer process; the reader's msgs/s from first to last message."""
    out = os.path.join(tmp, f"{reader_role}.txt")
    rd = child("--role", reader_role, "--port", str(port), "--n", str(n), "--out", out)
    time.sleep(0.5)  # subscribed before the first message
    pr = child("--role", producer_role, "--port", str(port), "--n", str(n))
    rd.wait(timeout=600)
    pr.wait(timeout=60)
    got, elapsed = open(out).read().split()
    return int(got) / float(elapsed)


def bench_seqtrade(n, rate, seconds, fsync, validate, tmp):
    port = procs.free_port()
    data = os.path.join(tmp, "data")
    cfg = os.path.join(tmp, "seq.toml")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(port=port, data=data, fsync=fsync, validate=str(validate).lower()))
    seq = procs.seqtrade("sequencer", "--config", cfg, log_path=os.path.join(tmp, "sequencer.out"))
    try:
        procs.wait_port("127.0.0.1", port, proc=seq)
        tput = reader_and_producer("subscriber", "producer", port, n, tmp)
        lout = os.path.join(tmp, "lat.txt")
        lat = child("--role", "latency", "--port", str(port), "--rate", str(rate), "--seconds", str(seconds),
                    "--out", lout)
        lat.wait(timeout=seconds * 10 + 60)
        lats = [int(x) for x in open(lout).read().split()]
    finally:
        procs.stop(seq)
    return tput, lats


# -- Redis Streams -------------------------------------------------------------------------------------------------

def role_redis_producer(port, n):
    """XADD pipelined in batches of BATCH, pre-encoded RESP on a raw socket: no client library cost on this side,
    so the figure is the Redis server's, not redis-py's."""
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    payload = b"x" * 64
    cmd = b"*5\r\n$4\r\nXADD\r\n$5\r\nbench\r\n$1\r\n*\r\n$1\r\nd\r\n$64\r\n" + payload + b"\r\n"
    sent = 0
    pending = b""
    while sent < n:
        k = min(BATCH, n - sent)
        s.sendall(cmd * k)
        sent += k
        replies = 0  # each reply is a bulk string: "$<len>\r\n<id>\r\n", two CRLFs
        while replies < 2 * k:
            data = pending + s.recv(1 << 20)
            if data.startswith(b"-"):
                raise SystemExit(f"redis error: {data[:200]!r}")
            c = data.count(b"\r\n")
            take = min(c, 2 * k - replies)
            # keep any bytes past the replies we wanted (none in practice: we wait for all before sending more)
            replies += take
            pending = b""
    s.close()


def role_redis_reader(port, n, out):
    import redis
    r = redis.Redis(port=port)
    last = b"0-0"
    got = 0
    first = None
    while got < n:
        resp = r.xread({"bench": last}, count=10000, block=0)
        for _stream, entries in resp:
            if first is None:
                first = time.monotonic_ns()
            got += len(entries)
            last = entries[-1][0]
    with open(out, "w") as f:
        f.write(f"{got} {(time.monotonic_ns() - first) / 1e9}\n")


def bench_redis(n, tmp):
    exe = shutil.which("redis-server")
    if exe is None:
        return None
    try:
        import redis  # noqa: F401
    except ImportError:
        print("redis-server is installed but the redis Python client is not: pip install -e '.[bench]'")
        return None
    port = procs.free_port()
    rdir = os.path.join(tmp, "redis")
    os.makedirs(rdir)
    srv = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", rdir, "--save", "",
                            "--appendonly", "yes", "--appendfsync", "always"], stdout=subprocess.DEVNULL)
    try:
        procs.wait_port("127.0.0.1", port, proc=srv)
        return reader_and_producer("redis-reader", "redis-producer", port, n, tmp)
    finally:
        srv.terminate()
        srv.wait()


def pct(sorted_ns, p):
    return sorted_ns[min(len(sorted_ns) - 1, int(len(sorted_ns) * p))] / 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--role")
    ap.add_argument("--port", type=int)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--out")
    ap.add_argument("--rate", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--fsync", default="batch")
    ap.add_argument("--no-validate", action="store_true", help="sequencer does not decode payloads")
    ap.add_argument("--no-redis", action="store_true")
    a = ap.parse_args()
    roles = {"producer": lambda: role_producer(a.port, a.n),
             "subscriber": lambda: role_subscriber(a.port, a.n, a.out),
             "latency": lambda: role_latency(a.port, a.rate, a.seconds, a.out),
             "redis-producer": lambda: role_redis_producer(a.port, a.n),
             "redis-reader": lambda: role_redis_reader(a.port, a.n, a.out)}
    if a.role:
        roles[a.role]()
        return
    print(f"machine: {os.cpu_count()} cores; sequencer, producer and subscriber are separate processes sharing them; "
          f"{a.n} msgs of 64-byte payload, batches of {BATCH}, fsync={a.fsync}, "
          f"payload validation {'off' if a.no_validate else 'on'}", flush=True)
    with tempfile.TemporaryDirectory(prefix="seqbench-") as tmp:
        print(f"this disk right now: fdatasync of an 8 KiB append averages {fdatasync_us(tmp):.0f} us "
              f"(it varies over time on this shared host; fsync per batch pays it on every batch)", flush=True)
        tput, lats = bench_seqtrade(a.n, a.rate, a.seconds, a.fsync, not a.no_validate, tmp)
        print(f"seqtrade: {tput:,.0f} msgs/s delivered; latency at {a.rate}/s over {len(lats)} msgs: "
              f"p50 {pct(lats, .5):.0f} us, p99 {pct(lats, .99):.0f} us, p99.9 {pct(lats, .999):.0f} us", flush=True)
        line = (f"sequenced_msgs_per_s={tput:.0f} p50_us={pct(lats, .5):.0f} p99_us={pct(lats, .99):.0f} "
                f"p999_us={pct(lats, .999):.0f}")
        rtput = None if a.no_redis else bench_redis(a.n, tmp)
        if rtput is not None:
            print(f"redis streams (appendfsync always): {rtput:,.0f} msgs/s delivered; "
                  f"seqtrade/redis = {tput / rtput:.2f}x", flush=True)
            line += f" redis_streams_msgs_per_s={rtput:.0f}"
        else:
            print("Redis Streams not measured (--no-redis, or redis-server not installed: apt-get install redis-server)")
    print(line)


if __name__ == "__main__":
    main()
