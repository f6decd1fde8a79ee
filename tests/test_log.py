"""The day's log: round trip, torn tails, corruption, index, verify."""
import os
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sequencer import log as L
from sequencer import messages as M
from sequencer import record
from sequencer.core import SequencerCore

DAY = "20260105"
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

msgs = st.one_of(
    st.builds(M.Ping, st.integers(0, 2**63 - 1), st.integers(-(2**63), 2**63 - 1)),
    st.builds(M.Note, st.text(max_size=300)),
    st.builds(M.Pong, st.integers(0, 2**40), st.integers(0, 2**40)),
)
batches = st.lists(st.lists(st.tuples(st.sampled_from(["a", "bb", "ccc"]), msgs), min_size=1, max_size=8),
                   min_size=1, max_size=12)


def write_log(path, batches, fsync="never"):
    """Sequence the batches; returns the expected (seq, ts, source, source_seq, type, payload) keys."""
    w = L.LogWriter(path, DAY, fsync=fsync, notice=lambda m: None)
    core = SequencerCore(w)
    counters = {}
    ts = 1_000
    for batch in batches:
        ts += 7
        for src, msg in batch:
            counters[src] = counters.get(src, 0) + 1
            core.sequence(src, [(counters[src], M.tag_of(msg), M.encode(msg))], ts)
        core.commit()
    w.close()
    return w


def record_offsets(path):
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        L.read_file_head(path, f)
        return [(off, len(body)) for off, body in L.iter_frames(path, f, L.FILE_HEAD_SIZE, size)]


@FAST
@given(batches)
def test_round_trip(tmp_path_factory, batches):
    path = L.log_path(str(tmp_path_factory.mktemp("rt")), DAY)
    write_log(path, batches)
    recs = L.read_all(path)
    expected = [(src, msg) for b in batches for src, msg in b]
    assert [r.seq for r in recs] == list(range(1, len(expected) + 1))
    assert [(r.source, r.msg) for r in recs] == expected
    assert all(b.ts >= a.ts for a, b in zip(recs, recs[1:]))
    L.verify(path)


def test_torn_tail_of_every_length(tmp_path):
    path = L.log_path(str(tmp_path), DAY)
    write_log(path, [[("a", M.Note("x" * (i % 40)))] for i in range(30)])
    full = open(path, "rb").read()
    ends = [off + record.FRAME_SIZE + n for off, n in record_offsets(path)]
    for cut in range(L.FILE_HEAD_SIZE, len(full)):
        with open(path, "wb") as f:
            f.write(full[:cut])
        notices = []
        w = L.LogWriter(path, DAY, fsync="never", notice=notices.append)
        whole = sum(1 for e in ends if e <= cut)
        assert w.last_seq == whole
        assert os.path.getsize(path) == (ends[whole - 1] if whole else L.FILE_HEAD_SIZE)
        assert bool(notices) == (cut not in ends and cut != L.FILE_HEAD_SIZE)
        w.close()
        L.verify(path)


def test_zero_filled_tail_is_torn(tmp_path):
    path = L.log_path(str(tmp_path), DAY)
    write_log(path, [[("a", M.Ping(i))] for i in range(10)])
    size = os.path.getsize(path)
    with open(path, "ab") as f:
        f.write(b"\0" * 4096)
    w = L.LogWriter(path, DAY, fsync="never", notice=lambda m: None)
    assert w.last_seq == 10 and os.path.getsize(path) == size
    w.close()


@FAST
@given(st.data())
def test_corrupt_byte_in_the_middle_names_its_record(tmp_path_factory, data):
    path = L.log_path(str(tmp_path_factory.mktemp("c")), DAY)
    write_log(path, [[("a", M.Note("payload %d" % i))] for i in range(20)])
    offs = record_offsets(path)
    i = data.draw(st.integers(0, len(offs) - 2), label="record")  # not the last: that one would be a torn tail
    off, n = offs[i]
    pos = data.draw(st.integers(off, off + record.FRAME_SIZE + n - 1), label="byte")
    flip = data.draw(st.integers(1, 255), label="xor")
    b = bytearray(open(path, "rb").read())
    b[pos] ^= flip
    open(path, "wb").write(bytes(b))
    with pytest.raises(L.LogCorrupt) as e:
        L.LogWriter(path, DAY, fsync="never", notice=lambda m: None)
    assert e.value.offset == off, str(e.value)
    assert path in str(e.value) and str(off) in str(e.value)
    with pytest.raises(L.LogCorrupt):
        L.verify(path)


