"""The FIX gateways as real processes on loopback: sequencer, OMS, a simulated venue, the client gateway (two client
sessions in FIX 4.4 and 4.2 plus a drop copy) and the venue gateway; FIX clients over real sockets."""
from __future__ import annotations

import asyncio
import time

import pytest

from fixgw.fix_client import FixClient
from fixgw.session import SessionConfig, SessionState
from seqtrade.localcluster import LocalCluster, StreamWatch, refdata_with_ports
from seqtrade.procs import free_port
from oms.risk import open_limits
from sequencer import messages as M

SEQ = "SEQTRADE"


def gateway_config(client_port: int) -> str:
    return f"""
[fixgw.clientgw]
kind = "client"
listen = "127.0.0.1:{client_port}"

[[fixgw.clientgw.sessions]]
target = "C44"
sender = "{SEQ}"
begin = "FIX.4.4"
account = "ACC44"
heartbeat_s = 5

[[fixgw.clientgw.sessions]]
target = "C42"
sender = "{SEQ}"
begin = "FIX.4.2"
heartbeat_s = 5

[[fixgw.clientgw.sessions]]
target = "DROP"
sender = "{SEQ}"
begin = "FIX.4.4"
role = "dropcopy"
heartbeat_s = 5

[fixgw.venuegw]
kind = "venue"
oms = "test"
begin = "FIX.4.4"
heartbeat_s = 5
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    d = tmp_path_factory.mktemp("fixgw")
    ports = refdata_with_ports(str(d / "refdata"), {"XNAS": ["S1", "S2"]})
    c = LocalCluster(str(d))
    c.app("oms", **{"class": "apps.oms:OmsApp"})
    for name in ("refdata", "clientgw", "venuegw", "watch"):
        c.app(name)
    c.app("test", role=["oms", "operator"])   # the test stands in for the OMS (child orders) and an operator
    c.client_port = free_port()
    c.extra = gateway_config(c.client_port)
    c.start_sequencer()
    try:
        c.start("oms", "app", "run", "oms", "--config", c.config)
        c.run("refdata", "publish", str(d / "refdata"), "--config", c.config)
        c.submit("refdata", open_limits())      # the firm's limits: set explicitly (the OMS fails closed)
        fix, md = ports["XNAS"]
        c.start("venue", "venue", "--id", "XNAS", "--refdata", str(d / "refdata"), "--speed", "20", "--begin",
                "FIX.4.4", "--fix-port", str(fix), "--md-port", str(md), wait_port=fix)
        c.start("clientgw", "fixgw", "--config", c.config, "--name", "clientgw", wait_port=c.client_port)
        c.start("venuegw", "fixgw", "--config", c.config, "--name", "venuegw")
        yield c
    finally:
        c.stop_all()


STATES: dict[str, SessionState] = {}   # a client's session state lives on across its connections, as in any engine


def client(target: str, begin: str) -> FixClient:
    return FixClient(SessionConfig(begin, target, SEQ, initiator=True, heartbeat_s=5),
                     STATES.setdefault(target, SessionState()))


def nos(cl: str, qty=100, px="10.00", extra=()) -> list:
    body = [(11, cl), (21, "1"), (55, "AAPL"), (54, "1"), (60, "20261121-14:31:00.000"), (40, "2"), (38, qty),
            (44, px), (59, "0")]
    return body + list(extra)


def er_for(cl: str, exec_type: str):
    return lambda mt, v: mt == "8" and v.get(11) == cl and v.get(150) == exec_type


async def watch(c: LocalCluster) -> StreamWatch:
    w = StreamWatch()
    await w.open(c.port, "watch", "pw-watch")
    return w


def test_fix44_client_order_cancel_and_status_with_drop_copy(cluster):
    async def scenario():
        cl, drop = client("C44", "FIX.4.4"), client("DROP", "FIX.4.4")
        await cl.connect("127.0.0.1", cluster.client_port)
        await drop.connect("127.0.0.1", cluster.client_port)
        cl.send("D", nos("A-1", extra=[(847, "1000")]))
        _, new = await cl.wait(er_for("A-1", "0"), what="ER New")
        assert (new[39], new[1], new[55], new[38], new[151], new[14]) == ("0", "ACC44", "AAPL", "100", "100", "0")
        assert 20 not in new                                   # no ExecTransType in 4.4
        cl.send("H", [(11, "A-1"), (55, "AAPL"), (54, "1")])
        _, status = await cl.wait(er_for("A-1", "I"), what="status reply")
        assert status[39] == "0"
        cl.send("F", [(41, "A-1"), (11, "A-2"), (55, "AAPL"), (54, "1"), (60, "20261121-14:31:01.000")])
        _, done = await cl.wait(er_for("A-2", "4"), what="ER Canceled")
        assert (done[41], done[39], done[151]) == ("A-1", "4", "0")
        # the drop copy saw the same executions, with the same ExecIDs
        await drop.wait(er_for("A-2", "4"), what="drop copy of the cancel")
        mine = [v[17] for mt, v in cl.got if mt == "8" and v.get(11, "").startswith("A-")]
        copied = [v[17] for mt, v in drop.got if mt == "8" and v.get(11, "").startswith("A-")]
        assert copied == mine
        await cl.close()
        await drop.close()
    asyncio.run(scenario())


def test_fix42_semantics_replace_and_reject_paths(cluster):
    async def scenario():
        cl = client("C42", "FIX.4.2")
        await cl.connect("127.0.0.1", cluster.client_port)
        cl.send("D", nos("B-1"))
        _, new = await cl.wait(er_for("B-1", "0"))
        assert new[20] == "0"                                    # ExecTransType New
        cl.send("G", [(41, "B-1"), (11, "B-2"), (21, "1"), (55, "AAPL"), (54, "1"), (60, "20261121-14:31:00.000"),
                      (40, "2"), (38, 200), (44, "10.50")])
        _, rep = await cl.wait(er_for("B-2", "5"), what="replace ack")
        assert (rep[39], rep[38], rep[44], rep[41]) == ("5", "200", "10.50", "B-1")   # 4.2: OrdStatus 5 unfilled
        cl.send("F", [(41, "NOPE"), (11, "B-3"), (55, "AAPL"), (54, "1"), (60, "20261121-14:31:00.000")])
        _, cxl_rej = await cl.wait(lambda mt, v: mt == "9" and v.get(11) == "B-3", what="OrderCancelReject")
        assert cxl_rej[434] == "1" and cxl_rej[102] == "1"     # unknown order
        cl.send("D", nos("B-4", extra=[(847, "7")]))                 # not a TargetStrategy value in our dictionary
        await cl.until(lambda: any("peer rejected" in x and "(847)" in x for x in cl.raw_log), what="session Reject")
        cl.send("D", nos("B-5", qty="10.5"))                   # a valid QTY for FIX, not a whole share
        _, biz = await cl.wait(lambda mt, v: mt == "j", what="BusinessMessageReject")
        assert biz[372] == "D" and biz[379] == "B-5" and "whole number" in biz[58]
        await cl.close()
    asyncio.run(scenario())


def test_resent_order_is_not_sequenced_twice_and_account_is_checked(cluster):
    async def scenario():
        w = await watch(cluster)
        cl = client("C44", "FIX.4.4")
        await cl.connect("127.0.0.1", cluster.client_port)
        cl.send("D", nos("P-1"))
        await cl.wait(er_for("P-1", "0"))
        # the same order again, flagged PossResend (as after a client's own restart): dropped by ClOrdID
        cl.conn.perform([cl.conn.session._send("D", nos("P-1"), time.time_ns(), poss_resend=True)])
        cl.send("D", nos("P-2", extra=[(1, "OTHER")]))
        _, biz = await cl.wait(lambda mt, v: mt == "j" and v.get(379) == "P-2")
        assert biz[380] == "6" and "OTHER" in biz[58]
        await w.wait(lambda r: type(r.msg) is M.FixReject and r.msg.ref_id == "P-2")
        assert [m.cl_ord_id for m in w.of(M.NewOrder)].count("P-1") == 1
        await cl.close()
        w.close()
    asyncio.run(scenario())


def test_values_beyond_any_order_get_a_business_reject_and_the_gateway_goes_on(cluster):
    # each of these once overflowed the stream's encoder after the gateway had numbered the submission: every later
    # order of every client was then refused as a gap
    async def scenario():
        cl = client("C44", "FIX.4.4")
        await cl.connect("127.0.0.1", cluster.client_port)
        bad = {"H-1": [(59, "6"), (126, "99991231-23:59:59")],
               "H-2": [(847, "2"), (849, "5")]}
        for cl_ord_id, extra in bad.items():
            cl.send("D", [p for p in nos(cl_ord_id) if p[0] != 59] + extra if extra[0][0] == 59 else
                    nos(cl_ord_id, extra=extra))
        cl.send("D", nos("H-3", qty=str(2**64)))
        cl.send("D", nos("H-4", px="1" + "0" * 15))
        for cl_ord_id in ("H-1", "H-2", "H-3", "H-4"):
            _, biz = await cl.wait(lambda mt, v, c=cl_ord_id: mt == "j" and v.get(379) == c, what=f"BMR {cl_ord_id}")
            assert biz[372] == "D" and biz[58]
        # valid FIX 4.4 (OrderQty and Symbol are conditional there) that an agency broker still needs: a business
        # reject naming the field, never a session Reject and never an exception
        cl.send("D", [p for p in nos("H-6") if p[0] != 38])
        _, biz = await cl.wait(lambda mt, v: mt == "j" and v.get(379) == "H-6", what="BMR for a missing OrderQty")
        assert biz[380] == "5" and "OrderQty (38)" in biz[58]
        cl.send("D", [p for p in nos("H-7") if p[0] != 55])
        _, biz = await cl.wait(lambda mt, v: mt == "j" and v.get(379) == "H-7", what="BMR for a missing Symbol")
        assert biz[380] == "5" and "Symbol (55)" in biz[58]
        cl.send("D", nos("H-5"))
        await cl.wait(er_for("H-5", "0"), what="the next order's New: the gateway was not stuck")
        await cl.close()
    asyncio.run(scenario())


def test_venue_gateway_sessions_child_orders_and_fills(cluster):
    async def scenario():
        w = await watch(cluster)
        for s in ("S1", "S2"):
            await w.wait(lambda r, s=s: type(r.msg) is M.VenueSession and r.msg.session == s and r.msg.up,
                         what=f"VenueSession {s} up")
        test = StreamWatch()
        welcome = await test.open(cluster.port, "test", "pw-test", from_seq=10**9)
        n = welcome.last_source_seq

        def submit(msg):
            nonlocal n
            n += 1
            test.conn.submit(n, M.tag_of(msg), M.encode(msg))
        submit(M.ChildOrder("K1", "P1", "XNAS", "AAPL", "1", 100, "2", 10_000, "0", "S1"))   # far below: rests
        await w.wait(lambda r: type(r.msg) is M.VenueAck and r.msg.child_id == "K1", what="VenueAck")
        submit(M.ChildCancel("K1", "XNAS", "test"))
        await w.wait(lambda r: type(r.msg) is M.VenueCanceled and r.msg.child_id == "K1", what="VenueCanceled")
        submit(M.ChildOrder("K2", "P1", "XNAS", "AAPL", "1", 100, "2", 10_000 * 1_000_000, "0", ""))  # crosses
        fill = await w.wait(lambda r: type(r.msg) is M.VenueFill and r.msg.child_id == "K2", what="VenueFill")
        assert fill.msg.last_qty > 0 and fill.msg.liquidity == "2" and fill.source == "venuegw"
        submit(M.ChildCancel("NOPE", "XNAS"))
        await w.wait(lambda r: type(r.msg) is M.OmsAlert and r.msg.child_id == "NOPE", what="alert")
        test.close()
        w.close()
    asyncio.run(scenario())


class Submitter:
    """The test as a source on the stream (the venue gateway takes its child orders from "test")."""

    async def open(self, port: int):
        self.w = StreamWatch()
        welcome = await self.w.open(port, "test", "pw-test", from_seq=10**9)
        self.n = welcome.last_source_seq
        return self

    def __call__(self, msg) -> None:
        self.n += 1
        self.w.conn.submit(self.n, M.tag_of(msg), M.encode(msg))

    def close(self):
        self.w.close()


def test_client_gateway_killed_mid_session_resumes_from_the_log(cluster):
    async def scenario():
        cl = client("C44", "FIX.4.4")
        await cl.connect("127.0.0.1", cluster.client_port)
        cl.send("D", nos("R-1"))
        await cl.wait(er_for("R-1", "0"))
        cluster.kill9("clientgw")
        await cl.until(lambda: cl.conn.closed, what="disconnect")
        submit = await Submitter().open(cluster.port)   # while the gateway is down the OMS cancels R-1
        submit(M.KillSwitch("C44", True, cancel_open=True, text="test"))
        submit(M.KillSwitch("C44", False))
        w = await watch(cluster)
        await w.wait(lambda r: type(r.msg) is M.ExecReport and r.msg.cl_ord_id == "R-1" and r.msg.exec_type == "4")
        cluster.start("clientgw", "fixgw", "--config", cluster.config, "--name", "clientgw",
                      wait_port=cluster.client_port)
        await cl.connect("127.0.0.1", cluster.client_port)
        _, canceled = await cl.wait(er_for("R-1", "4"), what="the cancel made while the gateway was down")
        assert canceled[39] == "4"
        cl.send("D", nos("R-2"))                               # and the session carries on normally
        await cl.wait(er_for("R-2", "0"))
        assert cl.conn.session.status == "active"
        assert [v.get(17) for mt, v in cl.got if mt == "8" and v.get(11) == "R-1"].count(canceled[17]) == 1
        assert "outgoing MsgSeqNum jumps" in cluster.output("clientgw")
        await cl.close()
        submit.close()
        w.close()
    asyncio.run(scenario())


def test_client_gateway_clean_restart_resumes_exact_sequence_numbers(cluster):
    async def scenario():
        cl = client("C42", "FIX.4.2")
        await cl.connect("127.0.0.1", cluster.client_port)
        cl.send("D", nos("S-1"))
        await cl.wait(er_for("S-1", "0"))
        cluster.stop("clientgw")                               # SIGTERM: logs the sessions out, final marks
        await cl.until(lambda: cl.conn.closed, what="logout")
        expect_in, expect_out = cl.state.next_in, cl.state.next_out
        cluster.start("clientgw", "fixgw", "--config", cluster.config, "--name", "clientgw",
                      wait_port=cluster.client_port)
        before = len(cl.raw_log)
        await cl.connect("127.0.0.1", cluster.client_port)
        cl.send("H", [(11, "S-1"), (55, "AAPL"), (54, "1")])
        await cl.wait(lambda mt, v: mt == "8" and v.get(20) == "3", what="status reply")
        # no resend needed either way: the numbers were exact
        assert not any("gap" in x or "above expected" in x for x in cl.raw_log[before:]), cl.raw_log[before:]
        assert cl.state.next_in >= expect_in + 2 and cl.state.next_out == expect_out + 2   # logon, status
        await cl.close()
    asyncio.run(scenario())


def test_venue_gateway_killed_resumes_sessions_and_sends_what_waited(cluster):
    async def scenario():
        w = await watch(cluster)
        submit = await Submitter().open(cluster.port)
        submit(M.ChildOrder("V1", "P2", "XNAS", "AAPL", "1", 100, "2", 10_000, "0", "S2"))
        await w.wait(lambda r: type(r.msg) is M.VenueAck and r.msg.child_id == "V1")
        cluster.kill9("venuegw")
        submit(M.ChildCancel("V1", "XNAS", "while the gateway was down"))
        mark = len(w.recs)
        cluster.start("venuegw", "fixgw", "--config", cluster.config, "--name", "venuegw")
        await w.wait(lambda r: type(r.msg) is M.VenueCanceled and r.msg.child_id == "V1", timeout=20)
        after = [r.msg for r in w.recs[mark:] if type(r.msg) is M.VenueSession and r.msg.session == "S2"]
        assert [m.up for m in after][:2] == [False, True]      # down until this process logs on again
        assert len([m for m in w.of(M.VenueAck) if m.child_id == "V1"]) == 1   # the order did not go out twice
        submit.close()
        w.close()
    asyncio.run(scenario())
