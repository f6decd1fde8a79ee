"""QuickFIX (the C++ engine, ``quickfix-py``) as the counterparty on the other side of our FIX sessions, for the
interoperability tests. An engine no one here wrote, validating everything we send against the FIX specification's
own data dictionary (``../shared/reference/fix/FIX4x.xml``, the files QuickFIX ships).

Each QuickFIX engine runs in a process of its own (``RemotePeer``), and the test talks to it over a pipe. Why: the
engine's C++ threads call back into Python, and stopping an engine while a callback is under way can crash the whole
interpreter (a segfault in ``Acceptor.stop`` took a CI run down with every test after it). In its own process the
engine is never stopped; the process is killed when the tests are done, which closes its sockets as a crash would.

``Peer`` (in that process) is a QuickFIX ``Application`` that records every message in and out (admin and application)
and can act as a venue: it answers child orders by a named behaviour with ExecutionReports carrying the extra fields
real venues send. The test side sees the recorded lists through ``RemotePeer``, refreshed on each look.
"""
from __future__ import annotations

import multiprocessing
import os
import threading
import time

import pytest

try:
    import quickfix as fix
except ImportError:   # the test extras install it (quickfix-py, a wheel); without it these tests cannot run
    pytest.skip("QuickFIX is not installed (pip install quickfix-py, in the test extras)", allow_module_level=True)

REF = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "reference", "fix"))


def dictionary_path(begin: str) -> str:
    path = os.path.join(REF, begin.replace(".", "") + ".xml")
    if not os.path.exists(path):
        pytest.skip(f"the FIX data dictionary {path} is not beside this checkout")
    return path


def fields(msg) -> dict[int, str]:
    out: dict[int, str] = {}
    for part in msg.toString().split("\x01"):
        if "=" in part:
            t, _, v = part.partition("=")
            if t.isdigit():
                out.setdefault(int(t), v)
    return out


def settings_file(path: str, default: dict, sessions: list[dict]) -> str:
    lines = ["[DEFAULT]"] + [f"{k}={v}" for k, v in default.items()]
    for s in sessions:
        lines += ["", "[SESSION]"] + [f"{k}={v}" for k, v in s.items()]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def base_settings(workdir: str, begin: str, kind: str, **extra) -> dict:
    return {"ConnectionType": kind, "HeartBtInt": 5, "ReconnectInterval": 1, "StartTime": "00:00:00",
            "EndTime": "00:00:00", "FileStorePath": os.path.join(workdir, "store"),
            "FileLogPath": os.path.join(workdir, "qflog"), "UseDataDictionary": "Y",
            "DataDictionary": dictionary_path(begin), "ValidateUserDefinedFields": "Y", "CheckLatency": "Y",
            "MaxLatency": 120, **extra}


def now_utc() -> str:
    return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime())


# ---- in the engine's process -----------------------------------------------------------------------------------

RECORDED = ("app_in", "admin_in", "admin_out", "app_out")


