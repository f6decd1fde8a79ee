"""Interoperability with an engine no one here wrote: QuickFIX on both edges of a running cluster.

* QuickFIX initiators (FIX 4.4 and FIX 4.2, ResetOnLogon=Y, the standard data dictionary, ValidateUserDefinedFields)
  are clients of our client gateway: limit, VWAP and POV orders, cancel, replace, status request, a user-defined tag
  of our order entry spec, and a disconnect and reconnect mid-day while a fill waits for them;
* QuickFIX acceptors (FIX 4.4 and FIX 4.2) are venues for our venue gateway: they answer child orders with
  ExecutionReports carrying what real venues add (SecondaryExecID 527, LastCapacity 29, TradeDate 75, TransactTime 60
  and a user-defined tag), partial fills, an OrderCancelReject with TransactTime, an unsolicited cancel, and a trade
  correction and bust that reach the QuickFIX client as Trade Correct / Trade Cancel reports.

Checked both ways: QuickFIX refuses nothing we send (no Reject, no BusinessMessageReject), every report each venue
sent is on the stream, nothing reaches a client twice or not at all, ExecIDs are unique.
"""
from __future__ import annotations

import asyncio
import os
import time

import pytest

from seqtrade.localcluster import LocalCluster, StreamWatch, refdata_with_ports
from seqtrade.procs import free_port
from oms.risk import open_limits
from sequencer import messages as M

from . import qfpeer
from .qfpeer import RemotePeer, base_settings, settings_file

SEQ = "SEQTRADE"
CLIENTS = {"FIX.4.4": "QF44", "FIX.4.2": "QF42"}
VENUE_OF = {"FIX.4.4": "XNAS", "FIX.4.2": "ARCX"}


def gateway_config(client_port: int, log_dir: str) -> str:
    sessions = "".join(f"""
[[fixgw.clientgw.sessions]]
target = "{who}"
sender = "{SEQ}"
begin = "{begin}"
heartbeat_s = 5
cancel_on_disconnect = {"true" if begin == "FIX.4.2" else "false"}
""" for begin, who in CLIENTS.items())
    return f"""
[fixgw.clientgw]
kind = "client"
listen = "127.0.0.1:{client_port}"
message_log_dir = "{log_dir}"
{sessions}
[fixgw.venuegw]
kind = "venue"
begin = "FIX.4.4"
heartbeat_s = 5
message_log_dir = "{log_dir}"

[[fixgw.venuegw.sessions]]
venue = "ARCX"
session = "S1"
begin = "FIX.4.2"
"""