def _raw_log(path, bodies):
    with open(path, "wb") as f:
        f.write(L.FILE_HEAD.pack(L.MAGIC, M.SCHEMA_VERSION, DAY.encode()))
        for seq, ts, sseq in bodies:
            f.write(record.encode_record(seq, ts, b"a", sseq, M.tag_of(M.Clock()), M.encode(M.Clock())))


def test_verify_catches_gap_time_reversal_and_repeat(tmp_path):
    p = str(tmp_path / "x.log")
    _raw_log(p, [(1, 10, 1), (3, 11, 2)])
    with pytest.raises(L.LogCorrupt, match="seq 3 follows seq 1"):
        L.verify(p)
    _raw_log(p, [(1, 10, 1), (2, 9, 2)])
    with pytest.raises(L.LogCorrupt, match="time goes backwards"):
        L.verify(p)
    _raw_log(p, [(1, 10, 1), (2, 10, 1)])
    with pytest.raises(L.LogCorrupt, match="repeats source_seq 1"):
        L.verify(p)


def test_verify_catches_unknown_type(tmp_path):
    p = str(tmp_path / "x.log")
    with open(p, "wb") as f:
        f.write(L.FILE_HEAD.pack(L.MAGIC, M.SCHEMA_VERSION, DAY.encode()))
        f.write(record.encode_record(1, 1, b"a", 1, 777, b"\x91\xcd\x03\x09"))
    with pytest.raises(L.LogCorrupt, match="unknown message type tag 777"):
        L.verify(p)


def test_not_a_log(tmp_path):
    p = str(tmp_path / "x.log")
    open(p, "wb").write(b"hello world, this is not a log file")
    with pytest.raises(L.LogCorrupt, match="not a seqtrade log"):
        L.verify(p)


@FAST
@given(n=st.integers(1, 1400), data=st.data())
def test_index_finds_any_seq(tmp_path_factory, n, data):
    path = L.log_path(str(tmp_path_factory.mktemp("ix")), DAY)
    write_log(path, [[("a", M.Ping(i)) for i in range(n)]])
    frm = data.draw(st.integers(1, n + 2))
    to = data.draw(st.one_of(st.none(), st.integers(frm, n + 2)))
    got = [r.seq for r in L.LogReader(path).records(frm, to)]
    assert got == list(range(frm, min(n, to if to else n) + 1))
    w = L.LogWriter(path, DAY, fsync="never", notice=lambda m: None)
    assert len(w.index) == (n - 1) // L.INDEX_EVERY + 1
    w.close()


@FAST
@given(n=st.integers(1, 1400), data=st.data())
def test_batches_give_the_records_of_records(tmp_path_factory, n, data, monkeypatch):
    """The replay's chunked reader yields exactly what ``records`` yields, from any seq, across chunk edges."""
    monkeypatch.setattr(L, "READ_CHUNK", data.draw(st.sampled_from([64, 1000, 4 * 1024 * 1024]), label="chunk"))
    path = L.log_path(str(tmp_path_factory.mktemp("bt")), DAY)
    write_log(path, [[("a", M.Note("p" * (i % 50))) for i in range(n)]])
    frm = data.draw(st.integers(1, n + 2))
    got = [r for b in L.LogReader(path).batches(frm) for r in b]
    assert got == list(L.LogReader(path).records(frm))
    assert [r.seq for r in got] == list(range(frm, n + 1))