class Peer(fix.Application):
    def __init__(self, venue: bool = False):
        super().__init__()
        self.lock = threading.RLock()   # fromApp holds it while a venue answers, and sending calls toApp
        self.app_in: list[dict] = []
        self.admin_in: list[dict] = []
        self.admin_out: list[dict] = []
        self.app_out: list[dict] = []
        self.logons = 0
        self.sessions: list = []
        self.venue = venue
        self.exec_n = 0
        self.orders: dict[str, dict] = {}       # venue: ClOrdID -> order fields
        self.behaviour = "ack_and_fill"          # venue: what to do with a NewOrderSingle

    # -- QuickFIX callbacks (its threads) ---------------------------------------------------------------------
    def onCreate(self, sid):
        with self.lock:
            self.sessions.append(sid)

    def onLogon(self, sid):
        with self.lock:
            self.logons += 1

    def onLogout(self, sid):
        pass

    def toAdmin(self, msg, sid):
        with self.lock:
            self.admin_out.append(fields(msg))

    def fromAdmin(self, msg, sid):
        with self.lock:
            self.admin_in.append(fields(msg))

    def toApp(self, msg, sid):
        with self.lock:
            self.app_out.append(fields(msg))

    def fromApp(self, msg, sid):
        f = fields(msg)
        with self.lock:
            self.app_in.append(f)
            if self.venue:
                self._venue(f, sid)

    def sid(self, begin: str | None):
        with self.lock:
            return next(s for s in self.sessions if begin is None or s.getBeginString().getValue() == begin)

    def send(self, begin: str, msgtype: str, body: list, sid=None) -> None:
        m = fix.Message()
        m.getHeader().setField(fix.BeginString(begin))
        m.getHeader().setField(35, msgtype)
        for tag, value in body:
            m.setField(tag, str(value))
        fix.Session.sendToTarget(m, sid or self.sid(begin))

    # -- as a venue (called under the lock, from fromApp) -------------------------------------------------------
    def next_exec_id(self) -> str:
        self.exec_n += 1
        return f"QFX{self.exec_n}"

    def report(self, sid, o: dict, exec_type: str, status: str, cum: int, last: int = 0, px: str = "",
               extra=()) -> str:
        """Send one ExecutionReport for order ``o``; return its ExecID."""
        begin = sid.getBeginString().getValue()
        qty = int(o[38])
        exec_id = self.next_exec_id()
        body = [(37, o["order_id"]), (11, o[11]), (17, exec_id)]
        if begin == "FIX.4.2":
            body.append((20, "3" if exec_type == "I" else "0"))   # 4.2: a status report is ExecTransType 3
            if exec_type in ("1", "2", "F"):
                exec_type = "2" if cum == qty else "1"
            elif exec_type == "I":
                exec_type = status
        body += [(150, exec_type), (39, status), (55, o[55]), (54, o[54]), (38, qty), (40, o[40])]
        if 44 in o:
            body.append((44, o[44]))
        body += [(151, 0 if status in ("2", "4", "8") else qty - cum), (14, cum), (6, px or "0")]
        if last:
            body += [(32, last), (31, px)]
        # what real venues add: SecondaryExecID, LastCapacity, TradeDate, TransactTime, and a user-defined tag
        body += [(527, f"S{self.exec_n}"), (29, "1"), (75, time.strftime("%Y%m%d", time.gmtime())),
                 (60, now_utc()), (20001, "venue-private")]
        body += list(extra)
        self.send(begin, "8", body, sid)
        return exec_id

    def _venue(self, f: dict, sid) -> None:
        t = f.get(35)
        if t == "D":
            o = dict(f)
            o["order_id"] = f"QO{len(self.orders) + 1}"
            self.orders[f[11]] = o
            getattr(self, "venue_" + self.behaviour)(sid, o)
        elif t == "H":                      # OrderStatusRequest: the order as it stands (ExecType I)
            o = self.orders.get(f[11])
            if o is not None:
                cum = o.get("cum", 0)
                self.report(sid, o, "I", o.get("status", "0"), cum)
        elif t == "F":
            o = self.orders.get(f[41])
            if o is None:
                return
            if o.get("no_cancel"):
                begin = sid.getBeginString().getValue()
                body = [(37, o["order_id"]), (11, f[11]), (41, f[41]), (39, "0"), (434, "1"), (102, "1"),
                        (58, "too late to cancel"), (60, now_utc())]
                if begin == "FIX.4.4":
                    body.append((20001, "venue-private"))
                self.send(begin, "9", body, sid)
                return
            o[11] = f[11]
            self.report(sid, o, "4", "4", o.get("cum", 0))

    # the venue's behaviours for a new order, chosen by name from the test
    def venue_ack_and_fill(self, sid, o: dict) -> None:
        """New, then two partial fills that complete the order."""
        self.report(sid, o, "0", "0", 0)
        qty = int(o[38])
        first = qty // 2
        px = o.get(44, "10")
        self.report(sid, o, "F", "1", first, first, px)
        self.report(sid, o, "F", "2", qty, qty - first, px)
        o["cum"] = qty

    def venue_rest_no_cancel(self, sid, o: dict) -> None:
        """Acknowledged, never filled, and any cancel of it refused (OrderCancelReject with TransactTime)."""
        o["no_cancel"] = True
        self.report(sid, o, "0", "0", 0)

    def venue_unsolicited_cancel(self, sid, o: dict) -> None:
        """Acknowledged, then canceled by the venue on its own."""
        self.report(sid, o, "0", "0", 0)
        self.report(sid, o, "4", "4", 0, extra=[(58, "venue closing")])

    def venue_fill_correct_bust(self, sid, o: dict) -> None:
        """Filled 100 then 200; the first fill corrected to 107.90 (ExecType G), the second busted (ExecType H)."""
        self.report(sid, o, "0", "0", 0)
        first = self.report(sid, o, "F", "1", 100, 100, "108.00")
        second = self.report(sid, o, "F", "2", 300, 200, "108.00")
        self.report(sid, o, "G", "2", 300, 100, "107.90", extra=[(19, first)])
        self.report(sid, o, "H", "1", 100, 0, "", extra=[(19, second)])

    def venue_broken(self, sid, o: dict) -> None:
        """An acknowledgement that breaks the standard (LastCapacity Z)."""
        self.report(sid, o, "0", "0", 0, extra=[(29, "Z")])