class Stream:
    """The test as the algo ("algo" on the stream) and as a reader of the day's records, from the test thread."""

    def __init__(self, port: int):
        self.port = port

    def submit(self, *msgs) -> None:
        async def go():
            w = StreamWatch()
            welcome = await w.open(self.port, "algo", "pw-algo", from_seq=10**9)
            n = welcome.last_source_seq
            for m in msgs:
                n += 1
                w.conn.submit(n, M.tag_of(m), M.encode(m))
            w.conn.flush()
            await asyncio.sleep(0.2)
            w.close()
        asyncio.run(go())

    def records(self) -> list:
        async def go():
            w = StreamWatch()
            await w.open(self.port, "watch", "pw-watch")
            await asyncio.sleep(0.5)
            w.close()
            return w.recs
        return asyncio.run(go())

    def wait(self, pred, what: str, timeout: float = 20.0) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hits = [r for r in self.records() if pred(r)]
            if hits:
                return hits
        raise AssertionError(f"no {what} on the stream after {timeout}s")


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("qf"))
    ports = refdata_with_ports(os.path.join(d, "refdata"), {"XNAS": ["S1"], "ARCX": ["S1"]})
    vcfg = settings_file(os.path.join(d, "venue.cfg"), {
        k: v for k, v in base_settings(os.path.join(d, "venue"), "FIX.4.4", "acceptor").items()
        if k != "DataDictionary"}, [
        {"BeginString": b, "SenderCompID": VENUE_OF[b], "TargetCompID": "S1", "SocketAcceptPort": ports[VENUE_OF[b]][0],
         "DataDictionary": qfpeer.dictionary_path(b)} for b in CLIENTS])
    venue = RemotePeer(vcfg, "acceptor", venue=True)
    c = LocalCluster(d)
    c.app("oms", **{"class": "apps.oms:OmsApp"})
    for name in ("refdata", "clientgw", "venuegw", "watch"):
        c.app(name)
    c.app("algo", role="algo")         # the test is the algo
    client_port = free_port()
    c.extra = gateway_config(client_port, os.path.join(d, "fixlog"))
    ccfg = settings_file(os.path.join(d, "client.cfg"), {
        k: v for k, v in base_settings(os.path.join(d, "client"), "FIX.4.4", "initiator", ResetOnLogon="Y").items()
        if k != "DataDictionary"}, [
        {"BeginString": b, "SenderCompID": who, "TargetCompID": SEQ, "SocketConnectHost": "127.0.0.1",
         "SocketConnectPort": client_port, "DataDictionary": qfpeer.dictionary_path(b),
         "ResetOnLogon": "Y" if b == "FIX.4.4" else "N"} for b, who in CLIENTS.items()])
    client = None
    c.start_sequencer()
    try:
        c.start("oms", "app", "run", "oms", "--config", c.config)
        c.run("refdata", "publish", os.path.join(d, "refdata"), "--config", c.config)
        c.submit("refdata", open_limits())      # the firm's limits: set explicitly (the OMS fails closed)
        c.start("clientgw", "fixgw", "--config", c.config, "--name", "clientgw", wait_port=client_port)
        c.start("venuegw", "fixgw", "--config", c.config, "--name", "venuegw")
        venue.until(lambda p: p.logons >= 2, what="both venue sessions logged on")
        client = RemotePeer(ccfg, "initiator")
        client.until(lambda p: p.logons >= 2, what="both client sessions logged on")
        yield c, client, venue, Stream(c.port), ccfg
    finally:
        if client is not None:
            client.kill()
        c.stop_all()
        venue.kill()


def nos(cl: str, qty: int = 400, px: str = "108.00", extra=()) -> list:
    return [(11, cl), (21, "1"), (55, "AAPL"), (54, "1"), (60, time.strftime("%Y%m%d-%H:%M:%S", time.gmtime())),
            (38, qty), (40, "2"), (44, px), (59, "0"), *extra]


def ers(peer: RemotePeer, begin: str, cl: str | None = None) -> list[dict]:
    return [m for m in peer.app_in if m.get(35) == "8" and m.get(8) == begin and (cl is None or m.get(11) == cl)]


