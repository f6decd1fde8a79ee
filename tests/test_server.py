"""The sequencer server over real TCP on loopback (server and clients in this process's event loop)."""
import asyncio
import socket
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sequencer import config, messages as M, protocol
from sequencer.client import SequencerError, connect
from sequencer.log import read_all
from sequencer.server import SequencerServer

PING = M.tag_of(M.Ping(0))


def make_cfg(tmp, **kw):
    cfg = config.from_dict({
        "sequencer": {"port": 1, "data_dir": str(tmp), "trading_day": "20260105", "fsync": "batch",
                      "clock_interval_ms": 10_000, "clock_sample_s": 0, **kw},
        "apps": {"a": {"password": "pa", "role": "sample"}, "b": {"password": "pb", "role": "sample"},
                 "reader": {"password": "pr"}}})
    cfg.port = 0  # any free port
    return cfg


async def started(cfg):
    s = SequencerServer(cfg, notice=lambda m: None)
    await s.start()
    return s


async def submit_n(port, app, pw, start, n):
    conn, w = await connect("127.0.0.1", port, app, pw)
    for i in range(start, start + n):
        conn.submit(i, PING, M.encode(M.Ping(i)))
    conn.flush()
    return conn, w


async def collect(port, from_seq, until_seq, app="reader", pw="pr"):
    got = []
    done = asyncio.Event()

    def on_records(recs):
        got.extend(recs)
        if got and got[-1].seq >= until_seq:
            done.set()
    conn, _ = await connect("127.0.0.1", port, app, pw, on_records=on_records)
    conn.subscribe(from_seq)
    await asyncio.wait_for(done.wait(), 10)
    conn.close()
    return got


def test_history_then_live_with_no_gap_and_no_duplicate(tmp_path):
    async def main():
        s = await started(make_cfg(tmp_path))
        a, _ = await submit_n(s.port, "a", "pa", 1, 3000)     # history ...
        while s.log.committed_seq < 3001:
            await asyncio.sleep(0.01)
        reader = asyncio.ensure_future(collect(s.port, 1, 6001))
        await asyncio.sleep(0)
        for i in range(3001, 6001, 100):                       # ... and live traffic while it catches up
            for j in range(i, i + 100):
                a.submit(j, PING, M.encode(M.Ping(j)))
            await asyncio.sleep(0)
        got = await reader
        a.close()
        s.close()
        return got
    got = asyncio.run(main())
    assert [r.seq for r in got] == list(range(1, 6002))
    assert [r.msg.n for r in got[1:]] == list(range(1, 6001))
    assert [r.key() for r in got] == [r.key() for r in read_all(str(tmp_path / "seq-20260105.log"))]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, 2600))
def test_catch_up_from_any_seq(tmp_path_factory, from_seq):
    tmp = tmp_path_factory.mktemp("cu")

    async def main():
        s = await started(make_cfg(tmp, fsync="never"))
        a, _ = await submit_n(s.port, "a", "pa", 1, 2500)
        while s.log.committed_seq < 2501:
            await asyncio.sleep(0.01)
        got = await collect(s.port, from_seq, 2501) if from_seq <= 2501 else []
        a.close()
        s.close()
        return got
    got = asyncio.run(main())
    assert [r.seq for r in got] == list(range(from_seq, 2502))


def test_resent_batch_after_reconnect_is_not_duplicated(tmp_path):
    async def main():
        s = await started(make_cfg(tmp_path))
        a, w = await submit_n(s.port, "a", "pa", 1, 10)
        assert w.last_source_seq == 0
        await asyncio.sleep(0.1)
        a.close()
        await asyncio.sleep(0.05)
        a2, w2 = await submit_n(s.port, "a", "pa", 1, 15)  # resends 1..10, adds 11..15
        assert w2.last_source_seq == 10
        await asyncio.sleep(0.1)
        a2.close()
        s.close()
    asyncio.run(main())
    recs = [r for r in read_all(str(tmp_path / "seq-20260105.log")) if r.source == "a"]
    assert [r.source_seq for r in recs] == list(range(1, 16))


def test_wrong_password_duplicate_login_and_gap_get_clear_errors(tmp_path):
    async def main():
        s = await started(make_cfg(tmp_path))
        with pytest.raises(SequencerError, match="unknown app or wrong password"):
            await connect("127.0.0.1", s.port, "a", "nope")
        a, _ = await connect("127.0.0.1", s.port, "a", "pa")
        with pytest.raises(SequencerError, match="already connected"):
            await connect("127.0.0.1", s.port, "a", "pa")
        lost = asyncio.get_running_loop().create_future()
        b, _ = await connect("127.0.0.1", s.port, "b", "pb", on_lost=lambda e: lost.set_result(e))
        b.submit(5, PING, M.encode(M.Ping(5)))
        b.flush()
        err = await asyncio.wait_for(lost, 5)
        a.close()
        s.close()
        return err, b.error
    err, text = asyncio.run(main())
    assert "source_seq 5 leaves a gap after 0" in text


