"""Bounded fuzzing of every input a stranger or a broken peer controls: the sequencer's frames and SUBMIT items, FIX
messages before and after logon, the market data feed, cluster and reference data files. The property each time:
a clear, specific error or a normal answer; never a crash, a hang, unbounded memory, or a log that no longer
verifies. Each regression of issue 17 has its own test where the finding is (test_server, test_log, ...)."""
from __future__ import annotations

import asyncio
import os
import tracemalloc

import simplefix
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixgw.session import Session, SessionConfig, fix_time
from marketdata.feed import FeedError, FeedReader
from marketdata.feed import frame as feed_frame
from sequencer import config, protocol
from sequencer import log as L
from sequencer import messages as M
from sequencer.core import SequencerCore, SubmitError

# derandomized: the same examples on every run, so CI is repeatable (a longer, random run: --hypothesis-seed=N and a
# larger max_examples)
FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
T0 = 1_795_444_200_000_000_000


# -- the sequencer's wire: frames and SUBMIT bodies ------------------------------------------------------------------
@FUZZ
@given(st.lists(st.binary(max_size=200), max_size=20))
def test_frame_reader_on_arbitrary_bytes_yields_frames_or_a_protocol_error(chunks):
    r = protocol.FrameReader(protocol.MAX_FRAME_BEFORE_HELLO)
    try:
        for c in chunks:
            for kind, body in r.feed(c):
                assert isinstance(kind, int) and len(body) < protocol.MAX_FRAME_BEFORE_HELLO
    except protocol.ProtocolError as e:
        assert "frame length" in str(e)
    assert len(r.buf) <= protocol.MAX_FRAME_BEFORE_HELLO + 5


_items = st.lists(st.tuples(st.integers(-5, 2**64 - 1), st.one_of(st.sampled_from(sorted(M.TYPES_BY_TAG)),
                                                                   st.integers(0, 70000)),
                            st.one_of(st.binary(max_size=64),
                                      st.builds(lambda n: M.encode(M.Ping(n)), st.integers(0, 2**63 - 1)))),
                  max_size=8)


@FUZZ
@given(st.one_of(st.binary(max_size=300), _items.map(lambda it: M.msgspec.msgpack.encode(it))),
       st.sampled_from(["sample", "reader", "oms"]))
def test_submit_bodies_are_sequenced_or_refused_and_the_log_always_verifies(tmp_path_factory, body, role):
    from sequencer import rights
    d = tmp_path_factory.mktemp("fz")
    w = L.LogWriter(L.log_path(str(d), "20260105"), "20260105", fsync="never", notice=lambda m: None)
    core = SequencerCore(w, True, {"x": rights.tags_of([role])})
    try:
        items = protocol.decode_items(body)
        core.sequence("x", items, T0)
    except (protocol.ProtocolError, SubmitError):
        pass
    core.commit()
    w.close()
    L.verify(w.path)


# -- FIX, before and after logon -------------------------------------------------------------------------------------
def _fix(begin, msgtype, seq, body, sender="CLIENT"):
    m = simplefix.FixMessage()
    m.append_pair(8, begin)
    m.append_pair(35, msgtype)
    m.append_pair(49, sender)
    m.append_pair(56, "BROKER")
    m.append_pair(34, seq)
    m.append_pair(52, fix_time(T0))
    for t, v in body:
        m.append_pair(t, v)
    return m.encode()


_fields = st.lists(st.tuples(st.integers(1, 10000), st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126),
                                                            max_size=12)), max_size=12)
_msgtypes = st.sampled_from(["0", "1", "2", "3", "4", "5", "A", "D", "F", "G", "H", "8", "9", "j", "R", "ZZ"])


@FUZZ
@given(st.sampled_from(["FIX.4.2", "FIX.4.4"]), st.booleans(),
       st.lists(st.one_of(st.binary(max_size=120), st.tuples(_msgtypes, st.integers(0, 50), _fields)), max_size=10))
def test_fix_session_never_raises_and_never_loses_a_valid_order_in_the_same_read(begin, logged_on, inputs):
    s = Session(SessionConfig(begin, "BROKER", "CLIENT", heartbeat_s=30))
    s.on_connect(T0)
    if logged_on:
        s.on_data(_fix(begin, "A", 1, [(98, "0"), (108, "30")]), T0)
    data = b"".join(x if isinstance(x, bytes) else _fix(begin, x[0], x[1], x[2]) for x in inputs)
    out = s.on_data(data, T0)                    # must not raise
    assert all(isinstance(a, tuple) and a[0] in ("send", "app", "log", "event", "recv", "disconnect") for a in out)
    assert not any(a[0] == "log" and "internal error" in a[1] for a in out), [a for a in out if a[0] == "log"]
    if s.status == Session.ACTIVE and not any(a[0] == "disconnect" for a in out):
        nos = [(11, "Z1"), (21, "1"), (55, "AAPL"), (54, "1"), (60, "20261123-14:30:00"), (38, "100"), (40, "2"),
               (44, "10")]
        got = s.on_data(_fix(begin, "D", s.st.next_in, nos), T0)
        assert [a[1] for a in got if a[0] == "app"] == ["D"]   # the session is still usable afterwards


