"""QuickFIX (the C++ engine, ``quickfix-py``) as the counterparty on the other side of our FIX sessions, for the
interoperability tests. An engine no one here wrote, validating everything we send against the FIX specification's
own data dictionary (``../shared/reference/fix/FIX4x.xml``, the files QuickFIX ships).

``Peer`` is a QuickFIX ``Application`` that records every message in and out (admin and application) and can act as a
venue (answer child orders with ExecutionReports carrying the extra fields real venues send). QuickFIX calls it from
its own threads, so everything it records goes through a lock, and the tests wait with ``until``.
"""
from __future__ import annotations

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


class Peer(fix.Application):
    def __init__(self, venue: bool = False):
        super().__init__()
        self.lock = threading.Lock()
        self.app_in: list[dict] = []
        self.admin_in: list[dict] = []
        self.admin_out: list[dict] = []
        self.app_out: list[dict] = []
        self.logons = 0
        self.sessions: list = []
        self.venue = venue
        self.exec_n = 0
        self.orders: dict[str, dict] = {}       # venue: ClOrdID -> order fields
        self.on_order = None                     # venue: what to do with a NewOrderSingle (default: ack and fill)

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

    # -- helpers for the test thread --------------------------------------------------------------------------
    def until(self, cond, timeout: float = 20.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                got = cond(self)
            if got:
                return got
            time.sleep(0.02)
        with self.lock:
            raise AssertionError(f"QuickFIX peer: no {what} after {timeout}s; app in: {self.app_in[-5:]}; "
                                 f"admin in: {self.admin_in[-5:]}; admin out: {self.admin_out[-5:]}")

    def rejects_sent(self) -> list[dict]:
        """Session Rejects and BusinessMessageRejects QuickFIX sent us: what its dictionary refused of ours."""
        with self.lock:
            return [m for m in self.admin_out + self.app_out if m.get(35) in ("3", "j")]

    def send(self, begin: str, msgtype: str, body: list, sid=None) -> None:
        m = fix.Message()
        m.getHeader().setField(fix.BeginString(begin))
        m.getHeader().setField(35, msgtype)
        for tag, value in body:
            m.setField(tag, str(value))
        fix.Session.sendToTarget(m, sid or self.sessions[0])

    # -- as a venue -------------------------------------------------------------------------------------------
    def next_exec_id(self) -> str:
        self.exec_n += 1
        return f"QFX{self.exec_n}"

    def report(self, sid, o: dict, exec_type: str, status: str, cum: int, last: int = 0, px: str = "",
               extra=()) -> None:
        begin = sid.getBeginString().getValue()
        qty = int(o[38])
        body = [(37, o["order_id"]), (11, o[11]), (17, self.next_exec_id())]
        if begin == "FIX.4.2":
            body.append((20, "0"))
            if exec_type in ("1", "2", "F"):
                exec_type = "2" if cum == qty else "1"
        body += [(150, exec_type), (39, status), (55, o[55]), (54, o[54]), (38, qty), (40, o[40])]
        if 44 in o:
            body.append((44, o[44]))
        body += [(151, 0 if status in ("2", "4", "8") else qty - cum), (14, cum), (6, px or "0")]
        if last:
            body += [(32, last), (31, px)]
        # what real venues add: SecondaryExecID, LastCapacity, TradeDate, TransactTime, and a user-defined tag
        body += [(527, f"S{self.exec_n}"), (29, "1"), (75, time.strftime("%Y%m%d", time.gmtime())),
                 (60, time.strftime("%Y%m%d-%H:%M:%S", time.gmtime())), (20001, "venue-private")]
        body += list(extra)
        self.send(begin, "8", body, sid)

    def _venue(self, f: dict, sid) -> None:
        t = f.get(35)
        if t == "D":
            o = dict(f)
            o["order_id"] = f"QO{len(self.orders) + 1}"
            self.orders[f[11]] = o
            (self.on_order or self.ack_and_fill)(sid, o)
        elif t == "F":
            o = self.orders.get(f[41])
            if o is None:
                return
            if o.get("no_cancel"):
                begin = sid.getBeginString().getValue()
                body = [(37, o["order_id"]), (11, f[11]), (41, f[41]), (39, "0"), (434, "1"), (102, "1"),
                        (58, "too late to cancel"), (60, time.strftime("%Y%m%d-%H:%M:%S", time.gmtime()))]
                if begin == "FIX.4.4":
                    body.append((20001, "venue-private"))
                self.send(begin, "9", body, sid)
                return
            o[11] = f[11]
            self.report(sid, o, "4", "4", o.get("cum", 0))

    def ack_and_fill(self, sid, o: dict) -> None:
        """New, then two partial fills that complete the order."""
        self.report(sid, o, "0", "0", 0)
        qty = int(o[38])
        first = qty // 2
        px = o.get(44, "10")
        self.report(sid, o, "F", "1", first, first, px)
        self.report(sid, o, "F", "2", qty, qty - first, px)
        o["cum"] = qty


def start(app: Peer, cfg_path: str, kind: str):
    settings = fix.SessionSettings(cfg_path)
    store = fix.FileStoreFactory(settings)
    log = fix.FileLogFactory(settings)
    engine = (fix.SocketInitiator if kind == "initiator" else fix.SocketAcceptor)(app, store, settings, log)
    engine.start()
    return engine