@pytest.mark.parametrize("begin", ["FIX.4.4", "FIX.4.2"])
def test_quickfix_client_orders_of_each_kind_reach_it_valid(day, begin):
    c, client, venue, stream, _ = day
    tag = begin[-1]
    kinds = {f"L{tag}-{i}": [] for i in range(1, 6)}
    kinds[f"V{tag}"] = [(847, "1")]                                  # VWAP
    kinds[f"P{tag}"] = [(847, "2"), (849, "0.1")]                    # POV, 10%
    kinds[f"T{tag}"] = [(847, "1001")]                               # TWAP (our bilateral value)
    kinds[f"U{tag}"] = [(847, "1"), (9003, "25")]                    # VWAP with a user-defined tag of our spec
    for cl, extra in kinds.items():
        client.send(begin, "D", nos(cl, extra=extra))
    for cl in kinds:
        client.until(lambda p, cl=cl: ers(p, begin, cl), what=f"ER New for {cl}")
    # cancel one, replace one, ask the status of one
    now = time.strftime("%Y%m%d-%H:%M:%S", time.gmtime())
    client.send(begin, "F", [(41, f"L{tag}-1"), (11, f"L{tag}-1c"), (55, "AAPL"), (54, "1"), (60, now),
                             (38, 400)])
    client.send(begin, "G", [(41, f"L{tag}-2"), (11, f"L{tag}-2r"), (21, "1"), (55, "AAPL"), (54, "1"), (60, now),
                             (38, 500), (40, "2"), (44, "107.50")])
    client.send(begin, "H", [(11, f"L{tag}-3"), (55, "AAPL"), (54, "1")])
    canceled = client.until(lambda p: [m for m in ers(p, begin, f"L{tag}-1c") if m[39] == "4"], what="Canceled")
    replaced = client.until(lambda p: [m for m in ers(p, begin, f"L{tag}-2r") if m[150] == "5"], what="Replaced")
    # the reply to a status request: ExecType I (4.4), ExecTransType 3 Status (4.2)
    status = client.until(lambda p: [m for m in ers(p, begin, f"L{tag}-3") if m[150] == "I" or m.get(20) == "3"],
                          what="status")
    assert canceled[0][41] == f"L{tag}-1" and replaced[0][38] == "500" and status[0][39] == "0"
    if begin == "FIX.4.4":
        assert status[0][150] == "I"
    # a child order of L-4 goes to a QuickFIX venue, which fills it in two parts: the client sees both fills
    order_id = ers(client, begin, f"L{tag}-4")[0][37]
    stream.submit(M.ChildNewRequest(order_id, f"K{tag}-4", VENUE_OF[begin], "AAPL", "1", 400, "2", 108_000_000))
    fills = client.until(lambda p: [m for m in ers(p, begin, f"L{tag}-4") if m.get(32)] if
                         len([m for m in ers(p, begin, f"L{tag}-4") if m.get(32)]) == 2 else None, what="two fills")
    assert [m[39] for m in fills] == ["1", "2"] and sum(int(m[32]) for m in fills) == 400
    assert fills[-1][14] == "400" and fills[-1][151] == "0"
    # what QuickFIX said of all this: nothing refused; every report once, ExecIDs unique
    assert client.rejects_sent() == []
    mine = ers(client, begin)
    assert len({m[17] for m in mine}) == len(mine)
    news = [m[11] for m in mine if m[150] == "0" and m.get(20, "0") == "0"]
    assert sorted(news) == sorted(kinds), [(m[11], m[150], m.get(58)) for m in mine if m[11] not in news]
    assert sorted(news) == sorted(kinds)
    strategy = {m[11]: m.get(847) for m in mine if m[11] in news}
    if begin == "FIX.4.4":   # a standard TargetStrategy value goes back; our bilateral LIMIT (1000) does not
        assert strategy[f"V{tag}"] == "1" and strategy[f"P{tag}"] == "2" and strategy[f"L{tag}-5"] is None
    else:
        assert set(strategy.values()) == {None}                      # 847 is not a FIX 4.2 field


