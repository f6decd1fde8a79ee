"""The desk's screen end to end in a real browser: Debian's Chromium driven by Playwright (no browser download)
against the web gateway as a real process, reading a real sequencer. Signed-in users see their desk's orders appear
and fill in the AG Grid blotter, positions and P&L, and a stale-data warning when the gateway goes away; a user of
another desk does not see the order. Also the gateway's WebSocket without a browser: snapshot, then batched deltas
only of the rows the user may see."""
from __future__ import annotations

import asyncio
import json
import os
import shutil

import pytest

from seqtrade.localcluster import LocalCluster
from seqtrade.procs import free_port
from sequencer import messages as M
from sequencer.secrets import hash_password

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AG_GRID = os.path.join(ROOT, "web", "node_modules", "ag-grid-community", "dist", "ag-grid-community.min.js")
PX = M.PRICE_SCALE


def submit(c, app, *msgs) -> None:
    """As ``c.submit``, from a thread of its own: Playwright's sync API keeps an event loop on this one."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(1) as pool:
        pool.submit(c.submit, app, *msgs).result(timeout=30)


def users_file(path: str) -> str:
    with open(path, "w") as f:
        f.write(f"""[users.alice]
password_hash = "{hash_password('alice-pw')}"
desk = "desk1"
roles = ["trader"]

[users.bob]
password_hash = "{hash_password('bob-pw')}"
desk = "desk2"
roles = ["trader"]

[users.rita]
password_hash = "{hash_password('rita-pw')}"
desk = "all"
roles = ["risk"]

[users.sam]
password_hash = "{hash_password('sam-pw')}"
desk = "desk1"
roles = ["supervisor"]
""")
    return path


# the cluster file's rules for the screen: which desk sees which clients, and which roles may do what
SCREEN = """
[screen.desks.desk1]
clients = ["CLIENT1"]

[screen.desks.desk2]
clients = ["CLIENT2"]

