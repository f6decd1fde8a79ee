"""Validation against the FIX 4.2/4.4 dictionaries extracted from the standard's data: each problem gets the
SessionRejectReason and RefTagID the FIX session test cases (14a-14j) require."""
import os
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
    (NOS + [(4999, "x")], D.INVALID_TAG, 4999),      # 14a: not in the specification
    (NOS + [(9999, "x")], D.INVALID_TAG, 9999),      # a user-defined tag, validated by default
    (NOS + [(112, "x")], D.NOT_FOR_MSGTYPE, 112),
    (replace(NOS, 38, "lots"), D.BAD_FORMAT, 38),
    (replace(NOS, 60, "yesterday"), D.BAD_FORMAT, 60),
    (replace(NOS, 54, "Z"), D.BAD_VALUE, 54),
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


def test_every_message_of_the_standard_passes_the_session_layer():
    # QuoteRequest (R) is FIX, so the session takes it; whether we trade on it is the application's business
    qr = replace(NOS[:5], 35, "R") + [(131, "Q1"), (146, "1"), (55, "AAPL")]
    assert check(qr) == ("R", None)


def test_version_specific_fields():
    _, p = check(NOS + [(553, "u")])
    assert (p.reason, p.ref_tag) == (D.INVALID_TAG, 553)  # Username does not exist in 4.2
    er42 = [(35, "8"), (49, "B"), (56, "C"), (34, "3"), (52, "20261123-14:30:00"), (37, "O1"), (17, "E1"),
            (150, "0"), (39, "0"), (55, "AAPL"), (54, "1"), (151, "100"), (14, "0"), (6, "0")]
    assert check(er42)[1].ref_tag == 20                          # ExecTransType required in 4.2
    assert check(er42, "FIX.4.4") == ("8", None)
    assert check(er42 + [(20, "0")], "FIX.4.4")[1].reason == D.INVALID_TAG


def test_repeating_group_counts_and_order():
    parties = [(453, "2"), (448, "ACME"), (447, "D"), (452, "1"), (448, "DESK"), (447, "D"), (452, "3")]
    assert check(NOS + parties, "FIX.4.4") == ("D", None)
    wrong_count = replace(NOS + parties, 453, "3")
    _, p = check(wrong_count, "FIX.4.4")
    assert (p.reason, p.ref_tag) == (D.GROUP_COUNT, 453)
    bad_start = NOS + [(453, "1"), (447, "D"), (448, "ACME")]
    _, p = check(bad_start, "FIX.4.4")
    assert p.reason == D.GROUP_ORDER


_TAGS = sorted(D.get("FIX.4.4").fields)[:400] + [0, 99999]


@given(st.lists(st.tuples(st.sampled_from(_TAGS), st.sampled_from(["", "1", "2", "Y", "10.5", "x", "AAPL", "-3",
                                                                      "20261121-14:31:00.000", "D", "FIX.4.4"])),
                max_size=20),
       st.sampled_from(["FIX.4.2", "FIX.4.4"]), st.sampled_from(["D", "F", "8", "0", "A"]),
       st.sampled_from([D.STRICT, D.LENIENT]))
def test_fast_path_accepts_only_what_the_full_check_accepts(body, begin, msgtype, v):
    # header as a real message has it, then an arbitrary body: the one-pass check may only say "valid" when the
    # full, reason-naming check finds nothing wrong either (otherwise it hands over and the full check decides)
    pairs = [(8, begin), (9, "100"), (35, msgtype), (49, "A"), (56, "B"), (34, "2"), (52, "20261121-14:31:00")]
    fields = [(str(t).encode(), v_.encode()) for t, v_ in pairs + body + [(10, "000")]]
    d = D.get(begin)
    fast = d._valid_fast(fields, v)
    if fast is not None:
        assert d._validate_full(fields, v) == (msgtype, None)


def test_fast_path_takes_a_plain_new_order():
    d = D.get("FIX.4.2")
    assert d._valid_fast(split_fields(encode(NOS)), D.STRICT) == "D"
    assert D.get("FIX.4.4")._valid_fast(split_fields(encode(NOS + [(453, "0")])), D.STRICT) is None  # groups: full


def test_the_shipped_dictionary_is_the_standard_extracted_afresh():
    ref = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "reference", "fix")
    if not os.path.isdir(ref):
        pytest.skip("../shared/reference/fix is not beside this checkout")
    from fixgw import dictgen
    with open(D._DATA_FILE, encoding="utf-8") as f:
        assert f.read() == dictgen.dumps(dictgen.build(ref))