def _serve(conn, cfg_path: str, kind: str, venue: bool) -> None:
    """The engine's process: start the engine, then answer the test's requests until killed."""
    app = Peer(venue=venue)
    settings = fix.SessionSettings(cfg_path)
    engine = (fix.SocketInitiator if kind == "initiator" else fix.SocketAcceptor)(
        app, fix.FileStoreFactory(settings), settings, fix.FileLogFactory(settings))
    engine.start()
    while True:
        op, args = conn.recv()
        try:
            conn.send(("ok", _answer(app, op, args)))
        except Exception as e:   # reported to the test, which raises it there
            conn.send(("error", f"{type(e).__name__}: {e}"))


def _answer(app: Peer, op: str, args: tuple):
    if op == "since":
        with app.lock:
            return {name: getattr(app, name)[n:] for name, n in zip(RECORDED, args)} | {
                "logons": app.logons, "exec_n": app.exec_n}
    if op == "send":
        return app.send(*args)
    if op == "behaviour":
        with app.lock:
            app.behaviour = args[0]
        return None
    session = fix.Session.lookupSession(app.sid(args[0]))
    if op == "logout":
        return session.logout(args[1])
    if op == "logon":
        return session.logon()
    if op == "logged_on":
        return session.isLoggedOn()
    if op == "expected_target_num":
        return session.getExpectedTargetNum()
    if op == "set_next_target_num":
        return session.setNextTargetMsgSeqNum(args[1])
    raise ValueError(f"unknown request {op!r}")


# ---- on the test's side ----------------------------------------------------------------------------------------

class RemotePeer:
    """A QuickFIX engine in its own process, seen from the test: what it recorded, and what to make it do."""

    def __init__(self, cfg_path: str, kind: str, venue: bool = False):
        ctx = multiprocessing.get_context("fork")   # before the engine starts any thread: it starts in the child
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, cfg_path, kind, venue), daemon=True)
        self._proc.start()
        child.close()
        for name in RECORDED:
            setattr(self, name, [])
        self.logons = 0
        self.exec_n = 0

    def _ask(self, op: str, *args):
        if not self._proc.is_alive():
            raise AssertionError(f"the QuickFIX peer process died (exit code {self._proc.exitcode})")
        self._conn.send((op, args))
        status, value = self._conn.recv()
        if status == "error":
            raise AssertionError(f"QuickFIX peer: {op}: {value}")
        return value

    def refresh(self) -> "RemotePeer":
        new = self._ask("since", *(len(getattr(self, name)) for name in RECORDED))
        for name in RECORDED:
            getattr(self, name).extend(new[name])
        self.logons, self.exec_n = new["logons"], new["exec_n"]
        return self

    def until(self, cond, timeout: float = 20.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = cond(self.refresh())
            if got:
                return got
            time.sleep(0.02)
        raise AssertionError(f"QuickFIX peer: no {what} after {timeout}s; app in: {self.app_in[-5:]}; "
                             f"admin in: {self.admin_in[-5:]}; admin out: {self.admin_out[-5:]}")

    def rejects_sent(self) -> list[dict]:
        """Session Rejects and BusinessMessageRejects QuickFIX sent us: what its dictionary refused of ours."""
        self.refresh()
        return [m for m in self.admin_out + self.app_out if m.get(35) in ("3", "j")]

    def send(self, begin: str, msgtype: str, body: list) -> None:
        self._ask("send", begin, msgtype, body)

    def venue_behaviour(self, name: str) -> None:
        """How the venue answers the next new orders: one of Peer's ``venue_*`` methods, by the rest of its name."""
        self._ask("behaviour", name)

    def logout(self, begin: str, text: str) -> None:
        self._ask("logout", begin, text)

    def logon(self, begin: str) -> None:
        self._ask("logon", begin)

    def logged_on(self, begin: str) -> bool:
        return self._ask("logged_on", begin)

    def expected_target_num(self, begin: str) -> int:
        return self._ask("expected_target_num", begin)

    def set_next_target_num(self, begin: str, n: int) -> None:
        self._ask("set_next_target_num", begin, n)

    def kill(self) -> None:
        self._proc.kill()
        self._proc.join(5)