@settings(max_examples=15, deadline=None, derandomize=True)
@given(st.lists(st.binary(max_size=300), max_size=8))
def test_the_acceptor_front_door_survives_anything_before_logon(chunks):
    from fixgw import tcp

    async def go():
        acc = tcp.Acceptor([SessionConfig("FIX.4.4", "BROKER", "CLIENT", heartbeat_s=30, logon_timeout_s=1)],
                           lambda *a: None, log=lambda m: None)
        port = await acc.start("127.0.0.1", 0)
        r, w = await asyncio.open_connection("127.0.0.1", port)
        for c in chunks:
            w.write(c)
        await w.drain()
        try:
            await asyncio.wait_for(r.read(1 << 16), 3)
        except (asyncio.TimeoutError, ConnectionError):
            pass
        w.close()
        st_ = acc.states["CLIENT"]
        acc.close()
        return st_.next_in, st_.next_out, dict(acc.active)
    assert asyncio.run(go()) == (1, 1, {})


# -- the market data feed -------------------------------------------------------------------------------------------
@FUZZ
@given(st.lists(st.one_of(st.binary(max_size=100),
                          st.builds(lambda n: feed_frame(["T", n, 0, "AAPL", 1, 1]), st.integers(0, 10**6))),
                max_size=30))
def test_feed_reader_is_bounded_and_raises_only_feed_errors(chunks):
    r = FeedReader()
    try:
        for c in chunks:
            r.feed(c)
            assert len(r.buf) < 4096 + 4 + 100
    except FeedError:
        pass


def test_feed_reader_memory_stays_flat_on_a_long_stream():
    r = FeedReader()
    one = feed_frame(["Q", 1, 0, "AAPL", 100, 1, 101, 1])
    stream = one * 100_000                      # ~2.5 MB, read in chunks that cut updates anywhere
    tracemalloc.start()
    n = 0
    for i in range(0, len(stream), 4093):
        n += len(r.feed(stream[i:i + 4093]))
    cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert n == 100_000 and peak < 200_000      # a chunk and its updates at a time, never the stream


# -- configuration files --------------------------------------------------------------------------------------------
_toml_lines = st.lists(st.one_of(
    st.sampled_from(["[sequencer]", "[apps.a]", "[apps.b]", "[fixgw.gw]", "[cluster]", "[process.p]", "[[x]]",
                     'port = 7700', 'port = 99999', 'port = -1', 'port = "x"', 'password = "p"', 'role = "oms"',
                     'role = "nope"', 'kind = "client"', 'kind = "venue"', 'listen = "127.0.0.1:99999"',
                     'fsync = "sometimes"', 'trading_day = "2026"', "a = [[[[[[[[[[1]]]]]]]]]]", "= 1",
                     'password_hash = "x"', 'clock_speed = 0', 'sessions = 3', 'x = {a = {b = {c = 1}}}']),
    st.text(max_size=30)), max_size=14)


@FUZZ
@given(_toml_lines)
def test_cluster_files_load_or_give_a_config_error_naming_the_file(tmp_path_factory, lines):
    from fixgw import config as fixgw_config
    from seqtrade import clusterconfig
    p = tmp_path_factory.mktemp("cf") / "c.toml"
    p.write_text("\n".join(lines) + "\n")
    for load in (config.load, clusterconfig.load, lambda path: fixgw_config.build(path, "gw")):
        try:
            load(str(p))
        except config.ConfigError as e:
            assert str(p) in str(e)


def test_deeply_nested_toml_is_a_config_error(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    try:
        config.load(str(p))
    except config.ConfigError as e:
        assert "nested too deeply" in str(e) or "not valid TOML" in str(e)
    else:
        raise AssertionError("accepted")


@FUZZ
@given(st.lists(st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=0x2FF), max_size=60), max_size=8),
       st.sampled_from(["securities.csv", "venues.csv", "symbol_stats.csv", "clients.csv"]))
def test_refdata_files_load_or_name_file_line_and_column(tmp_path_factory, rows, which):
    import shutil

    from refdata.load import load_dir
    from refdata.tables import RefDataError
    from seqtrade.localcluster import SAMPLE
    d = tmp_path_factory.mktemp("rd")
    shutil.copytree(SAMPLE, d, dirs_exist_ok=True)
    path = os.path.join(d, which)
    if os.path.exists(path):
        head = open(path).read().splitlines()[0]
        open(path, "w").write("\n".join([head] + rows) + "\n")
    try:
        load_dir(str(d))
    except RefDataError as e:
        assert which in str(e) or str(d) in str(e)
