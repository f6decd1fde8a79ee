"""``seqtrade web``: the desk's screen. A reader of the stream (``[apps.NAME]`` credentials, role desk) keeps the
desk's view (``web/view.py``) and serves it with aiohttp: a sign-in page, the screen (``web/static``: AG Grid
Community, installed from the npm registry into ``web/node_modules`` at set-up), and a WebSocket that sends each
signed-in browser a snapshot of the rows it may see, then the changed rows every ``BATCH_S`` (never a flood), and a
heartbeat with the stream's head and clock every second, from which the screen shows a stale-data warning.

Every message both ways is checked against the cluster file's ``[screen]`` rules (``web/permissions.py``): rows go
only to users of the desk they belong to; actions need a role the rules allow and an order or client of the user's
desk. Allowed actions are sequenced with the user's name: cancel an order (``DeskCancel``), cancel all of a client's
(``DeskCancelAll``), pause or resume an algo order (``DeskPause``), the kill switch for a client or, from a desk of
every client, the firm (``KillSwitch``). A refused action is answered and logged.

Listening: a browser watching an order gets its children, executed quantity against its schedule, and its symbol's
NBBO; market data for a symbol nobody subscribed yet is asked for (a sequenced ``MdSubscribe``) only then.

TLS (``[screen] tls_cert``/``tls_key``) serves the screen on HTTPS, with the session cookie marked Secure. Not
deterministic and not in the replay: a gateway, like the FIX gateways."""
from __future__ import annotations

import asyncio
import json
import os
import secrets as token_source
import time

from aiohttp import WSMsgType, web

from sequencer import messages as M
from sequencer.client import connect

from . import permissions as P
from . import users as U
from .view import DeskView, visible

HERE = os.path.dirname(os.path.abspath(__file__))
STATIC = os.path.join(HERE, "static")
AG_GRID = os.path.join(HERE, "node_modules", "ag-grid-community", "dist", "ag-grid-community.min.js")
BATCH_S = 0.05
SESSION_S = 8 * 3600
COOKIE = "seqtrade_session"


