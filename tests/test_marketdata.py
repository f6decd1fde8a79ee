"""Market data: NBBO consolidation, conflation that never touches trades, and the gateway as a real process between
a venue simulator's feed and the sequencer."""
from __future__ import annotations

import asyncio
import socket

from hypothesis import given
from hypothesis import strategies as st

from marketdata.consolidate import Conflator, Consolidator
from sequencer import messages as M
from sequencer.client import connect
from sequencer.log import LogReader, log_path
from seqtrade import procs


def test_nbbo_is_best_price_with_size_summed_over_venues_at_it():
    c = Consolidator()
    assert c.update("A", "X", (100, 5, 102, 7)) == (100, 5, 102, 7)
    assert c.update("A", "Y", (100, 3, 101, 2)) == (100, 8, 101, 2)
    assert c.update("A", "Y", (100, 3, 101, 2)) is None               # no change, nothing to publish
    assert c.update("A", "X", (0, 0, 0, 0)) == (100, 3, 101, 2)       # an empty venue drops out


@given(st.lists(st.tuples(st.sampled_from("QQQT"), st.sampled_from(["A", "B"]), st.sampled_from(["X", "Y"]),
                          st.integers(0, 1000)), max_size=60))
def test_conflation_keeps_every_trade_in_order_and_the_latest_quote(events):
    c = Conflator()
    for kind, sym, venue, n in events:
        if kind == "T":
            c.trade(sym, ("T", sym, n))
        else:
            c.quote(sym, venue, ("Q", sym, venue, n))
    out = c.drain()
    assert [e for e in out if e[0] == "T"] == [("T", s, n) for k, s, v, n in events if k == "T"]
    # per symbol: between two trades, at most one quote per venue, and it is the latest one given
    for sym in "AB":
        mine = [e for e in out if e[1] == sym]
        segments, cur = [], []
        for e in mine:
            if e[0] == "T":
                segments.append(cur)
                cur = []
            else:
                cur.append(e)
        segments.append(cur)
        for seg in segments:
            venues = [e[2] for e in seg]
            assert len(venues) == len(set(venues))
    last = {}
    for kind, sym, venue, n in events:
        if kind == "Q":
            last[(sym, venue)] = n
    final = {(e[1], e[2]): e[3] for e in out if e[0] == "Q"}
    assert final == last                     # nothing lost: each venue's latest quote is what remains


def _config(tmp_path) -> tuple[str, int]:
    port = procs.free_port()
    cfg = tmp_path / "seq.toml"
    cfg.write_text(f'[sequencer]\nport = {port}\ndata_dir = "{tmp_path / "data"}"\ntrading_day = "20260105"\n'
                   f'[apps.mdgw]\npassword = "m"\nrole = "marketdata"\n[apps.tester]\npassword = "t"\nrole = "algo"\n')
    return str(cfg), port


def _venue_and_gateway(tmp_path, cfg: str) -> tuple[list, int]:
    """A venue simulator and the market data gateway on its feed, as processes; returns them and the admin port."""
    fix, md, adm = (procs.free_port() for _ in range(3))
    ps = [procs.seqtrade("venue", "--id", "XNAS", "--speed", "20", "--fix-port", str(fix), "--md-port", str(md),
                         "--admin-port", str(adm), log_path=str(tmp_path / "venue.out"))]
    procs.wait_port("127.0.0.1", adm, proc=ps[0])
    ps.append(procs.seqtrade("mdgw", "--config", cfg, "--feed", f"XNAS=127.0.0.1:{md}",
                             log_path=str(tmp_path / "mdgw.out")))
    return ps, adm


def test_gateway_sequences_subscribed_symbols_and_halts(tmp_path):
    cfg, port = _config(tmp_path)
    ps = [procs.seqtrade("sequencer", "--config", cfg, log_path=str(tmp_path / "seq.out"))]
    try:
        procs.wait_port("127.0.0.1", port, proc=ps[0])
        more, adm = _venue_and_gateway(tmp_path, cfg)
        ps += more

        async def scenario():
            conn, w = await connect("127.0.0.1", port, "tester", "t")
            m = M.MdSubscribe("AAPL", "tester")
            conn.submit(1, M.tag_of(m), M.encode(m))
            conn.flush()
            await asyncio.sleep(2.0)
            with socket.create_connection(("127.0.0.1", adm)) as s:
                s.sendall(b"halt AAPL\n")
                assert s.makefile().readline().strip() == "ok halt AAPL"
            await asyncio.sleep(1.0)
            conn.close()
        asyncio.run(scenario())
    finally:
        for p in reversed(ps):
            procs.stop(p)
    recs = list(LogReader(log_path(str(tmp_path / "data"), "20260105")).records())
    md_recs = [r.msg for r in recs if r.source == "mdgw"]
    quotes = [m for m in md_recs if isinstance(m, M.Quote)]
    assert quotes and {q.symbol for q in quotes} == {"AAPL"}           # only what was asked for
    assert any(q.venue == "" for q in quotes) and any(q.venue == "XNAS" for q in quotes)
    assert any(isinstance(m, M.Trade) and m.symbol == "AAPL" for m in md_recs)
    assert M.SymbolStatus("AAPL", True) in md_recs


def test_the_gateway_reconnects_at_once_when_the_sequencer_restarts(tmp_path):
    """kill -9 of the sequencer mid-day: the gateway is back, subscriptions intact, within a second of the restart."""
    import time
    cfg, port = _config(tmp_path)
    path = log_path(str(tmp_path / "data"), "20260105")
    seq = procs.seqtrade("sequencer", "--config", cfg, log_path=str(tmp_path / "seq.out"))
    ps = []
    try:
        procs.wait_port("127.0.0.1", port, proc=seq)
        ps, _ = _venue_and_gateway(tmp_path, cfg)

        async def subscribe():
            conn, w = await connect("127.0.0.1", port, "tester", "t")
            m = M.MdSubscribe("AAPL", "tester")
            conn.submit(1, M.tag_of(m), M.encode(m))
            conn.flush()
            await asyncio.sleep(1.5)
            conn.close()
        asyncio.run(subscribe())

        def quotes():
            return sum(1 for r in LogReader(path).records() if r.source == "mdgw")
        assert quotes() > 0
        procs.kill9(seq)
        seq = procs.seqtrade("sequencer", "--config", cfg, log_path=str(tmp_path / "seq.out"))
        procs.wait_port("127.0.0.1", port, proc=seq)
        t0, before = time.monotonic(), quotes()
        while quotes() == before and time.monotonic() - t0 < 10:
            time.sleep(0.05)
        back = time.monotonic() - t0
        assert quotes() > before, open(tmp_path / "mdgw.out").read()
        assert back < 2.0, back
    finally:
        for p in reversed(ps):
            procs.stop(p)
        procs.stop(seq)