def test_batches_stop_at_damage_naming_its_offset_and_end_at_a_torn_tail(tmp_path):
    path = L.log_path(str(tmp_path), DAY)
    write_log(path, [[("a", M.Note("payload %d" % i))] for i in range(50)])
    offs = record_offsets(path)
    good = open(path, "rb").read()
    with open(path, "ab") as f:          # a torn tail: half a frame, as a crash leaves it
        f.write(good[offs[3][0]:offs[3][0] + 9])
    assert [r.seq for b in L.LogReader(path).batches() for r in b] == list(range(1, 51))
    b = bytearray(good)
    off = offs[20][0]
    b[off + record.FRAME_SIZE + 3] ^= 0xFF  # damage inside record 21
    open(path, "wb").write(bytes(b))
    seen = []
    with pytest.raises(L.LogCorrupt) as e:
        for batch in L.LogReader(path).batches():
            seen += [r.seq for r in batch]
    assert e.value.offset == off and seen == list(range(1, 21))


def test_stale_index_is_not_trusted(tmp_path):
    path = L.log_path(str(tmp_path), DAY)
    write_log(path, [[("a", M.Ping(i)) for i in range(1000)]])
    with open(L.index_path(path), "wb") as f:
        f.write(struct.pack("<4Q", 24, 24, 24, 24))  # every entry wrong
    assert [r.seq for r in L.LogReader(path).records(600, 602)] == [600, 601, 602]


def test_wrong_day_refused(tmp_path):
    path = L.log_path(str(tmp_path), DAY)
    write_log(path, [[("a", M.Ping(1))]])
    with pytest.raises(L.LogCorrupt, match="not 20260106"):
        L.LogWriter(path, "20260106")


def test_a_damaged_length_field_mid_log_is_an_error_in_every_reader_not_a_silent_end(tmp_path):
    # a length field turned huge "runs past the end of the file", like a torn tail; but good records follow it,
    # so every reader must stop with the offset and a non-zero exit instead of ending the day there
    import subprocess
    import sys
    path = L.log_path(str(tmp_path), DAY)
    write_log(path, [[("a", M.Note("payload %d" % i))] for i in range(60)])
    offs = record_offsets(path)
    b = bytearray(open(path, "rb").read())
    off = offs[30][0]
    struct.pack_into("<I", b, off, 0x00FFFFF0)      # record 31's length field
    open(path, "wb").write(bytes(b))
    with pytest.raises(L.LogCorrupt) as e:
        list(L.LogReader(path).records())
    assert e.value.offset == off
    with pytest.raises(L.LogCorrupt):
        [r for batch in L.LogReader(path).batches() for r in batch]
    for args in (["log", "dump", path], ["replay", path, "--apps", "oms"],
                 ["report", "activity", "--log", path, "--out", str(tmp_path / "rep")]):
        p = subprocess.run([sys.executable, "-m", "seqtrade", *args], capture_output=True, text=True, timeout=120)
        assert p.returncode != 0, (args, p.stdout[-300:], p.stderr[-300:])
        assert f"offset {off}" in p.stderr and "Traceback" not in p.stderr, (args, p.stderr[-500:])


def test_a_real_torn_tail_ends_the_read_with_a_notice(tmp_path):
    path = L.log_path(str(tmp_path), DAY)
    write_log(path, [[("a", M.Note("payload %d" % i))] for i in range(10)])
    offs = record_offsets(path)
    good = open(path, "rb").read()
    with open(path, "ab") as f:
        f.write(good[offs[3][0]:offs[3][0] + 9])
    notices = []
    r = L.LogReader(path, notice=notices.append)
    assert [x.seq for x in r.records()] == list(range(1, 11))
    assert r.torn is not None and "torn tail" in notices[0] and "seq 10" in notices[0]


def test_last_record_is_read_from_the_index_and_follows_a_cut(tmp_path):
    """A standby asks where its log ends at every election (sequencer/ha.py): the answer, read from the last indexed
    record on, is the last record's seq and frame CRC, also after the log was cut (its index goes with the cut)."""
    import zlib
    path = str(tmp_path / "seq.log")
    write_log(path, [[("a", M.Ping(i))] for i in range(1, 1000)])
    recs = list(L.LogReader(path).raw_from(1))
    last = recs[-1][1]
    assert L.last_record(path) == (999, zlib.crc32(last))
    assert L.truncate_after(path, 300) > 0
    assert L.last_record(path) == (300, zlib.crc32(recs[299][1]))
    assert L.last_record(str(tmp_path / "none.log")) == (0, 0)