class WebGateway:
    def __init__(self, name: str, password: str, host: str, port: int, users: dict[str, U.User],
                 rules: P.Rules | None = None, secure: bool = False):
        self.name, self.password, self.seq_host, self.seq_port = name, password, host, port
        self.users, self.rules, self.secure = users, rules or P.from_dict({}), secure
        self.view = DeskView()
        self.sessions: dict[str, tuple[U.User, float]] = {}        # token -> (user, expiry, monotonic)
        self.sockets: dict[web.WebSocketResponse, U.User] = {}
        self.watching: dict[web.WebSocketResponse, tuple[str, int]] = {}   # -> (order id, executed points sent)
        self.md_asked: set[str] = set()
        self.conn = None
        self.connected = False
        self.source_seq = 0

    # -- the stream ---------------------------------------------------------------------------------------------
    def _on_records(self, recs) -> None:
        for r in recs:
            self.view.apply(r)

    def _on_lost(self, *_):
        self.connected = False

    async def follow(self) -> None:
        """Subscribe from the start of the day (the view is rebuilt from the log), and again after a drop."""
        while True:
            try:
                self.view = DeskView()
                self.conn, welcome = await connect(self.seq_host, self.seq_port, self.name, self.password,
                                                   on_records=self._on_records, on_lost=self._on_lost)
                self.source_seq = welcome.last_source_seq
                self.conn.subscribe(1)
                self.connected = True
                from sequencer.notify import ready
                ready("connected to the stream")
                while self.connected:
                    await asyncio.sleep(0.5)
            except (OSError, asyncio.TimeoutError) as e:
                print(f"web: sequencer not reachable ({e}); retrying", flush=True)
            self.connected = False
            await asyncio.sleep(1.0)

    async def poll_lag(self, every_s: float = 2.0) -> None:
        """The apps' lag for the screen, from the sequencer's STATUS under this gateway's own credentials."""
        from sequencer.status import query
        while True:
            await asyncio.sleep(every_s)
            try:
                st = await asyncio.to_thread(query, self.seq_host, self.seq_port, 1.0, (self.name, self.password))
            except OSError:
                continue
            self.view.app_lag(st)

    async def pump(self) -> None:
        """Every BATCH_S: the changed rows to each browser, only those it may see; a heartbeat every second."""
        beat = 0.0
        while True:
            await asyncio.sleep(BATCH_S)
            changes = self.view.take_changes()
            now = time.monotonic()
            hb = now - beat >= 1.0
            if hb:
                beat = now
            detail, market = self.view.detail_changed, self.view.market_changed
            self.view.detail_changed, self.view.market_changed = {}, {}
            for ws, user in list(self.sockets.items()):
                clients = self.clients(user)
                mine = {t: [r for r in rows if r.get("deleted") or visible(r, clients)]
                        for t, rows in changes.items()}
                mine = {t: rows for t, rows in mine.items() if rows}
                try:
                    if mine:
                        await ws.send_str(json.dumps({"type": "delta", "tables": mine}))
                    if ws in self.watching:
                        await self._detail_delta(ws, detail, market)
                    if hb:
                        await ws.send_str(json.dumps(self._heartbeat()))
                except (ConnectionError, RuntimeError):
                    self.sockets.pop(ws, None)
                    self.watching.pop(ws, None)

    async def _detail_delta(self, ws, detail: dict, market: dict) -> None:
        """What changed for the order this browser watches: its children, new executed points, its market."""
        order_id, sent = self.watching[ws]
        row = self.view.tables["orders"].get(order_id, {})
        kids = self.view.children.get(order_id, {})
        changed = [kids[c] for c in detail.get(order_id, ()) if c in kids]
        executed = self.view.executed.get(order_id, [])
        quote = self.view.nbbo.get(row.get("symbol", "")) if row.get("symbol") in market else None
        if changed or len(executed) > sent or quote:
            self.watching[ws] = (order_id, len(executed))
            await ws.send_str(json.dumps({"type": "detailDelta", "orderId": order_id, "children": changed,
                                          "executed": executed[sent:], "market": quote}))

    def clients(self, user: U.User) -> tuple[str, ...]:
        return self.rules.desks.get(user.desk, ())

    def _heartbeat(self) -> dict:
        return {"type": "heartbeat", "headSeq": self.view.head_seq, "clockNs": self.view.clock_ns,
                "streamUp": self.connected}

    # -- HTTP -----------------------------------------------------------------------------------------------------
    def _user(self, request) -> U.User | None:
        got = self.sessions.get(request.cookies.get(COOKIE, ""))
        if got is None or got[1] < time.monotonic():
            return None
        return got[0]

    async def index(self, request):
        if self._user(request) is None:
            raise web.HTTPFound("/login")
        return web.FileResponse(os.path.join(STATIC, "index.html"))

    async def login_page(self, request):
        return web.FileResponse(os.path.join(STATIC, "login.html"))

    async def login(self, request):
        form = await request.post()
        user = U.check(self.users, str(form.get("user", "")), str(form.get("password", "")))
        if user is None:
            print(f"web: refused sign-in for {str(form.get('user', ''))[:40]!r}", flush=True)
            raise web.HTTPFound("/login?failed=1")
        token = token_source.token_urlsafe(32)
        self.sessions[token] = (user, time.monotonic() + SESSION_S)
        resp = web.HTTPFound("/")
        resp.set_cookie(COOKIE, token, httponly=True, samesite="Strict", max_age=SESSION_S, secure=self.secure)
        print(f"web: {user.name} signed in", flush=True)
        raise resp

    async def me(self, request):
        user = self._user(request)
        if user is None:
            raise web.HTTPUnauthorized()
        return web.json_response({"user": user.name, "desk": user.desk, "clients": list(self.clients(user)),
                                  "roles": list(user.roles), "actions": self.rules.actions(user.roles)})

    async def ag_grid(self, request):
        if not os.path.exists(AG_GRID):
            raise web.HTTPServiceUnavailable(text="AG Grid is not installed: run `npm install` in web/ "
                                                  "(make demo and make test do)")
        return web.FileResponse(AG_GRID)

    async def socket(self, request):
        user = self._user(request)
        if user is None:
            raise web.HTTPUnauthorized()
        ws = web.WebSocketResponse(heartbeat=10.0)
        await ws.prepare(request)
        snap = {t: [r for r in rows.values() if visible(r, self.clients(user))]
                for t, rows in self.view.tables.items()}
        await ws.send_str(json.dumps({"type": "snapshot", "user": user.name, "tables": snap}))
        await ws.send_str(json.dumps(self._heartbeat()))
        self.sockets[ws] = user
        try:
            async for msg in ws:
                if msg.type == WSMsgType.ERROR:
                    break
                if msg.type == WSMsgType.TEXT:
                    await ws.send_str(json.dumps(self.action(user, msg.data, ws)))
        finally:
            self.sockets.pop(ws, None)
            self.watching.pop(ws, None)
        return ws

    # -- actions --------------------------------------------------------------------------------------------------
    def action(self, user: U.User, text: str, ws=None) -> dict:
        """One message from a browser: checked against the user and the rules, then (an action) sequenced with the
        user's name, or (a watch) answered with the order's detail."""
        try:
            a = json.loads(text)
            kind = a["action"]
        except (ValueError, KeyError, TypeError):
            return {"type": "actionResult", "ok": False, "text": "not an action"}
        why, msg = self._check(user, str(kind), a)
        if why:
            print(f"web: refused {kind} by {user.name}: {why}", flush=True)
            return {"type": "actionResult", "ok": False, "action": kind, "text": why}
        if kind == "watch":
            order_id = msg
            symbol = self.view.tables["orders"][order_id]["symbol"]
            if symbol not in self.view.subscribed and symbol not in self.md_asked:
                if self._submit(M.MdSubscribe(symbol, self.name)):   # listening: market data once someone looks
                    self.md_asked.add(symbol)
            if ws is not None:
                self.watching[ws] = (order_id, len(self.view.executed.get(order_id, [])))
            return self.view.detail(order_id)
        if not self.connected or self.conn is None:
            return {"type": "actionResult", "ok": False, "action": kind, "text": "not connected to the stream"}
        self._submit(msg)
        print(f"web: {user.name}: {kind} {a.get('orderId') or a.get('client', '')}", flush=True)
        return {"type": "actionResult", "ok": True, "action": kind, "text": "sent"}

    def _submit(self, msg) -> bool:
        if not self.connected or self.conn is None:
            return False
        self.source_seq += 1
        self.conn.submit(self.source_seq, M.tag_of(msg), M.encode(msg))
        self.conn.flush()
        return True

    def _check(self, user: U.User, kind: str, a: dict):
        """``(why refused, what to send)``: the user's role must allow the action, and its order or client must be
        on the user's desk."""
        if kind not in self.rules.rights:
            return f"unknown action {kind!r}", None
        if not self.rules.may(user.roles, kind):
            return (f"{kind} needs the role {' or '.join(self.rules.rights[kind]) or '(nobody)'}; you have "
                    f"{', '.join(user.roles)}"), None
        clients = self.clients(user)
        text = str(a.get("text", ""))[:100]
        if kind in ("watch", "cancel", "pause", "resume"):
            row = self.view.tables["orders"].get(str(a.get("orderId", "")))
            if row is None or not visible(row, clients):
                return "no such order on your desk", None
            if kind == "watch":
                return "", row["id"]
            if kind == "cancel":
                return "", M.DeskCancel(user.name, row["id"], text)
            return "", M.DeskPause(user.name, row["id"], kind == "pause", text)
        client = str(a.get("client", ""))
        if client == "*" and "*" not in clients or client != "*" and not visible({"client": client}, clients):
            return f"{client or 'no client'} is not on your desk", None
        if kind == "cancel_all":
            if client == "*":
                return "cancel all needs one client", None
            return "", M.DeskCancelAll(user.name, client, str(a.get("symbol", ""))[:12], text)
        return "", M.KillSwitch(client, kind == "kill", kind == "kill", f"{kind} by {user.name} from the screen")

    def app(self) -> web.Application:
        a = web.Application()
        a.add_routes([web.get("/", self.index), web.get("/login", self.login_page), web.post("/login", self.login),
                      web.get("/me", self.me), web.get("/ws", self.socket), web.get("/ag-grid.js", self.ag_grid),
                      web.static("/static", STATIC)])

        async def background(app):
            tasks = [asyncio.create_task(self.follow()), asyncio.create_task(self.pump()),
                     asyncio.create_task(self.poll_lag())]
            yield
            for t in tasks:
                t.cancel()
        a.cleanup_ctx.append(background)
        return a


def run(config_path: str, name: str, users_path: str, listen: str) -> int:
    from sequencer.config import ConfigError, app_config, load
    try:
        cfg = load(config_path)
        app = app_config(cfg, name, "the web gateway's credentials")
        users = U.load(users_path)
        rules = P.load(config_path)
        P.check_desks(rules, users, users_path)
        ssl_ctx = P.server_context(rules, config_path)
    except (ConfigError, ValueError) as e:
        print(f"seqtrade web: {e}", flush=True)
        return 2
    host, _, port = listen.rpartition(":")
    gw = WebGateway(name, app.password, cfg.host, cfg.port, users, rules, secure=ssl_ctx is not None)
    print(f"web: the desk's screen on {'https' if ssl_ctx else 'http'}://{host}:{port}/ ({len(users)} users)",
          flush=True)
    web.run_app(gw.app(), host=host, port=int(port), print=None, access_log=None, ssl_context=ssl_ctx)
    return 0