def test_quickfix_venue_extra_fields_cancel_reject_unsolicited_cancel_and_bust(day):
    c, client, venue, stream, _ = day
    client.send("FIX.4.4", "D", nos("X-1", 300))
    client.send("FIX.4.4", "D", nos("X-2", 300))
    client.send("FIX.4.4", "D", nos("X-3", 300))
    for cl in ("X-1", "X-2", "X-3"):
        client.until(lambda p, cl=cl: ers(p, "FIX.4.4", cl), what=f"New {cl}")
    oid = {cl: ers(client, "FIX.4.4", cl)[0][37] for cl in ("X-1", "X-2", "X-3")}

    # X-1's child: acknowledged, never filled, and the venue refuses to cancel it
    venue.venue_behaviour("rest_no_cancel")
    stream.submit(M.ChildNewRequest(oid["X-1"], "KX-1", "XNAS", "AAPL", "1", 300, "2", 108_000_000))
    stream.wait(lambda r: type(r.msg) is M.VenueAck and r.msg.child_id == "KX-1", "VenueAck KX-1")
    stream.submit(M.ChildCancelRequest("KX-1"))
    rej = stream.wait(lambda r: type(r.msg) is M.VenueCancelReject and r.msg.child_id == "KX-1",
                      "VenueCancelReject (OrderCancelReject with TransactTime and a user-defined tag)")
    assert "too late" in rej[0].msg.text
    # the OMS then asks the venue where the child stands (OrderStatusRequest), and QuickFIX's ExecType I answer is
    # on the stream: still working there
    asked = stream.wait(lambda r: type(r.msg) is M.ChildStatusRequest and r.msg.child_id == "KX-1", "status request")
    [status] = stream.wait(lambda r: type(r.msg) is M.VenueOrderStatus and r.msg.child_id == "KX-1", "status answer")
    assert status.seq > asked[0].seq and (status.msg.ord_status, status.msg.leaves_qty) == ("0", 300)

    # X-2's child: acknowledged, then canceled by the venue on its own
    venue.venue_behaviour("unsolicited_cancel")
    stream.submit(M.ChildNewRequest(oid["X-2"], "KX-2", "XNAS", "AAPL", "1", 300, "2", 108_000_000))
    stream.wait(lambda r: type(r.msg) is M.VenueCanceled and r.msg.child_id == "KX-2", "unsolicited VenueCanceled")

    # X-3's child: filled in two parts; the venue then corrects the first fill (ExecType G) and busts the second
    # (ExecType H): CumQty and AvgPx are put right, and the QuickFIX client gets Trade Correct / Trade Cancel
    # reports naming the fills' ExecIDs
    venue.venue_behaviour("fill_correct_bust")
    stream.submit(M.ChildNewRequest(oid["X-3"], "KX-3", "XNAS", "AAPL", "1", 300, "2", 108_000_000))
    stream.wait(lambda r: type(r.msg) is M.VenueTradeCorrection and r.msg.kind == "bust", "the bust on the stream")
    x3 = client.until(lambda p: [m for m in ers(p, "FIX.4.4", "X-3") if m[150] in ("F", "G", "H")]
                      if len([m for m in ers(p, "FIX.4.4", "X-3") if m[150] in ("F", "G", "H")]) == 4 else None,
                      what="two fills, a correction and a bust at the QuickFIX client")
    fills = [m for m in x3 if m[150] == "F"]
    corr, bust = [m for m in x3 if m[150] == "G"][0], [m for m in x3 if m[150] == "H"][0]
    assert corr[19] == fills[0][17] and (corr[32], corr[31], corr[14]) == ("100", "107.90", "300")
    assert bust[19] == fills[1][17] and (bust[32], bust[14], bust[151], bust[39]) == ("200", "100", "200", "1")
    assert bust[6] == "107.90"                              # AvgPx: what is left is the corrected first fill
    # X-4's child: the venue's report breaks the standard (LastCapacity Z): refused by the session, and an alert
    client.send("FIX.4.4", "D", nos("X-4", 300))
    client.until(lambda p: ers(p, "FIX.4.4", "X-4"), what="New X-4")

    venue.venue_behaviour("broken")
    stream.submit(M.ChildNewRequest(ers(client, "FIX.4.4", "X-4")[0][37], "KX-4", "XNAS", "AAPL", "1", 300, "2",
                                    108_000_000))
    stream.wait(lambda r: type(r.msg) is M.OmsAlert and r.msg.code == "VENUE_MESSAGE_REJECTED" and "29" in r.msg.text,
                "an alert for the venue message the session refused")
    venue.venue_behaviour("ack_and_fill")

    # every ExecutionReport the venues sent reached the stream as a venue event (or, refused, as an alert)
    recs = stream.records()
    events = [r for r in recs if r.source == "venuegw" and type(r.msg) in
              (M.VenueAck, M.VenueFill, M.VenueCanceled, M.VenueReject, M.VenueReplaced, M.VenueCancelReject,
               M.VenueTradeCorrection, M.VenueOrderStatus)]
    alerts = [r for r in recs if r.source == "venuegw" and type(r.msg) is M.OmsAlert]
    sent_reports = [m for m in venue.refresh().app_out if m.get(35) in ("8", "9")]
    assert len(events) + len(alerts) == len(sent_reports), (len(events), len(alerts), len(sent_reports))
    assert [a.msg.code for a in alerts] == ["VENUE_MESSAGE_REJECTED"]
    assert len({r.msg.exec_id for r in events if type(r.msg) is M.VenueFill}) == \
        len([r for r in events if type(r.msg) is M.VenueFill])
    assert [(m[373], m[371]) for m in venue.admin_in if m.get(35) == "3"] == [("5", "29")]  # we refused only that
    assert venue.rejects_sent() == []
    assert client.rejects_sent() == []


