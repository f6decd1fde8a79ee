"""The desk's screen under load: row updates per second delivered to a real browser, and the delay from a sequenced
execution report to its row changing on screen, with the web gateway's CPU. Real processes: a sequencer, the web
gateway (``seqtrade web``), this process as the OMS (it sequences ExecReports for ``--orders`` orders at ``--rate``
row updates a second for ``--seconds``), Debian's Chromium driven by Playwright showing the blotter, and a plain
WebSocket client (aiohttp) as the peer: the same deltas without a browser, so the ratio says what rendering costs.

The delay is measured on one clock: the record's sequenced time (the sequencer's real clock at speed 1) against the
browser's ``Date.now()`` when the grid applied the row (``window.seqtradeStats``), on the same host.

Last line: ``web_rows_per_s=<N> web_delay_p99_ms=<X> ws_delay_p99_ms=<Y>``. Four processes on 2 cores.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from seqtrade.localcluster import LocalCluster  # noqa: E402
from seqtrade.procs import free_port  # noqa: E402
from sequencer import messages as M  # noqa: E402
from sequencer.client import connect  # noqa: E402
from sequencer.secrets import hash_password  # noqa: E402

PX = M.PRICE_SCALE


def report(order_id: str, cum: int) -> M.ExecReport:
    return M.ExecReport("CLIENT1", order_id, f"C{order_id}", "", f"X{order_id}-{cum}", "F" if cum else "0",
                        "1" if cum else "0", "AAPL", "1", 10**9, 100 * PX, cum, 10**9 - cum, cum * 100 * PX,
                        1 if cum else 0, 100 * PX if cum else 0, "XNAS" if cum else "", ord_type="2", strategy="VWAP")


async def feed(port: int, password: str, orders: int, rate: int, seconds: float) -> int:
    """As the OMS: one New per order, then ``rate`` fills a second spread over the orders, in 20 ms batches."""
    conn, welcome = await connect("127.0.0.1", port, "oms", password)
    n = welcome.last_source_seq
    for i in range(orders):
        n += 1
        conn.submit(n, M.tag_of(report(f"O{i}", 0)), M.encode(report(f"O{i}", 0)))
    conn.flush()
    await asyncio.sleep(2.0)                         # the screen shows every order before the clock starts
    sent, t0 = 0, time.monotonic()
    per_batch = max(rate // 50, 1)
    while time.monotonic() - t0 < seconds:
        for _ in range(per_batch):
            sent += 1
            m = report(f"O{sent % orders}", sent)
            n += 1
            conn.submit(n, M.tag_of(m), M.encode(m))
        conn.flush()
        await asyncio.sleep(max(t0 + sent / rate - time.monotonic(), 0))
    await asyncio.sleep(1.0)
    conn.close()
    return sent


async def ws_peer(base: str, stop: threading.Event, delays: list) -> None:
    import aiohttp
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        await s.post(base + "/login", data={"user": "desk", "password": "bench"}, allow_redirects=False)
        async with s.ws_connect(base.replace("http", "ws") + "/ws") as ws:
            while not stop.is_set():
                try:
                    msg = await ws.receive(timeout=0.5)
                except asyncio.TimeoutError:
                    continue
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                m = json.loads(msg.data)
                if m["type"] == "delta":
                    now = time.time_ns()
                    delays += [(now - r["updated"]) / 1e6 for r in m["tables"].get("orders", []) if r.get("cumQty")]


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(xs: list, p: float) -> float:
    xs = sorted(xs)
    return xs[min(int(len(xs) * p), len(xs) - 1)] if xs else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=500)
    ap.add_argument("--rate", type=int, default=1000, help="row updates a second to send")
    ap.add_argument("--seconds", type=float, default=10.0)
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright
    d = tempfile.mkdtemp(prefix="bench-web-")
    c = LocalCluster(d)
    c.app("oms", role="oms")
    c.app("web", role="desk")
    users = os.path.join(d, "users.toml")
    with open(users, "w") as f:
        f.write(f'[users.desk]\npassword_hash = "{hash_password("bench")}"\ndesk = "all"\nroles = ["trader"]\n')
    c.start_sequencer()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    try:
        web = c.start("web", "web", "--config", c.config, "--users", users, "--listen", f"127.0.0.1:{port}",
                      wait_port=port)
        stop, ws_delays = threading.Event(), []
        peer = threading.Thread(target=lambda: asyncio.run(ws_peer(base, stop, ws_delays)), daemon=True)
        peer.start()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1400, "height": 800})
            page.goto(base + "/")
            page.fill("#user", "desk")
            page.fill("#password", "bench")
            page.click("#signin")
            page.wait_for_selector("body[data-ready='1']")
            result = {}
            feeder = threading.Thread(target=lambda: result.update(
                sent=asyncio.run(feed(c.port, "pw-oms", a.orders, a.rate, a.seconds))))
            cpu0, t0 = cpu_s(web.pid), time.monotonic()
            feeder.start()
            while feeder.is_alive():
                page.wait_for_timeout(200)       # the browser keeps working while this thread waits
            wall, cpu = time.monotonic() - t0, cpu_s(web.pid) - cpu0
            stats = page.evaluate("window.seqtradeStats")
            browser.close()
        stop.set()
        peer.join(5)
    finally:
        c.stop_all()
    delays = stats["delaysMs"][a.orders:] if len(stats["delaysMs"]) > a.orders else stats["delaysMs"]
    rows = len(delays)
    print(f"sent {result['sent']:,} row updates at {a.rate:,}/s for {a.seconds:g}s over {a.orders} orders; "
          f"the browser applied {rows:,} ({rows / a.seconds:,.0f}/s; batched by the gateway every 50 ms)")
    print(f"sequenced report -> row on screen: p50 {pct(delays, 0.5):.1f} ms, p99 {pct(delays, 0.99):.1f} ms; "
          f"peer, plain WebSocket client: p50 {pct(ws_delays, 0.5):.1f} ms, p99 {pct(ws_delays, 0.99):.1f} ms "
          f"(ratio browser/peer p99 {pct(delays, 0.99) / max(pct(ws_delays, 0.99), 1e-9):.2f})")
    print(f"web gateway CPU: {cpu:.1f} s over {wall:.1f} s ({100 * cpu / wall:.0f}% of one core); 4 processes "
          f"(sequencer, gateway, this feeder, Chromium) on 2 cores")
    print(f"web_rows_per_s={rows / a.seconds:.0f} web_delay_p99_ms={pct(delays, 0.99):.1f} "
          f"ws_delay_p99_ms={pct(ws_delays, 0.99):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
