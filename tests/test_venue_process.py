"""``seqtrade venue`` as a real process: FIX order entry through our session layer over TCP, the market data feed,
and the fault-injection operations."""
from __future__ import annotations

import asyncio
import socket

import pytest

from fixgw.session import SessionConfig
from fixgw.tcp import connect_initiator
from marketdata.feed import FeedReader
from seqtrade.procs import free_port, seqtrade, stop, wait_port


@pytest.fixture(scope="module")
def venue(tmp_path_factory):
    fix, md, adm = free_port(), free_port(), free_port()
    p = seqtrade("venue", "--id", "XNAS", "--speed", "20", "--fix-port", str(fix), "--md-port", str(md),
                 "--admin-port", str(adm), "--begin", "FIX.4.4",
                 log_path=str(tmp_path_factory.mktemp("venue") / "venue.log"))
    for port in (fix, md, adm):
        wait_port("127.0.0.1", port, proc=p)
    yield fix, md, adm
    stop(p)


def admin(port: int, line: str) -> str:
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(line.encode() + b"\n")
        return s.makefile().readline().strip()


async def order_entry(fix_port: int, msgs: list, want: int, session="S1"):
    got = []
    done = asyncio.Event()

    def on_app(conn, msgtype, fields):
        got.append((msgtype, {int(t): v.decode() for t, v in fields}))
        if len(got) >= want:
            done.set()
    conn = await connect_initiator(SessionConfig("FIX.4.4", session, "XNAS", initiator=True, heartbeat_s=5,
                                                 reset_on_logon=True), "127.0.0.1", fix_port, on_app)
    await asyncio.sleep(0.3)  # logon
    for mt, body in msgs:
        conn.send_app(mt, body)
    await asyncio.wait_for(done.wait(), 10)
    conn.transport.close()
    return got


async def read_feed(md_port: int, n: int):
    r, w = await asyncio.open_connection("127.0.0.1", md_port)
    fr, out = FeedReader(), []
    while len(out) < n:
        out += fr.feed(await asyncio.wait_for(r.read(65536), 10))
    w.close()
    return out


def nos(cl, side="1", qty=100, px="1.00", tif="0"):
    return ("D", [(11, cl), (21, "1"), (55, "AAPL"), (54, side), (60, "20260102-14:31:00.000"), (40, "2"),
                  (38, qty), (44, px), (59, tif)])


def test_market_data_feed_has_tops_and_trades(venue):
    updates = asyncio.run(read_feed(venue[1], 300))
    kinds = {u[0] for u in updates}
    assert kinds == {"Q", "T"}
    q = next(u for u in updates if u[0] == "Q" and u[3] == "AAPL")
    assert q[4] < q[6]  # bid below ask
    seqs = [u[1] for u in updates[20:]]
    assert seqs == sorted(seqs)


def test_order_entry_acks_rests_and_cancels(venue):
    got = asyncio.run(order_entry(venue[0], [nos("A1", px="1.00"), ("F", [(41, "A1"), (11, "A2"), (55, "AAPL"),
                                                                           (54, "1"), (60, "20260102-14:31:00.000")])],
                                  2))
    (mt1, ack), (mt2, cxl) = got
    assert (mt1, ack[150], ack[39], ack[11], ack[151]) == ("8", "0", "0", "A1", "100")
    assert (mt2, cxl[150], cxl[39], cxl[11], cxl[41]) == ("8", "4", "4", "A2", "A1")


def test_marketable_order_fills(venue):
    got = asyncio.run(order_entry(venue[0], [nos("B1", px="100000", qty=50, tif="3")], 2))
    fills = [f for mt, f in got if f.get(150) == "F"]
    assert fills and int(fills[0][32]) > 0 and fills[0][851] == "2"


def test_halt_and_reject_all_are_operations(venue):
    assert admin(venue[2], "halt AAPL") == "ok halt AAPL"
    (mt, rej), = asyncio.run(order_entry(venue[0], [nos("C1")], 1))
    assert (rej[150], rej[39], rej[58]) == ("8", "8", "symbol halted")
    assert admin(venue[2], "resume AAPL") == "ok resume AAPL"
    assert admin(venue[2], "reject on") == "ok reject on"
    (mt, rej), = asyncio.run(order_entry(venue[0], [nos("C2")], 1))
    assert rej[58] == "venue is rejecting all orders"
    assert admin(venue[2], "reject off") == "ok reject off"
    assert admin(venue[2], "bogus").startswith("error: unknown command")


def test_resting_order_filled_by_the_background_flow_is_reported(venue):
    """A buy resting at the top of the book is hit by the simulated sellers between order entries: those fills must
    reach the client as execution reports (they are what a venue's own flow does to our children)."""
    fix, md, _ = venue

    async def scenario():
        top = [u for u in await read_feed(md, 20) if u[0] == "Q" and u[3] == "AAPL"][-1]
        from sequencer.messages import format_price
        # one tick under the offer: the best bid, where the simulated sellers (limited at the touch) trade first
        body = [(11, "REST-1"), (55, "AAPL"), (54, "1"), (60, "20261121-14:31:00.000"), (38, 5000), (40, "2"),
                (44, format_price(top[6] - 10_000)), (59, "0")]
        return await order_entry(fix, [("D", body)], want=2, session="S2")
    got = asyncio.run(scenario())
    assert got[0][1][150] == "0"
    fill = got[1][1]
    assert fill[150] == "F" and int(fill[32]) > 0 and fill[11] == "REST-1"