def test_quickfix_client_reconnects_with_reset_and_gets_what_waited_once(day):
    c, client, venue, stream, ccfg = day
    client.send("FIX.4.4", "D", nos("R-1", 200))
    client.until(lambda p: ers(p, "FIX.4.4", "R-1"), what="New R-1")
    order_id = ers(client, "FIX.4.4", "R-1")[0][37]
    client.logout("FIX.4.4", "test: going away")
    client.until(lambda p: not p.logged_on("FIX.4.4"), what="logged out")
    # while the client is away its order fills: the reports wait for it on the stream
    stream.submit(M.ChildNewRequest(order_id, "KR-1", "XNAS", "AAPL", "1", 200, "2", 108_000_000))
    stream.wait(lambda r: type(r.msg) is M.ExecReport and r.msg.cl_ord_id == "R-1" and r.msg.leaves_qty == 0,
                "the fill report for R-1")
    logons = client.logons
    client.logon("FIX.4.4")
    client.until(lambda p: p.logons > logons, what="logon again (ResetSeqNumFlag=Y)")
    fills = client.until(lambda p: [m for m in ers(p, "FIX.4.4", "R-1") if m.get(32)] if
                         sum(int(m[32]) for m in ers(p, "FIX.4.4", "R-1") if m.get(32)) >= 200 else None,
                         what="both fills after the reconnect")
    time.sleep(1.0)   # anything sent twice would have arrived by now
    again = [m for m in ers(client, "FIX.4.4", "R-1") if m.get(32)]
    assert len(again) == len(fills) == 2 and len({m[17] for m in again}) == 2
    assert all(m.get(43) != "Y" for m in again)            # first sending after the reset, not a PossDup resend
    assert client.rejects_sent() == []
    # the message logs have both sides of it, with the logon events
    log_dir = os.path.join(c.dir, "fixlog")
    day_dir = os.path.join(log_dir, sorted(os.listdir(log_dir))[-1])
    with open(os.path.join(day_dir, "FIX.4.4-SEQTRADE-QF44.messages.log"), "rb") as f:
        lines = f.read().splitlines()
    assert any(b" in 8=FIX.4.4\x01" in x and b"\x0135=D\x01" in x and b"\x0111=R-1\x01" in x for x in lines)
    assert any(b" out 8=FIX.4.4\x01" in x and b"\x0135=8\x01" in x and b"\x0111=R-1\x01" in x for x in lines)
    with open(os.path.join(day_dir, "FIX.4.4-SEQTRADE-QF44.event.log")) as f:
        events = f.read()
    assert "logged on" in events and "sequence reset" in events and "logout by peer" in events


def test_quickfix_client_missing_reports_after_a_reconnect_asks_and_gets_them_resent(day):
    c, client, venue, stream, _ = day
    client.send("FIX.4.2", "D", nos("G-1", 200))
    client.until(lambda p: ers(p, "FIX.4.2", "G-1"), what="New G-1")
    client.logout("FIX.4.2", "test: going away")
    client.until(lambda p: not p.logged_on("FIX.4.2"), what="logged out")
    # QuickFIX "lost" the last three messages we sent it: on logon it finds the gap and asks for a resend
    expected = client.expected_target_num("FIX.4.2")
    client.set_next_target_num("FIX.4.2", expected - 3)
    before = len(client.refresh().app_in)
    logons = client.logons
    client.logon("FIX.4.2")
    client.until(lambda p: p.logons > logons, what="logon again")
    asked = client.until(lambda p: [m for m in p.admin_out if m.get(35) == "2" and m.get(8) == "FIX.4.2"],
                         what="QuickFIX's ResendRequest")
    assert int(asked[-1][7]) == expected - 3
    resent = client.until(lambda p: [m for m in p.app_in[before:] if m.get(43) == "Y" and m.get(8) == "FIX.4.2"],
                          what="the resent reports")
    assert all(122 in m for m in resent) and any(m.get(11) == "G-1" for m in resent)
    # the 4.2 session is set cancel_on_disconnect: G-1 was cancelled when the client went away, and the report
    # waited for it
    [canceled] = client.until(lambda p: [m for m in ers(p, "FIX.4.2", "G-1") if m[39] == "4"], what="G-1 canceled")
    assert "cancel on disconnect" in canceled[58] and canceled[150] == "4"
    assert client.rejects_sent() == []                    # resends and gap fills valid for QuickFIX too