[screen.rights]
cancel = ["trader", "risk"]
pause = ["trader"]
resume = ["trader"]
kill = ["risk"]
release = ["risk"]
"""


def er(order_id, cl, client, cum, status, exec_type, last=0):
    return M.ExecReport(client, order_id, cl, "", f"X-{order_id}-{cum}-{exec_type}", exec_type, status, "AAPL", "1",
                        1000, 101 * PX, cum, 1000 - cum, cum * 100 * PX, last, 100 * PX if last else 0,
                        "XNAS" if last else "", ord_type="2", strategy="VWAP")


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("web"))
    c = LocalCluster(d)
    c.app("oms", role="oms")
    c.app("clientgw", role="client-gateway")
    c.app("positions", role="positions")
    c.app("web", role="desk")
    c.app("venuegw", role="venue-gateway")
    c.extra = SCREEN
    c.start_sequencer()
    port = free_port()
    try:
        c.start("web", "web", "--config", c.config, "--name", "web", "--users", users_file(os.path.join(d, "u.toml")),
                "--listen", f"127.0.0.1:{port}", wait_port=port)
        c.submit("clientgw", M.NewOrder("CLIENT1", "W-1", "AAPL", "1", 1000, "2", 101 * PX, strategy="VWAP"),
                 M.NewOrder("CLIENT2", "W-2", "AAPL", "1", 1000, "2", 101 * PX, strategy="VWAP"))
        c.submit("oms", er("O9", "W-1", "CLIENT1", 0, "0", "0"), er("O10", "W-2", "CLIENT2", 0, "0", "0"))
        yield c, f"http://127.0.0.1:{port}"
    finally:
        c.stop_all()


async def _ws_session(base: str, user: str, password: str, n: int) -> list[dict]:
    import aiohttp
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:   # cookies for an IP host
        async with s.post(base + "/login", data={"user": user, "password": password}, allow_redirects=False) as r:
            assert r.status == 302 and r.headers["Location"] == "/"
        out = []
        async with s.ws_connect(base.replace("http", "ws") + "/ws") as ws:
            while len(out) < n:
                m = json.loads((await ws.receive(timeout=10)).data)
                if m["type"] != "heartbeat":
                    out.append(m)
        return out


def test_the_websocket_sends_a_snapshot_then_batched_deltas_of_the_user_s_rows_only(desk):
    c, base = desk

    async def go():
        task = asyncio.create_task(_ws_session(base, "alice", "alice-pw", 2))
        await asyncio.sleep(1.0)
        await asyncio.to_thread(c.submit, "oms", er("O9", "W-1", "CLIENT1", 300, "1", "F", 300),
                                er("O10", "W-2", "CLIENT2", 500, "1", "F", 500))
        return await task
    snap, delta = asyncio.run(go())
    assert snap["type"] == "snapshot" and [r["clOrdId"] for r in snap["tables"]["orders"]] == ["W-1"]
    assert delta["type"] == "delta" and [(r["id"], r["cumQty"]) for r in delta["tables"]["orders"]] == [("O9", 300)]

    async def refused():
        import aiohttp
        async with aiohttp.ClientSession() as s:
            async with s.post(base + "/login", data={"user": "alice", "password": "nope"}, allow_redirects=False) as r:
                assert r.headers["Location"] == "/login?failed=1"
            async with s.get(base + "/ws") as r:
                assert r.status == 401
    asyncio.run(refused())


def on_the_log(c, pred, timeout: float = 10.0):
    import time
    from sequencer.log import LogReader
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        path = [os.path.join(c.seq["data_dir"], f) for f in os.listdir(c.seq["data_dir"]) if f.endswith(".log")][0]
        hits = [r for r in LogReader(path).records(1) if pred(r)]
        if hits:
            return hits
        time.sleep(0.2)
    return []


def test_actions_are_checked_against_the_user_and_sequenced_with_the_name(desk):
    c, base = desk

    async def act(user, password, action):
        import aiohttp
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            await s.post(base + "/login", data={"user": user, "password": password}, allow_redirects=False)
            async with s.ws_connect(base.replace("http", "ws") + "/ws") as ws:
                await ws.send_str(json.dumps(action))
                while True:
                    m = json.loads((await ws.receive(timeout=10)).data)
                    if m["type"] == "actionResult":
                        return m
    run = asyncio.run
    assert run(act("bob", "bob-pw", {"action": "cancel", "orderId": "O9"}))["text"] == "no such order on your desk"
    assert run(act("sam", "sam-pw", {"action": "cancel", "orderId": "O9"}))["text"] == \
        "cancel needs the role trader or risk; you have supervisor"
    assert run(act("bob", "bob-pw", {"action": "kill", "client": "*"}))["text"] == \
        "kill needs the role risk; you have trader"
    assert run(act("rita", "rita-pw", {"action": "pause", "orderId": "O9"}))["text"] == \
        "pause needs the role trader; you have risk"                  # the rules in the cluster file, not defaults
    assert run(act("alice", "alice-pw", {"action": "cancel_all", "client": "CLIENT2"}))["text"] == \
        "CLIENT2 is not on your desk"
    assert run(act("alice", "alice-pw", {"action": "cancel_all", "client": "CLIENT1", "text": "eod"}))["ok"]
    assert run(act("alice", "alice-pw", {"action": "pause", "orderId": "O9"}))["ok"]
    [ca] = on_the_log(c, lambda r: type(r.msg) is M.DeskCancelAll)
    assert (ca.source, ca.msg.user, ca.msg.client, ca.msg.text) == ("web", "alice", "CLIENT1", "eod")
    [pz] = on_the_log(c, lambda r: type(r.msg) is M.DeskPause)
    assert (pz.msg.user, pz.msg.order_id, pz.msg.pause) == ("alice", "O9", True)
    assert run(act("rita", "rita-pw", {"action": "kill", "client": "*"}))["ok"]
    [kill] = on_the_log(c, lambda r: type(r.msg) is M.KillSwitch)
    assert (kill.source, kill.msg.client, kill.msg.active, kill.msg.text) == ("web", "*", True,
                                                                           "kill by rita from the screen")
    assert not on_the_log(c, lambda r: type(r.msg) is M.DeskCancel and r.msg.user in ("sam",), timeout=0.5)


def test_watching_an_order_sends_its_children_and_schedule_and_asks_for_its_market_data_once(desk):
    c, base = desk
    c.submit("oms", M.ChildOrder("O9.1", "O9", "XNAS", "AAPL", "1", 300, "2", 100 * PX, "0"))
    c.submit("venuegw", M.VenueAck("O9.1", "X-1"), M.VenueFill("O9.1", "E1", 300, 100 * PX, "2"))

    async def watch(user, password, order_id, n=1):
        import aiohttp
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            await s.post(base + "/login", data={"user": user, "password": password}, allow_redirects=False)
            async with s.ws_connect(base.replace("http", "ws") + "/ws") as ws:
                await ws.send_str(json.dumps({"action": "watch", "orderId": order_id}))
                while True:
                    m = json.loads((await ws.receive(timeout=10)).data)
                    if m["type"] in ("detail", "actionResult"):
                        return m
    assert asyncio.run(watch("bob", "bob-pw", "O9"))["text"] == "no such order on your desk"
    assert not on_the_log(c, lambda r: type(r.msg) is M.MdSubscribe, timeout=0.5)   # nobody has looked yet
    d = asyncio.run(watch("sam", "sam-pw", "O9"))                 # a supervisor may look
    assert d["type"] == "detail" and d["orderId"] == "O9"
    assert [(k["id"], k["venue"], k["cumQty"], k["status"]) for k in d["children"]] == \
        [("O9.1", "XNAS", 300, "Filled")]
    assert d["executed"] and d["executed"][-1][1] == 300
    asyncio.run(watch("alice", "alice-pw", "O9"))
    subs = on_the_log(c, lambda r: type(r.msg) is M.MdSubscribe)
    assert [(r.source, r.msg.symbol) for r in subs] == [("web", "AAPL")]   # once, when someone first looked


def test_the_screen_on_tls(desk, tmp_path):
    import shutil as sh
    import ssl
    import subprocess
    if sh.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    c, _ = desk
    cert, key = str(tmp_path / "web.crt"), str(tmp_path / "web.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    cfg = str(tmp_path / "tls.toml")
    with open(c.config) as f, open(cfg, "w") as out:
        out.write(f.read().replace("[screen.rights]", f'[screen]\ntls_cert = "{cert}"\ntls_key = "{key}"\n\n'
                                                       f'[screen.rights]'))
    port = free_port()
    c.start("webtls", "web", "--config", cfg, "--name", "web", "--users", users_file(str(tmp_path / "u.toml")),
            "--listen", f"127.0.0.1:{port}", wait_port=port)

    async def fetch():
        import aiohttp
        ctx = ssl.create_default_context(cafile=cert)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            async with s.post(f"https://127.0.0.1:{port}/login", data={"user": "alice", "password": "alice-pw"},
                              allow_redirects=False, ssl=ctx) as r:
                assert r.status == 302 and "Secure" in r.headers["Set-Cookie"]
            with pytest.raises(aiohttp.ClientError):
                async with s.get(f"http://127.0.0.1:{port}/login") as r:
                    await r.read()
    try:
        asyncio.run(fetch())
    finally:
        c.stop("webtls")


def test_the_blotter_in_a_real_browser(desk):
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (.ci/run installs it with apt-get)")
    if not os.path.exists(AG_GRID):
        pytest.skip("AG Grid is not installed in web/node_modules (make test runs npm ci)")
    pw = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extras")
    c, base = desk
    with pw.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            def sign_in(user, password):
                page = browser.new_context().new_page()
                page.goto(base + "/")
                page.fill("#user", user)
                page.fill("#password", password)
                page.click("#signin")
                page.wait_for_selector("body[data-ready='1']", timeout=10_000)
                return page
            alice = sign_in("alice", "alice-pw")
            row = alice.locator("#ordersGrid .ag-row", has_text="W-1")
            row.wait_for(timeout=10_000)
            assert alice.locator("#ordersGrid .ag-row", has_text="W-2").count() == 0      # another desk's order
            submit(c, "oms", er("O9", "W-1", "CLIENT1", 1000, "2", "F", 700))
            submit(c, "positions", M.PositionUpdate("CLIENT1", "AAPL", 1000, 1000 * 100 * PX, 0, 102 * PX,
                                                   1000 * 2 * PX))
            alice.locator("#ordersGrid .ag-row.row-filled", has_text="W-1").wait_for(timeout=10_000)
            assert "1,000" in row.inner_text() or "1000" in row.inner_text()
            alice.locator("#positionsGrid .ag-row", has_text="2000.00").wait_for(timeout=10_000)
            assert alice.locator("#stale").is_hidden()
            # the apps' lag, from the sequencer's STATUS: the gateway's own connection is the one connected here
            alice.locator("#appsGrid .ag-row", has_text="web").wait_for(timeout=10_000)
            bob = sign_in("bob", "bob-pw")
            bob.locator("#ordersGrid .ag-row", has_text="W-2").wait_for(timeout=10_000)
            assert bob.locator("#ordersGrid .ag-row", has_text="W-1").count() == 0
            assert bob.locator("#positionsGrid .ag-row").count() == 0
            assert bob.locator("#risk").is_hidden()                   # no kill switch without the risk role
            # bob cancels his desk's order from the screen: sequenced with his name
            bob.locator("#ordersGrid .ag-row", has_text="W-2").locator("button.cancel").click()
            bob.wait_for_selector("#result[data-ok='1']", timeout=10_000)
            assert on_the_log(c, lambda r: type(r.msg) is M.DeskCancel and r.source == "web"
                              and (r.msg.user, r.msg.order_id) == ("bob", "O10"))
            # alice opens her order: its child orders and its executed quantity on the chart
            row.click()
            alice.locator("#childrenGrid .ag-row", has_text="O9.1").wait_for(timeout=10_000)
            alice.wait_for_selector("#executedLine", state="attached", timeout=10_000)
            assert alice.locator("#executedLine").get_attribute("points").strip()
            # right-click: the menu offers what her role may do (the cluster file's rules), and pause is sequenced
            row.click(button="right")
            alice.wait_for_selector("#menu:not([hidden])", timeout=5_000)
            offered = alice.locator("#menu div").evaluate_all("els => els.map(e => e.dataset.action)")
            assert "pause" in offered and "kill" not in offered, offered
            paused = len(on_the_log(c, lambda r: type(r.msg) is M.DeskPause, timeout=0.2))
            alice.locator("#menu div[data-action='pause']").click()
            alice.wait_for_selector("#result[data-ok='1']", timeout=10_000)
            assert len(on_the_log(c, lambda r: type(r.msg) is M.DeskPause and r.msg.user == "alice"
                                  and r.msg.order_id == "O9" and r.msg.pause)) == paused + 1
            alice.screenshot(path=os.path.join(os.environ.get("SCREENSHOT_DIR", c.dir), "desk.png"))
            c.stop("web")                                            # the gateway goes away: the screen says so
            alice.locator("#stale").wait_for(state="visible", timeout=10_000)
        finally:
            browser.close()