def test_slow_subscriber_is_cut_off_and_told_why(tmp_path):
    async def main():
        s = await started(make_cfg(tmp_path, fsync="never", max_subscriber_lag_bytes=200_000))
        # a raw subscriber that never reads
        raw = socket.create_connection(("127.0.0.1", s.port))
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.sendall(protocol.frame(protocol.HELLO, protocol.encode(protocol.Hello("reader", "pr",
                                                                                  M.SCHEMA_VERSION))))
        raw.sendall(protocol.frame(protocol.SUBSCRIBE, protocol.U64.pack(10**9)))
        await asyncio.sleep(0.1)
        a, _ = await connect("127.0.0.1", s.port, "a", "pa")
        n = 0
        for _ in range(200):
            for _ in range(500):
                n += 1
                a.submit(n, PING, M.encode(M.Ping(n, px=n)))
            await asyncio.sleep(0)
            if "reader" not in s.apps:
                break
        assert "reader" not in s.apps, "the slow subscriber should have been cut off"
        raw.close()
        # the sequencer kept going, and the next connection is told why the last one was cut
        _, w = await connect("127.0.0.1", s.port, "reader", "pr")
        a.close()
        s.close()
        return w.note, s.log.committed_seq
    note, head = asyncio.run(main())
    assert "slow subscriber" in note and head > 1000