def test_quickfix_client_mass_cancel_gets_its_report_and_every_order_canceled(day):
    c, client, venue, stream, _ = day
    for cl in ("Q-1", "Q-2"):
        client.send("FIX.4.4", "D", nos(cl, 100))
        client.until(lambda p, cl=cl: ers(p, "FIX.4.4", cl), what=f"New {cl}")
    client.send("FIX.4.4", "q", [(11, "MASS-1"), (530, "7"), (60, time.strftime("%Y%m%d-%H:%M:%S", time.gmtime()))])
    [rep] = client.until(lambda p: [m for m in p.app_in if m.get(35) == "r" and m.get(11) == "MASS-1"],
                         what="OrderMassCancelReport")
    assert rep[531] == "7" and int(rep[533]) >= 2
    for cl in ("Q-1", "Q-2"):
        client.until(lambda p, cl=cl: [m for m in ers(p, "FIX.4.4", cl) if m[39] == "4"], what=f"{cl} canceled")
    assert client.rejects_sent() == []


def test_dont_know_trade_both_ways_with_quickfix(day):
    c, client, venue, stream, _ = day
    # a QuickFIX client DKs one of our fills: the desk is told, nothing changes on the order
    client.send("FIX.4.4", "D", nos("DK-1", 200))
    order_id = client.until(lambda p: ers(p, "FIX.4.4", "DK-1"), what="New DK-1")[0][37]
    stream.submit(M.ChildNewRequest(order_id, "KDK-1", "XNAS", "AAPL", "1", 200, "2", 108_000_000))
    fill = client.until(lambda p: [m for m in ers(p, "FIX.4.4", "DK-1") if m.get(32)], what="a fill of DK-1")[0]
    client.send("FIX.4.4", "Q", [(37, order_id), (17, fill[17]), (127, "C"), (55, "AAPL"), (54, "1"),
                                 (32, fill[32]), (31, fill[31]), (58, "quantity does not match")])
    [alert] = stream.wait(lambda r: type(r.msg) is M.OmsAlert and r.msg.code == "CLIENT_DONT_KNOW_TRADE",
                          "the desk's alert for the client's DK")
    assert fill[17] in alert.msg.text and "DKReason C" in alert.msg.text and "it is a fill we reported" in alert.msg.text
    # a QuickFIX venue reports a fill of an order we never sent: our gateway answers DontKnowTrade, valid for QuickFIX
    venue.send("FIX.4.4", "8", [(37, "QZ9"), (11, "NEVER-SENT"), (17, "QDK1"), (150, "F"), (39, "2"), (55, "AAPL"),
                                (54, "1"), (38, 100), (32, 100), (31, "108.00"), (151, 0), (14, 100), (6, "108.00")])
    [dk] = venue.until(lambda p: [m for m in p.app_in if m.get(35) == "Q"], what="our DontKnowTrade")
    assert (dk[37], dk[17], dk[127], dk[55], dk[54], dk[32]) == ("QZ9", "QDK1", "D", "AAPL", "1", "100")
    stream.wait(lambda r: type(r.msg) is M.OmsAlert and r.msg.code == "UNKNOWN_VENUE_ORDER" and "QDK1" in r.msg.text,
                "the alert for the unknown venue order")
    assert venue.rejects_sent() == [] and client.rejects_sent() == []