def test_dictionary_facts_from_the_standard():
    d44, d42 = D.get("FIX.4.4"), D.get("FIX.4.2")
    assert len(d44.fields) > 900 and len(d44.messages) == 93 and len(d42.messages) == 46
    nos = d44.messages["D"]
    assert 38 not in nos.required                         # OrderQty is conditional (CashOrderQty) in 4.4
    assert {11, 54, 60, 40}.issubset(nos.required) and 55 not in nos.required   # Symbol is in Instrument, optional
    assert d44.fields[54][2] >= {"1", "2", "5", "6"}
    assert {789, 464, 383}.issubset(d44.messages["A"].fields)
    assert 453 in nos.groups and nos.groups[453].delim == 448
    assert d42.messages["8"].required[:3] == (37, 17, 20)


LOGON44 = [(35, "A"), (49, "CLIENT"), (56, "BROKER"), (34, "1"), (52, "20261123-14:30:00.000"), (98, "0"),
           (108, "30")]


@pytest.mark.parametrize("extra", [[(789, "7")], [(464, "Y")], [(383, "8192")], [(141, "Y"), (789, "1")]])
def test_valid_fix44_logons_are_accepted(extra):
    assert check(LOGON44 + extra, "FIX.4.4") == ("A", None)


ER44 = [(35, "8"), (49, "XNAS"), (56, "S1"), (34, "3"), (52, "20261123-14:30:00"), (37, "O1"), (17, "E1"),
        (150, "F"), (39, "2"), (55, "AAPL"), (54, "1"), (151, "0"), (14, "100"), (6, "10"), (32, "100"),
        (31, "10")]


def test_a_venue_s_ordinary_extra_fields_under_each_setting():
    extra_std = [(527, "SX1"), (29, "1"), (75, "20261123")]
    assert check(ER44 + extra_std, "FIX.4.4") == ("8", None)            # standard fields of an ER: fine everywhere
    with_header = ER44[:4] + [(115, "DESK"), (369, "2")] + ER44[4:]
    assert check(with_header, "FIX.4.4") == ("8", None)
    user = ER44 + [(20001, "x")]
    d = D.get("FIX.4.4")
    assert d.validate(split_fields(encode(user, "FIX.4.4")), D.STRICT)[1].reason == D.INVALID_TAG
    assert d.validate(split_fields(encode(user, "FIX.4.4")), D.LENIENT) == ("8", None)
    not_for_er = ER44 + [(112, "T")]
    assert d.validate(split_fields(encode(not_for_er, "FIX.4.4")), D.STRICT)[1].reason == D.NOT_FOR_MSGTYPE
    assert d.validate(split_fields(encode(not_for_er, "FIX.4.4")), D.LENIENT) == ("8", None)
    hv = D.Validation(validate_fields_have_values=False)
    raw = encode(ER44 + [(58, "x")], "FIX.4.4").replace(b"\x0158=x\x01", b"\x0158=\x01")
    assert d.validate(split_fields(raw), hv) == ("8", None)


def test_a_counterparty_override_adds_fields_and_changes_required():
    o = {"fields": {"9100": "STRING", "847": {"type": "INT", "values": ["1", "2", "1000"]}},
         "messages": {"8": {"add": [9100], "required": [60]}}}
    d = D.get("FIX.4.4", o)
    f = split_fields(encode(ER44 + [(9100, "abc")], "FIX.4.4"))
    _, p = d.validate(f)
    assert (p.reason, p.ref_tag) == (D.REQUIRED_MISSING, 60)
    f = split_fields(encode(ER44 + [(60, "20261123-14:30:00"), (9100, "abc")], "FIX.4.4"))
    assert d.validate(f) == ("8", None)
    assert d.has_value(847, "1000") and not D.get("FIX.4.4").has_value(847, "1000")
    with pytest.raises(D.OverrideError, match="no field definition"):
        D.Dictionary("FIX.4.4", {"messages": {"8": {"add": [9200]}}})


def test_nested_groups_and_group_member_order():
    parties = [(453, "1"), (448, "ACME"), (447, "D"), (452, "1"), (802, "1"), (523, "X"), (803, "1")]
    assert check(NOS + parties, "FIX.4.4") == ("D", None)
    _, p = check(NOS + [(453, "1"), (448, "ACME"), (802, "2"), (523, "X"), (803, "1")], "FIX.4.4")
    assert (p.reason, p.ref_tag) == (D.GROUP_COUNT, 802)
    _, p = check(NOS + [(453, "1"), (448, "ACME"), (452, "1"), (447, "D")], "FIX.4.4")  # 447 before 452 in FIX
    assert (p.reason, p.ref_tag) == (D.GROUP_ORDER, 447)
    _, p = check(NOS + [(448, "ACME")], "FIX.4.4")       # a member with no group
    assert (p.reason, p.ref_tag) == (D.GROUP_ORDER, 448)