def test_config_errors_name_file_and_line(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[sequencer]\nport = 7700\nfsync = "sometimes"\n')
    with pytest.raises(config.ConfigError, match=r"c.toml:3: fsync must be"):
        config.load(str(p))
    p.write_text('[sequencer]\nport = 7700\n\n[apps.a]\npassword = "x"\ncolour = "red"\n')
    with pytest.raises(config.ConfigError, match=r"c.toml:6: unknown setting 'colour'"):
        config.load(str(p))
    p.write_text('[sequencer]\nport = "seven"\n')
    with pytest.raises(config.ConfigError, match=r"c.toml:2: \[sequencer\] port must be a int"):
        config.load(str(p))
    p.write_text('[sequencer]\nport = = 1\n')
    with pytest.raises(config.ConfigError, match=r"c.toml:2: not valid TOML"):
        config.load(str(p))
    p.write_text('[sequencer]\nport = 7700\n\n[apps.a]\npassword = "x"\nsnapshot_dir = "s"\nsnapshot_every = 0\n')
    with pytest.raises(config.ConfigError, match=r"c.toml:7: snapshot_every must be positive"):
        config.load(str(p))
    p.write_text('[sequencer]\nport = 7700\n\n[apps.a]\npassword = "x"\nsnapshot_dir = "s"\nsnapshot_every = 500\n')
    assert (config.load(str(p)).apps["a"].snapshot_dir, config.load(str(p)).apps["a"].snapshot_every) == ("s", 500)


def test_status_names_each_connection_and_how_far_it_has_been_sent(tmp_path):
    from sequencer.status import query

    async def main():
        s = await started(make_cfg(tmp_path))
        a, _ = await submit_n(s.port, "a", "pa", 1, 500)
        while s.log.committed_seq < 501:
            await asyncio.sleep(0.01)
        got = await collect(s.port, 1, 501)      # a reader that has everything, then leaves
        reader, _ = await connect("127.0.0.1", s.port, "b", "pb")
        reader.subscribe(400)
        await asyncio.sleep(0.2)
        loop = asyncio.get_running_loop()
        st = await loop.run_in_executor(None, lambda: query("127.0.0.1", s.port, auth=("reader", "pr")))
        public = await loop.run_in_executor(None, query, "127.0.0.1", s.port)
        a.close()
        reader.close()
        s.close()
        return got, st, public
    got, st, public = asyncio.run(main())
    # without credentials: what a simulator pacing itself needs, and nothing about who is connected or where
    assert (public.head_seq, public.trading_day, public.log_path, public.sessions) == (501, "20260105", "", [])
    assert len(got) == 501
    assert (st.trading_day, st.head_seq) == ("20260105", 501)
    by = {x.app: x for x in st.sessions}
    assert sorted(by) == ["a", "b"]                 # the reader that left is gone
    assert (by["a"].subscribed, by["a"].last_source_seq) == (False, 500)
    assert (by["b"].subscribed, by["b"].live, by["b"].delivered_seq) == (True, True, 501)


def test_clock_samples_record_the_host_time_source(tmp_path):
    async def main():
        s = await started(make_cfg(tmp_path, clock_sample_s=0.05, clock_interval_ms=20))
        await asyncio.sleep(0.3)
        s.close()
    asyncio.run(main())
    samples = [r.msg for r in read_all(str(tmp_path / "seq-20260105.log")) if isinstance(r.msg, M.ClockSample)]
    assert len(samples) >= 2
    assert all(m.host == socket.gethostname() for m in samples)
    # what the kernel says: either synchronised with a bounded error, or not synchronised
    assert all(m.max_error_ns >= 0 or not m.synced for m in samples)


def _refused(tmp_path, app, pw, msg, apps=None):
    cfg = make_cfg(tmp_path)
    for name, kv in (apps or {}).items():
        cfg.apps[name] = config.AppConfig(name, kv["password"], roles=tuple(kv["roles"]))

    async def main():
        s = await started(cfg)
        lost = asyncio.get_running_loop().create_future()
        c, _ = await connect("127.0.0.1", s.port, app, pw, on_lost=lambda e: lost.done() or lost.set_result(e))
        c.submit(1, M.tag_of(msg), M.encode(msg))
        c.flush()
        await asyncio.wait_for(lost, 5)
        sequenced = s.log.committed_seq
        s.close()
        return c.error, sequenced
    return asyncio.run(main())


@pytest.mark.parametrize("app, pw, msg, why", [
    ("a", "pa", M.NewOrder("CLIENT2", "X", "AAPL", "1", 100, "2", 1), "a may not submit NewOrder"),
    ("reader", "pr", M.Ping(1), "reader may not submit Ping"),
    ("a", "pa", M.Clock(), "a may not submit Clock: only the sequencer does"),
    ("a", "pa", M.EndOfDay("x"), "only the sequencer does"),
    ("a", "pa", M.KillSwitch("*", True, True), "a may not submit KillSwitch"),
])
def test_message_rights_per_source_are_enforced_before_sequencing(tmp_path, app, pw, msg, why):
    text, sequenced = _refused(tmp_path, app, pw, msg)
    assert why in text and sequenced == 1                  # only the DayStart: nothing of the refused batch


def test_a_gateway_may_not_write_another_gateway_s_session_marks(tmp_path):
    gws = {"gw1": {"password": "g1", "roles": ["client-gateway"]}, "gw2": {"password": "g2", "roles": ["client-gateway"]}}
    mark = M.FixSessionMark("gw2", "C1", 1, 1, 0, False, 0, [], [])
    text, sequenced = _refused(tmp_path, "gw1", "g1", mark, gws)
    assert "names gateway 'gw2', not its sender" in text and sequenced == 1


def test_the_rights_table_is_on_the_stream_and_again_after_a_restart(tmp_path):
    cfg = make_cfg(tmp_path)
    s = SequencerServer(cfg, notice=lambda m: None)
    s.log.close()
    first = read_all(s.path)[0].msg
    tags = M.TAG_OF_CLASS
    assert first.rights["a"] == sorted(tags[t] for t in (M.Ping, M.Pong, M.Note, M.Blob))
    assert first.rights["reader"] == []
    s2 = SequencerServer(cfg, notice=lambda m: None)      # restarted mid-day: the table again, one record per app
    s2.log.close()
    again = [r.msg for r in read_all(s2.path)[1:]]
    assert [(m.source, m.role) for m in again] == [("a", "sample"), ("b", "sample"), ("reader", "reader")]


def test_roles_are_inferred_from_the_cluster_file_and_a_wrong_one_names_its_line(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[sequencer]\nport = 7700\n[cluster]\npublisher = "pub"\n'
                 '[apps.oms]\npassword = "x"\nclass = "apps.oms:OmsApp"\n[apps.gw]\npassword = "x"\n'
                 '[apps.md]\npassword = "x"\n[apps.pub]\npassword = "x"\n[apps.other]\npassword = "x"\n'
                 '[fixgw.gw]\nkind = "venue"\n[process.md]\nkind = "mdgw"\n')
    cfg = config.load(str(p))
    assert {n: a.roles for n, a in cfg.apps.items()} == {
        "oms": ("oms",), "gw": ("venue-gateway",), "md": ("marketdata",), "pub": ("refdata",), "other": ("reader",)}
    p.write_text('[sequencer]\nport = 7700\n[apps.a]\npassword = "x"\nrole = "god"\n')
    with pytest.raises(config.ConfigError, match=r"c.toml:5: .*unknown role 'god'"):
        config.load(str(p))


def test_limits_before_hello_oversized_payloads_and_status_flood(tmp_path):
    from sequencer import record

    async def raw(port):
        return await asyncio.open_connection("127.0.0.1", port)

    async def closed(r, timeout=8.0):
        try:
            data = await asyncio.wait_for(r.read(1 << 16), timeout)
        except (asyncio.TimeoutError, ConnectionError):
            return False
        while data:
            more = await asyncio.wait_for(r.read(1 << 16), timeout)
            if not more:
                return True
            data = more
        return True

    async def main():
        notices = []
        s = SequencerServer(make_cfg(tmp_path), notice=notices.append)
        await s.start()
        out = {}
        # a frame that declares 64 MiB before HELLO: refused at once, nothing buffered
        r, w = await raw(s.port)
        w.write(protocol.HEAD.pack(64 * 1024 * 1024, protocol.HELLO) + b"\0" * 1000)
        out["big_frame"] = await closed(r)
        # a HELLO of 60 KiB of NUL bytes: refused, and the error output holds a short prefix only
        r, w = await raw(s.port)
        w.write(protocol.frame(protocol.HELLO, b"\0" * 60_000))
        out["nul_hello"] = await closed(r)
        # silence: closed after the HELLO timeout
        r, w = await raw(s.port)
        out["silent"] = await closed(r)
        # STATUS flood: closed after STATUS_PER_S in a second
        r, w = await raw(s.port)
        w.write(protocol.frame(protocol.STATUS) * 200)
        out["status_flood"] = await closed(r)
        # more than MAX_PENDING_CONNECTIONS without HELLO: the extra ones are closed at once
        held = [await raw(s.port) for _ in range(protocol.MAX_PENDING_CONNECTIONS)]
        await asyncio.sleep(0.1)
        r, w = await raw(s.port)
        out["over_cap"] = await closed(r, 2.0)
        for _, hw in held:
            hw.close()
        await asyncio.sleep(0.2)
        # a payload over the record limit: refused before sequencing, the log stays good
        lost = asyncio.get_running_loop().create_future()
        c, _ = await connect("127.0.0.1", s.port, "a", "pa", on_lost=lambda e: lost.done() or lost.set_result(e))
        c.submit(1, M.tag_of(M.Note("")), M.encode(M.Note("x" * (record.MAX_PAYLOAD + 1))))
        c.flush()
        await asyncio.wait_for(lost, 5)
        out["big_payload"] = c.error
        out["seq"] = s.log.committed_seq
        s.close()
        out["notices"] = notices
        return out
    out = asyncio.run(main())
    assert out["big_frame"] and out["nul_hello"] and out["silent"] and out["status_flood"] and out["over_cap"]
    assert "over the record limit" in out["big_payload"] and out["seq"] == 1
    assert max(len(n) for n in out["notices"]) < 500                     # no echo of what a peer sent
    assert any("no HELLO within" in n for n in out["notices"])
    assert read_all(str(tmp_path / "seq-20260105.log"))[-1].seq == 1     # and the log verifies


def test_a_port_out_of_range_is_a_config_error_not_a_bind_traceback(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[sequencer]\nport = 99999\n[apps.a]\npassword = "x"\n')
    with pytest.raises(config.ConfigError, match=r"c.toml:2: port must be 1..65535"):
        config.load(str(p))


@pytest.mark.parametrize("line, text", [
    ('market_close = "16:60"', "market_close must be a time of day"),
    ('market_open = "24:00"', "market_open must be a time of day"),
    ('market_open = "16:00"\nmarket_close = "09:30"', "must be after market_open"),
])
def test_a_day_s_times_are_checked_before_anything_starts(tmp_path, line, text):
    p = tmp_path / "c.toml"
    p.write_text(f'[sequencer]\nport = 7700\n{line}\n[apps.a]\npassword = "x"\n')
    with pytest.raises(config.ConfigError, match=rf"c.toml:\d+: .*{text}"):
        config.load(str(p))


def test_a_restarted_sequencer_on_a_simulated_clock_goes_on_from_the_log_s_last_time(tmp_path):
    """Issue 20: restarted mid-day, a compressed day's clock started again at clock_start and sequenced time froze
    (every record clamped to the last one) until the new clock caught up."""
    cfg = make_cfg(tmp_path, clock_start="09:29:00", clock_speed=60.0)
    s = SequencerServer(cfg, notice=lambda m: None)
    s.core.emit(M.Note("before"), s.clock.now() + 3_600 * 10**9)     # an hour of simulated time went by
    s.core.commit()
    last_before = s.log.last_ts
    s.log.close()
    notices = []
    s2 = SequencerServer(cfg, notice=notices.append)
    ts = s2.clock.now()
    s2.core.emit(M.Note("after"), ts)
    s2.core.commit()
    s2.log.close()
    recs = read_all(s2.path)
    assert recs[-1].ts > last_before and recs[-1].ts - last_before < 60 * 10**9     # within a real second at x60
    assert any("resumes" in n for n in notices)
    time.sleep(0.05)
    assert s2.clock.now() > ts                                   # and it runs: not frozen at the last time
