"""The FIX framer: whole messages out, garbage reported and skipped, never an exception, whatever the bytes."""
import simplefix
from hypothesis import given, settings
from hypothesis import strategies as st

from fixgw.framing import FixFramer, Garbled, split_fields


def msg(seq: int, text: str = "hello", begin: str = "FIX.4.2") -> bytes:
    m = simplefix.FixMessage()
    m.append_pair(8, begin)
    m.append_pair(35, "D")
    m.append_pair(49, "CLIENT")
    m.append_pair(56, "BROKER")
    m.append_pair(34, seq)
    m.append_pair(58, text)
    return m.encode()


def frames(out):
    return [x for x in out if isinstance(x, bytes)]


def test_whole_messages_in_one_read():
    f = FixFramer()
    data = msg(1) + msg(2) + msg(3, begin="FIX.4.4")
    assert frames(f.feed(data)) == [msg(1), msg(2), msg(3, begin="FIX.4.4")]


@given(st.lists(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40), min_size=1,
                max_size=6), st.data())
def test_any_split_of_the_stream_gives_the_same_messages(texts, data):
    stream = b"".join(msg(i + 1, t) for i, t in enumerate(texts))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    f = FixFramer()
    got = []
    prev = 0
    for c in cuts + [len(stream)]:
        got += f.feed(stream[prev:c])
        prev = c
    assert [g for g in got if isinstance(g, Garbled)] == []
    assert frames(got) == [msg(i + 1, t) for i, t in enumerate(texts)]


def test_bad_checksum_is_discarded_and_the_next_message_survives():
    bad = bytearray(msg(1))
    bad[-4:-1] = b"000" if bad[-4:-1] != b"000" else b"001"
    out = FixFramer().feed(bytes(bad) + msg(2))
    assert frames(out) == [msg(2)]
    assert "CheckSum" in out[0].reason


def test_wrong_body_length_is_garbled():
    m = msg(1).replace(b"9=", b"9=1", 1)
    out = FixFramer().feed(m + msg(2))
    assert frames(out) == [msg(2)] and isinstance(out[0], Garbled)


def test_missing_msgtype_and_bodylength_are_garbled():
    no35 = b"8=FIX.4.2\x019=5\x0149=A\x0110=000\x01"
    no9 = b"8=FIX.4.2\x0135=D\x0110=000\x01"
    out = FixFramer().feed(no35 + no9 + msg(7))
    assert frames(out) == [msg(7)]
    reasons = " ".join(g.reason for g in out if isinstance(g, Garbled))
    assert "MsgType" in reasons and "BodyLength" in reasons


def test_noise_between_messages():
    out = FixFramer().feed(b"\x00\xffjunk" + msg(1) + b"more junk" + msg(2))
    assert frames(out) == [msg(1), msg(2)]
    assert all(isinstance(g, Garbled) for g in out if not isinstance(g, bytes))


@settings(max_examples=500)
@given(st.binary(max_size=400), st.binary(max_size=400))
def test_never_raises_and_always_recovers(junk1, junk2):
    f = FixFramer()
    out = f.feed(junk1)
    out += f.feed(junk2)
    out += f.feed(msg(5) + msg(6))
    # whatever came before, the good messages after it come out (the junk may eat at most the first one
    # if it ends in a prefix of a message that then "continues" into msg(5))
    assert msg(6) in frames(out)
    assert all(isinstance(x, (bytes, Garbled)) for x in out)


@given(st.binary(max_size=300))
def test_split_fields_never_raises(raw):
    for tag, value in split_fields(raw):
        assert isinstance(tag, bytes)


def test_split_fields_keeps_order_and_duplicates():
    assert split_fields(b"8=FIX.4.2\x0135=D\x0158=a=b\x0158=c\x01") == [
        (b"8", b"FIX.4.2"), (b"35", b"D"), (b"58", b"a=b"), (b"58", b"c")]
