"""The sequencing rule: dedupe by (source, source_seq), gaps and poison refused."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sequencer import log as L
from sequencer import messages as M
from sequencer.core import SequencerCore, SubmitError

PING = M.tag_of(M.Ping(0))


def core(tmp_path):
    return SequencerCore(L.LogWriter(L.log_path(str(tmp_path), "20260105"), "20260105", fsync="never",
                                     notice=lambda m: None))


def item(n):
    return (n, PING, M.encode(M.Ping(n)))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 30), min_size=1, max_size=80))
def test_resends_never_duplicate(tmp_path_factory, resend_points):
    """A source that resends from any earlier point (as after a reconnect) gets each output sequenced once."""
    c = core(tmp_path_factory.mktemp("d"))
    sent = 0
    for p in resend_points:
        start = min(p, sent + 1)  # resend from start..(sent+1): everything from an earlier point, plus one new
        c.sequence("app", [item(n) for n in range(start, sent + 2)], 1)
        sent += 1
    data = c.commit()
    recs = L.read_all(c.log.path)
    assert [r.source_seq for r in recs if r.source == "app"] == list(range(1, sent + 1))
    assert len(data) > 0


def test_gap_is_refused_and_what_came_before_stays(tmp_path):
    c = core(tmp_path)
    with pytest.raises(SubmitError, match="source_seq 4 leaves a gap after 2"):
        c.sequence("app", [item(1), item(2), item(4)], 1)
    c.commit()
    assert [r.source_seq for r in L.read_all(c.log.path)] == [1, 2]


def test_unknown_type_and_bad_payload_refused(tmp_path):
    c = core(tmp_path)
    with pytest.raises(SubmitError, match="unknown message type tag 31337"):
        c.sequence("app", [(1, 31337, b"\x90")], 1)
    with pytest.raises(SubmitError, match="payload is not valid msgpack"):
        c.sequence("app", [(1, PING, b"\xc1garbage")], 1)
    with pytest.raises(SubmitError, match="payload does not match the schema"):
        c.sequence("app", [(1, PING, M.encode(M.Note("x"))[:1] + b"\xcd\x03\x84\xa1x")], 1)
    with pytest.raises(SubmitError, match="header says type"):
        c.sequence("app", [(1, PING, M.encode(M.Note("x")))], 1)
    assert c.commit() == b""


def test_time_never_goes_backwards(tmp_path):
    c = core(tmp_path)
    c.sequence("a", [item(1)], 100)
    c.sequence("a", [item(2)], 50)  # the host clock stepped back
    c.commit()
    assert [r.ts for r in L.read_all(c.log.path)] == [100, 100]
