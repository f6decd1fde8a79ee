"""Validation against our FIX data dictionary: each problem gets the right SessionRejectReason and RefTagID."""
import pytest
import simplefix
from hypothesis import given
from hypothesis import strategies as st

from fixgw import dictionary as D
from fixgw.framing import split_fields

NOS = [(35, "D"), (49, "CLIENT"), (56, "BROKER"), (34, "2"), (52, "20261123-14:30:00.000"),
       (11, "A1"), (21, "1"), (55, "AAPL"), (54, "1"), (60, "20261123-14:30:00.000"), (38, "100"), (40, "2"),
       (44, "101.25")]


def encode(pairs, begin="FIX.4.2"):
    m = simplefix.FixMessage()
    m.append_pair(8, begin)
    for t, v in pairs:
        m.append_pair(t, v)
    return m.encode()


def check(pairs, begin="FIX.4.2"):
    return D.validate(split_fields(encode(pairs, begin)), begin)


def replace(pairs, tag, value):
    return [(t, value if t == tag else v) for t, v in pairs]


def test_valid_new_order_both_versions():
    assert check(NOS) == ("D", None)
    assert check(NOS, "FIX.4.4") == ("D", None)
    assert check([p for p in NOS if p[0] != 21], "FIX.4.4") == ("D", None)  # HandlInst optional in 4.4


@pytest.mark.parametrize("pairs, reason, ref", [
    ([p for p in NOS if p[0] != 55], D.REQUIRED_MISSING, 55),
    (NOS + [(9999, "x")], D.UNDEFINED_TAG, 9999),
    (NOS + [(112, "x")], D.NOT_FOR_MSGTYPE, 112),
    (replace(NOS, 38, "lots"), D.BAD_FORMAT, 38),
    (replace(NOS, 60, "yesterday"), D.BAD_FORMAT, 60),
    (replace(NOS, 54, "9"), D.BAD_VALUE, 54),
    (NOS + [(11, "A2")], D.DUPLICATE_TAG, 11),
    (NOS[:5] + [(43, "Y")] + NOS[5:] + [(97, "N")], D.OUT_OF_ORDER, 97),
    (replace(NOS, 35, "ZZ"), D.INVALID_MSGTYPE, 35),
])
def test_session_rejects(pairs, reason, ref):
    _, p = check(pairs)
    assert p is not None and (p.reason, p.ref_tag, p.business) == (reason, ref, False), p
    assert p.text


def test_tag_without_value_and_invalid_tag_number():
    raw = encode(NOS).replace(b"\x0155=AAPL\x01", b"\x0155=\x01")
    _, p = D.validate(split_fields(raw), "FIX.4.2")
    assert (p.reason, p.ref_tag) == (D.NO_VALUE, 55)
    raw = encode(NOS).replace(b"\x0155=AAPL\x01", b"\x01x5=AAPL\x01")
    _, p = D.validate(split_fields(raw), "FIX.4.2")
    assert p.reason == D.INVALID_TAG


def test_unsupported_but_valid_msgtype_is_a_business_reject():
    _, p = check(replace(NOS[:5], 35, "R"))
    assert p.business and p.reason == D.BIZ_UNSUPPORTED_MSGTYPE


def test_version_specific_fields():
    _, p = check(NOS + [(553, "u")])
    assert (p.reason, p.ref_tag) == (D.UNDEFINED_TAG, 553)  # Username does not exist in 4.2
    er42 = [(35, "8"), (49, "B"), (56, "C"), (34, "3"), (52, "20261123-14:30:00"), (37, "O1"), (17, "E1"),
            (150, "0"), (39, "0"), (55, "AAPL"), (54, "1"), (151, "100"), (14, "0"), (6, "0")]
    assert check(er42)[1].ref_tag == 20                          # ExecTransType required in 4.2
    assert check(er42, "FIX.4.4") == ("8", None)
    assert check(er42 + [(20, "0")], "FIX.4.4")[1].reason == D.UNDEFINED_TAG


def test_repeating_group_counts_and_order():
    parties = [(453, "2"), (448, "ACME"), (447, "D"), (452, "1"), (448, "DESK"), (447, "D"), (452, "3")]
    assert check(NOS + parties, "FIX.4.4") == ("D", None)
    wrong_count = replace(NOS + parties, 453, "3")
    _, p = check(wrong_count, "FIX.4.4")
    assert (p.reason, p.ref_tag) == (D.GROUP_COUNT, 453)
    bad_start = NOS + [(453, "1"), (447, "D"), (448, "ACME")]
    _, p = check(bad_start, "FIX.4.4")
    assert p.reason == D.GROUP_ORDER


_TAGS = sorted(D.FIELDS) + [0, 99999]


@given(st.lists(st.tuples(st.sampled_from(_TAGS), st.sampled_from(["", "1", "2", "Y", "10.5", "x", "AAPL", "-3",
                                                                      "20261121-14:31:00.000", "D", "FIX.4.4"])),
                max_size=20),
       st.sampled_from(["FIX.4.2", "FIX.4.4"]), st.sampled_from(["D", "F", "8", "0", "A"]))
def test_fast_path_accepts_only_what_the_full_check_accepts(body, begin, msgtype):
    # header as a real message has it, then an arbitrary body: the one-pass check may only say "valid" when the
    # full, reason-naming check finds nothing wrong either (otherwise it hands over and the full check decides)
    pairs = [(8, begin), (9, "100"), (35, msgtype), (49, "A"), (56, "B"), (34, "2"), (52, "20261121-14:31:00")]
    fields = [(str(t).encode(), v.encode()) for t, v in pairs + body + [(10, "000")]]
    fast = D._valid_fast(fields, begin)
    if fast is not None:
        assert D._validate_full(fields, begin) == (msgtype, None)


def test_fast_path_takes_a_plain_new_order():
    assert D._valid_fast(split_fields(encode(NOS)), "FIX.4.2") == "D"
    assert D._valid_fast(split_fields(encode(NOS + [(453, "0")])), "FIX.4.4") is None   # groups: full check
