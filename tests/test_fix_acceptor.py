"""The acceptor's front door on real sockets: a session is bound only after a whole, authenticated Logon; silent or
hostile connections are closed without touching any session; failed logons are delayed and a host that keeps failing
is locked out for a while."""
from __future__ import annotations

import asyncio

import simplefix

from fixgw import tcp
from fixgw.fix_client import FixClient
from fixgw.session import Session, SessionConfig, fix_time

import time


def cfg(**kw) -> SessionConfig:
    return SessionConfig("FIX.4.4", "BROKER", "CLIENT", heartbeat_s=30, username="trader", password="s3cret",
                         logon_timeout_s=1, **kw)


def logon_bytes(password: str, sender: str = "CLIENT") -> bytes:
    m = simplefix.FixMessage()
    for t, v in ((8, "FIX.4.4"), (35, "A"), (49, sender), (56, "BROKER"), (34, 1), (52, fix_time(time.time_ns())),
                 (98, "0"), (108, "30"), (553, "trader"), (554, password)):
        m.append_pair(t, v)
    return m.encode()


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    try:
        data = await asyncio.wait_for(reader.read(65536), seconds)
    except asyncio.TimeoutError:
        return False
    return data == b"" or b"35=5" in data


async def start(tmp_path, logs: list):
    acc = tcp.Acceptor([cfg()], lambda conn, mt, f: None, log=logs.append, message_log_dir=str(tmp_path / "fixlog"))
    port = await acc.start("127.0.0.1", 0)
    return acc, port


def test_a_connection_naming_a_client_without_a_logon_holds_nothing(tmp_path):
    async def go():
        logs: list = []
        acc, port = await start(tmp_path, logs)
        squatter_r, squatter_w = await asyncio.open_connection("127.0.0.1", port)
        squatter_w.write(b"8=FIX.4.4\x019=70\x0135=A\x0149=CLIENT\x01")      # names the client, never finishes
        await squatter_w.drain()
        real = FixClient(SessionConfig("FIX.4.4", "CLIENT", "BROKER", initiator=True, heartbeat_s=30,
                                       username="trader", password="s3cret"))
        await real.connect("127.0.0.1", port)                                # logs on at once, squatter or not
        assert real.conn.session.status == Session.ACTIVE
        assert await closed_within(squatter_r, 3.0)                         # the logon timeout ends it
        await real.close()
        acc.close()
    asyncio.run(go())


def test_failed_logons_are_delayed_then_the_host_is_locked_out_and_no_session_is_touched(tmp_path, monkeypatch):
    monkeypatch.setattr(tcp, "FAILED_LOGON_DELAY_S", 0.3)
    monkeypatch.setattr(tcp, "FAILED_LOGON_WINDOW_S", 30.0)

    async def go():
        logs: list = []
        acc, port = await start(tmp_path, logs)
        for _ in range(tcp.FAILED_LOGON_LIMIT):
            r, w = await asyncio.open_connection("127.0.0.1", port)
            w.write(logon_bytes("guess"))
            await w.drain()
            assert not await closed_within(r, 0.1)          # not answered at once: the delay slows guessing
            assert await closed_within(r, 2.0)
            w.close()
        # locked out now: even the right password from this host is refused until the window passes
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(logon_bytes("s3cret"))
        await w.drain()
        assert await closed_within(r, 1.0)
        w.close()
        st = acc.states["CLIENT"]
        assert (st.next_in, st.next_out, acc.active) == (1, 1, {})          # no session state was touched
        refusals = [x for x in logs if "logon refused" in x]
        assert len(refusals) == tcp.FAILED_LOGON_LIMIT and "refused for" in refusals[-1]
        acc.close()
    asyncio.run(go())


def test_garbage_unknown_compids_and_non_logon_first_messages_are_closed(tmp_path):
    async def go():
        logs: list = []
        acc, port = await start(tmp_path, logs)
        m = simplefix.FixMessage()
        for t, v in ((8, "FIX.4.4"), (35, "D"), (49, "CLIENT"), (56, "BROKER"), (34, 1), (52, "20261123-14:30:00")):
            m.append_pair(t, v)
        for data in (b"\x00" * 5000, logon_bytes("s3cret", sender="STRANGER"), m.encode()):
            r, w = await asyncio.open_connection("127.0.0.1", port)
            w.write(data)
            await w.drain()
            assert await closed_within(r, 3.0), data[:40]
            w.close()
        assert acc.states["CLIENT"].next_in == 1 and acc.active == {}
        acc.close()
    asyncio.run(go())


def test_an_edge_encodes_a_message_before_it_takes_a_submission_number():
    # a message the stream cannot encode must not consume a source_seq: the sequencer would refuse every later one
    # as a gap (it once stalled a whole client gateway)
    import pytest

    from sequencer import messages as M
    from sequencer.edge import EdgeClient
    e = EdgeClient("clientgw", "pw", "127.0.0.1", 1, lambda recs: None)
    with pytest.raises(OverflowError):
        e.submit(M.NewOrder("C1", "A-1", "AAPL", "1", 2**70, "2", 1))
    assert e.sseq == 0 and e.pending == {}
    assert e.submit(M.NewOrder("C1", "A-2", "AAPL", "1", 100, "2", 1)) == 1
