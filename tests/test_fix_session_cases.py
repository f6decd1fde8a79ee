"""The FIX session-level test cases (FIX 4.4 Volume 2, "Session Protocol", and its test-case appendix that mature
engines are checked against), one scripted conversation per case, for FIX 4.2 and FIX 4.4, as acceptor and, where the
case is the initiator's, as initiator. Each test is named after its case and asserts the reply the specification
requires. The counterparty's messages are written by hand here (``raw``), not produced by our own session layer.
"""
from __future__ import annotations

import pytest
import simplefix

from fixgw import dictionary as D
from fixgw.framing import split_fields
from fixgw.session import Session, SessionConfig, fix_time

T0 = 1_795_444_200_000_000_000  # 2026-11-23 09:30 New York
S = 1_000_000_000
NOS = [(11, "A1"), (21, "1"), (55, "AAPL"), (54, "1"), (60, "20261123-14:30:00"), (38, "100"), (40, "2"),
       (44, "10.5")]

both = pytest.mark.parametrize("begin", ["FIX.4.2", "FIX.4.4"])


def raw(begin, msgtype, seq, body=(), sender="CLIENT", target="BROKER", when=T0, header=(), poss_dup=False,
        orig=None):
    m = simplefix.FixMessage()
    m.append_pair(8, begin)
    m.append_pair(35, msgtype)
    m.append_pair(49, sender)
    m.append_pair(56, target)
    for t, v in header:
        m.append_pair(t, v)
    m.append_pair(34, seq)
    if poss_dup:
        m.append_pair(43, "Y")
    m.append_pair(52, fix_time(when))
    if orig is not None:
        m.append_pair(122, fix_time(orig))
    for t, v in body:
        m.append_pair(t, v)
    return m.encode()


def f(rawmsg) -> dict:
    return {int(t): v.decode() for t, v in split_fields(rawmsg)}


def sent(actions) -> list[dict]:
    return [f(a[1]) for a in actions if a[0] == "send"]


def apps(actions) -> list:
    return [a for a in actions if a[0] == "app"]


def disconnected(actions) -> bool:
    return any(a[0] == "disconnect" for a in actions)


def acceptor(begin, **kw) -> Session:
    s = Session(SessionConfig(begin, "BROKER", "CLIENT", heartbeat_s=30, **kw))
    s.on_connect(T0)
    return s


def logged_on(begin, side="acceptor", **kw) -> Session:
    """A session under test, logged on with MsgSeqNum 1 each way: as the acceptor (it answered the peer's Logon) or
    as the initiator (the peer answered its Logon); the rest of each case is the same for both."""
    if side == "acceptor":
        s = acceptor(begin, **kw)
        out = s.on_data(raw(begin, "A", 1, [(98, "0"), (108, "30")]), T0)
        assert [m[35] for m in sent(out)] == ["A"] and s.status == Session.ACTIVE
        return s
    s = Session(SessionConfig(begin, "BROKER", "CLIENT", initiator=True, heartbeat_s=30, **kw))
    assert [m[35] for m in sent(s.on_connect(T0))] == ["A"]
    assert sent(s.on_data(raw(begin, "A", 1, [(98, "0"), (108, "30")]), T0)) == [] and s.status == Session.ACTIVE
    return s


sides = pytest.mark.parametrize("side", ["acceptor", "initiator"])


# -- 1: logon ---------------------------------------------------------------------------------------------------
@both
def test_1S_initiator_sends_logon_first_and_accepts_the_answer(begin):
    s = Session(SessionConfig(begin, "CLIENT", "BROKER", initiator=True, heartbeat_s=30))
    first = sent(s.on_connect(T0))
    assert [(m[35], m[34], m[98], m[108]) for m in first] == [("A", "1", "0", "30")]
    s.on_data(raw(begin, "A", 1, [(98, "0"), (108, "30")], sender="BROKER", target="CLIENT"), T0)
    assert s.status == Session.ACTIVE


@both
def test_1S_initiator_disconnects_when_the_first_answer_is_not_a_logon(begin):
    s = Session(SessionConfig(begin, "CLIENT", "BROKER", initiator=True, heartbeat_s=30))
    s.on_connect(T0)
    out = s.on_data(raw(begin, "0", 1, sender="BROKER", target="CLIENT"), T0)
    assert disconnected(out) and s.status != Session.ACTIVE


@both
def test_1S_initiator_logon_answered_with_logout_disconnects(begin):
    s = Session(SessionConfig(begin, "CLIENT", "BROKER", initiator=True, heartbeat_s=30))
    s.on_connect(T0)
    out = s.on_data(raw(begin, "5", 1, [(58, "not today")], sender="BROKER", target="CLIENT"), T0)
    assert disconnected(out) and s.status != Session.ACTIVE


@both
def test_1B_a_valid_logon_is_answered_with_a_logon(begin):
    s = acceptor(begin)
    out = s.on_data(raw(begin, "A", 1, [(98, "0"), (108, "30")]), T0)
    assert [(m[35], m[34], m[108]) for m in sent(out)] == [("A", "1", "30")]


@both
def test_1B_c_logon_with_msgseqnum_too_high_is_accepted_then_a_resend_requested(begin):
    s = acceptor(begin)
    out = s.on_data(raw(begin, "A", 5, [(98, "0"), (108, "30")]), T0)
    assert [(m[35], m.get(7), m.get(16)) for m in sent(out)] == [("A", None, None), ("2", "1", "0")]


@both
def test_1B_d_logon_with_wrong_sending_time_is_refused(begin):
    s = acceptor(begin)
    out = s.on_data(raw(begin, "A", 1, [(98, "0"), (108, "30")], when=T0 - 3600 * S), T0)
    assert [m[35] for m in sent(out)] == ["5"] and disconnected(out) and s.status != Session.ACTIVE


@both
def test_1B_e_first_message_not_a_logon_disconnects_without_an_answer(begin):
    s = acceptor(begin)
    out = s.on_data(raw(begin, "D", 1, NOS), T0)
    assert disconnected(out) and sent(out) == []


@both
def test_1B_f_logon_with_invalid_bodylength_disconnects(begin):
    logon = raw(begin, "A", 1, [(98, "0"), (108, "30")])
    length = int(f(logon)[9])
    s = acceptor(begin)                          # too short: garbled at once
    out = s.on_data(logon.replace(f"\x019={length}\x01".encode(), f"\x019={length - 5}\x01".encode(), 1), T0)
    assert disconnected(out) and sent(out) == [] and s.status != Session.ACTIVE
    s = acceptor(begin, logon_timeout_s=10)      # too long: it never completes, and the logon timeout ends it
    out = s.on_data(logon.replace(f"\x019={length}\x01".encode(), f"\x019={length + 50}\x01".encode(), 1), T0)
    assert sent(out) == [] and s.status != Session.ACTIVE and not disconnected(s.on_tick(T0 + 5 * S))
    assert disconnected(s.on_tick(T0 + 11 * S))


def test_1B_4_4_logon_with_next_expected_msgseqnum_test_indicator_and_max_size_is_valid():
    s = acceptor("FIX.4.4")
    out = s.on_data(raw("FIX.4.4", "A", 1, [(98, "0"), (108, "30"), (789, "1"), (464, "N"), (383, "65536")]), T0)
    assert [m[35] for m in sent(out)] == ["A"] and s.status == Session.ACTIVE


def test_1B_wrong_username_or_password_is_refused():
    s = acceptor("FIX.4.4", username="u", password="right")
    out = s.on_data(raw("FIX.4.4", "A", 1, [(98, "0"), (108, "30"), (553, "u"), (554, "wrong")]), T0)
    assert [m[35] for m in sent(out)] == ["5"] and disconnected(out)


@both
def test_1B_reset_seq_num_flag_on_logon_resets_both_directions(begin):
    s = logged_on(begin)
    s.on_data(raw(begin, "D", 2, NOS), T0)
    state = s.st
    s.on_disconnect()
    s.on_connect(T0 + S)
    out = s.on_data(raw(begin, "A", 1, [(98, "0"), (108, "30"), (141, "Y")]), T0 + S)
    assert [(m[35], m[34], m.get(141)) for m in sent(out)] == [("A", "1", "Y")]
    assert s.st is state and (state.next_in, state.next_out) == (2, 2)   # reset in place: the route holds it too


# -- 2: receive any message ---------------------------------------------------------------------------------------
@both
@sides
def test_2a_expected_msgseqnum_is_accepted(begin, side):
    s = logged_on(begin, side)
    assert [a[1] for a in apps(s.on_data(raw(begin, "D", 2, NOS), T0))] == ["D"] and s.st.next_in == 3


@both
@sides
def test_2b_msgseqnum_too_high_sends_one_resend_request_per_gap(begin, side):
    s = logged_on(begin, side)
    requests = []
    for seq in (5, 6, 7, 8):
        requests += [m for m in sent(s.on_data(raw(begin, "D", seq, NOS), T0)) if m[35] == "2"]
    assert [(m[7], m[16]) for m in requests] == [("2", "0")]   # no storm: one request covers the gap


@both
@sides
def test_2c_msgseqnum_too_low_without_possdup_logs_out(begin, side):
    s = logged_on(begin, side)
    s.on_data(raw(begin, "D", 2, NOS), T0)
    out = s.on_data(raw(begin, "D", 2, NOS), T0)
    assert [m[35] for m in sent(out)] == ["5"] and "too low" in sent(out)[0][58] and disconnected(out)


@both
@sides
def test_2d_garbled_message_is_ignored_without_consuming_a_msgseqnum(begin, side):
    s = logged_on(begin, side)
    good = raw(begin, "D", 2, NOS)
    bad = good[:-4] + (b"000" if good[-4:-1] != b"000" else b"001") + b"\x01"      # wrong CheckSum
    out = s.on_data(bad, T0)
    assert sent(out) == [] and apps(out) == [] and s.st.next_in == 2
    assert apps(s.on_data(good, T0))


@both
@sides
def test_2e_possdup_below_expected_with_orig_sending_time_is_ignored(begin, side):
    s = logged_on(begin, side)
    s.on_data(raw(begin, "D", 2, NOS), T0)
    out = s.on_data(raw(begin, "D", 2, NOS, poss_dup=True, orig=T0 - S, when=T0 + S), T0 + S)
    assert sent(out) == [] and apps(out) == []


@both
@sides
def test_2f_possdup_with_orig_sending_time_after_sending_time_is_rejected_and_logged_out(begin, side):
    s = logged_on(begin, side)
    s.on_data(raw(begin, "D", 2, NOS), T0)
    out = s.on_data(raw(begin, "D", 2, NOS, poss_dup=True, orig=T0 + 5 * S, when=T0), T0)
    replies = sent(out)
    assert [m[35] for m in replies] == ["3", "5"] and replies[0][373] == "10" and disconnected(out)


@both
@sides
def test_2g_possdup_without_orig_sending_time_is_rejected_naming_tag_122(begin, side):
    s = logged_on(begin, side)
    s.on_data(raw(begin, "D", 2, NOS), T0)
    out = s.on_data(raw(begin, "D", 2, NOS, poss_dup=True), T0)
    assert [(m[35], m[371], m[373]) for m in sent(out)] == [("3", "122", "1")]


@both
@sides
def test_2h_wrong_begin_string_logs_out_and_disconnects(begin, side):
    s = logged_on(begin, side)
    other = "FIX.4.2" if begin == "FIX.4.4" else "FIX.4.4"
    out = s.on_data(raw(other, "D", 2, NOS), T0)
    assert [m[35] for m in sent(out)] == ["5"] and disconnected(out)


@both
@sides
def test_2i_wrong_compid_is_rejected_then_logged_out(begin, side):
    s = logged_on(begin, side)
    out = s.on_data(raw(begin, "D", 2, NOS, sender="SOMEONE"), T0)
    replies = sent(out)
    assert [m[35] for m in replies] == ["3", "5"] and replies[0][373] == "9" and disconnected(out)


@both
@sides
def test_2j_invalid_bodylength_is_ignored(begin, side):
    s = logged_on(begin, side)
    good = raw(begin, "D", 2, NOS)
    out = s.on_data(good.replace(b"\x019=", b"\x019=9", 1), T0)
    assert sent(out) == [] and apps(out) == [] and s.st.next_in == 2


@both
@sides
def test_2k_sending_time_accuracy_problem_is_rejected_then_logged_out(begin, side):
    s = logged_on(begin, side)
    out = s.on_data(raw(begin, "D", 2, NOS, when=T0 - 600 * S), T0)
    replies = sent(out)
    assert [m[35] for m in replies] == ["3", "5"] and (replies[0][371], replies[0][373]) == ("52", "10")


@both
@sides
def test_2l_invalid_msgtype_is_rejected_with_reason_11(begin, side):
    s = logged_on(begin, side)
    out = s.on_data(raw(begin, "ZZ", 2), T0)
    assert [(m[35], m[45], m[373]) for m in sent(out)] == [("3", "2", "11")] and s.st.next_in == 3


@both
@sides
def test_2o_first_three_fields_out_of_order_is_garbled(begin, side):
    s = logged_on(begin, side)
    body = b"49=CLIENT\x0135=D\x0156=BROKER\x0134=2\x0152=" + fix_time(T0).encode() + b"\x01"
    head = f"8={begin}\x019={len(body)}\x01".encode()
    msg = head + body
    out = s.on_data(msg + f"10={sum(msg) % 256:03d}\x01".encode(), T0)
    assert sent(out) == [] and apps(out) == [] and s.st.next_in == 2


# -- 3: heartbeats and test requests ------------------------------------------------------------------------------
@both
@sides
def test_3a_b_c_d_heartbeat_test_request_and_disconnect(begin, side):
    s = logged_on(begin, side)
    assert [m[35] for m in sent(s.on_tick(T0 + 30 * S))] == ["0"]                      # 3a: idle: Heartbeat
    hb = sent(s.on_data(raw(begin, "1", 2, [(112, "PING")], when=T0 + 31 * S), T0 + 31 * S))
    assert [(m[35], m[112]) for m in hb] == [("0", "PING")]                           # 3b: TestRequest answered
    tr = sent(s.on_tick(T0 + 31 * S + 37 * S))
    assert "1" in [m[35] for m in tr]                                                  # 3c: silent: TestRequest
    assert disconnected(s.on_tick(T0 + 31 * S + 67 * S))                               # 3d: still silent


# -- 4: Reject received -------------------------------------------------------------------------------------------
@both
@sides
def test_4_a_reject_received_consumes_its_msgseqnum(begin, side):
    s = logged_on(begin, side)
    out = s.on_data(raw(begin, "3", 2, [(45, "1"), (58, "x")]), T0)
    assert sent(out) == [] and s.st.next_in == 3 and not disconnected(out)


# -- 5 / 6: resend requests ---------------------------------------------------------------------------------------
@both
@sides
def test_5_resend_request_resends_application_messages_and_gap_fills_admin_ones(begin, side):
    s = logged_on(begin, side)                                                # our 1: Logon
    s.send_app("8", [(37, "O1"), (17, "E1"), (20, "0"), (150, "0"), (39, "0"), (55, "AAPL"), (54, "1"),
                     (151, "100"), (14, "0"), (6, "0")], T0)           # our 2
    s.on_tick(T0 + 30 * S)                                              # our 3: Heartbeat
    s.send_app("8", [(37, "O1"), (17, "E2"), (20, "0"), (150, "4"), (39, "4"), (55, "AAPL"), (54, "1"),
                     (151, "0"), (14, "0"), (6, "0")], T0 + 31 * S)    # our 4
    out = sent(s.on_data(raw(begin, "2", 2, [(7, "1"), (16, "0")], when=T0 + 32 * S), T0 + 32 * S))
    assert [(m[35], m[34], m.get(123), m.get(36)) for m in out] == [
        ("4", "1", "Y", "2"), ("8", "2", None, None), ("4", "3", "Y", "4"), ("8", "4", None, None)]
    assert all(m[43] == "Y" and 122 in m for m in out)
    assert out[1][122] == fix_time(T0) and out[1][17] == "E1"


@both
@sides
def test_6_20_resend_request_received_during_our_own_gap_is_answered(begin, side):
    s = logged_on(begin, side)
    out = sent(s.on_data(raw(begin, "2", 5, [(7, "1"), (16, "0")]), T0))
    assert [m[35] for m in out] == ["2", "4"]     # our ResendRequest for 2..4, and their resend answered (gap fill)


# -- 7: Logout received -------------------------------------------------------------------------------------------
@both
@sides
def test_7_logout_received_is_answered_then_disconnect(begin, side):
    s = logged_on(begin, side)
    out = s.on_data(raw(begin, "5", 2), T0)
    assert [m[35] for m in sent(out)] == ["5"] and disconnected(out)


# -- 8 / 10: sequence reset ---------------------------------------------------------------------------------------
@both
@sides
def test_8a_gap_fill_moves_the_expected_msgseqnum(begin, side):
    s = logged_on(begin, side)
    out = s.on_data(raw(begin, "4", 2, [(123, "Y"), (36, "9")], poss_dup=True, orig=T0), T0)
    assert sent(out) == [] and s.st.next_in == 9


@both
@sides
def test_8b_gap_fill_with_msgseqnum_too_high_requests_a_resend(begin, side):
    s = logged_on(begin, side)
    out = s.on_data(raw(begin, "4", 5, [(123, "Y"), (36, "9")]), T0)
    assert [(m[35], m[7]) for m in sent(out)] == [("2", "2")] and s.st.next_in == 2


@both
@sides
def test_8c_gap_fill_with_msgseqnum_too_low_and_no_possdup_logs_out(begin, side):
    s = logged_on(begin, side)
    s.on_data(raw(begin, "D", 2, NOS), T0)
    out = s.on_data(raw(begin, "4", 2, [(123, "Y"), (36, "9")]), T0)
    assert [m[35] for m in sent(out)] == ["5"] and disconnected(out)


@both
@sides
def test_10a_sequence_reset_reset_sets_the_expected_msgseqnum(begin, side):
    s = logged_on(begin, side)
    out = s.on_data(raw(begin, "4", 77, [(36, "20")]), T0)
    assert sent(out) == [] and s.st.next_in == 20


@both
@sides
def test_10c_sequence_reset_below_expected_is_rejected_with_reason_5(begin, side):
    s = logged_on(begin, side)
    for seq in (2, 3, 4):
        s.on_data(raw(begin, "D", seq, NOS), T0)
    out = s.on_data(raw(begin, "4", 5, [(36, "3")]), T0)
    assert [(m[35], m[371], m[373]) for m in sent(out)] == [("3", "36", "5")] and s.st.next_in == 5


# -- 11: logout initiated ---------------------------------------------------------------------------------------
@both
@sides
def test_11_logout_initiated_waits_for_the_answer_or_times_out(begin, side):
    s = logged_on(begin, side)
    assert [m[35] for m in sent(s.logout(T0, "end of day"))] == ["5"]
    assert disconnected(s.on_data(raw(begin, "5", 2), T0))
    s = logged_on(begin, side)
    s.logout(T0, "end of day")
    assert not disconnected(s.on_tick(T0 + 2 * S)) and disconnected(s.on_tick(T0 + 6 * S))


# -- 14: every SessionRejectReason with its RefTagID and RefMsgType ---------------------------------------------
def _nos(begin, extra=(), drop=(), header=()):
    return raw(begin, "D", 2, [p for p in NOS if p[0] not in drop] + list(extra), header=header)


CASES_14 = [
    ("14a_tag_not_in_the_specification", lambda b: _nos(b, [(4999, "x")]), "0", "4999"),
    ("14b_required_tag_missing", lambda b: _nos(b, drop=(11,)), "1", "11"),
    ("14c_tag_not_defined_for_this_message_type", lambda b: _nos(b, [(112, "x")]), "2", "112"),
    ("14e_value_out_of_range", lambda b: _nos(b, [(59, "Z")]), "5", "59"),
    ("14f_incorrect_data_format", lambda b: raw(b, "D", 2, [(t, "abc" if t == 38 else v) for t, v in NOS]), "6",
     "38"),
    ("14g_header_field_after_the_body", lambda b: _nos(b, [(50, "DESK")]), "14", "50"),
    ("14h_tag_appears_more_than_once", lambda b: _nos(b, [(11, "A2")]), "13", "11"),
]


@both
@sides
@pytest.mark.parametrize("case, make, reason, ref", CASES_14, ids=[c[0] for c in CASES_14])
def test_14_session_reject_reasons(begin, side, case, make, reason, ref):
    s = logged_on(begin, side)
    out = sent(s.on_data(make(begin), T0))
    assert [(m[35], m[45], m[371], m[372], m[373]) for m in out] == [("3", "2", ref, "D", reason)]
    assert s.st.next_in == 3                                   # the rejected message consumed its MsgSeqNum


@both
@sides
def test_14d_tag_without_a_value(begin, side):
    s = logged_on(begin, side)
    out = sent(s.on_data(_nos(begin, drop=(55,), extra=[(55, "")]), T0))
    assert [(m[35], m[371], m[373]) for m in out] == [("3", "55", "4")]


def test_14i_14j_repeating_group_count_and_order_fix44():
    s = logged_on("FIX.4.4")
    wrong_count = raw("FIX.4.4", "D", 2, NOS + [(453, "2"), (448, "ACME"), (447, "D"), (452, "1")])
    assert [(m[371], m[373]) for m in sent(s.on_data(wrong_count, T0))] == [("453", "16")]
    out_of_order = raw("FIX.4.4", "D", 3, NOS + [(453, "1"), (447, "D"), (448, "ACME")])
    assert [(m[371], m[373]) for m in sent(s.on_data(out_of_order, T0))] == [("447", "15")]
    good = raw("FIX.4.4", "D", 4, NOS + [(453, "2"), (448, "ACME"), (447, "D"), (452, "1"), (448, "DESK"),
                                         (447, "D"), (452, "3")])
    out = s.on_data(good, T0)
    assert sent(out) == [] and [a[1] for a in apps(out)] == ["D"]


def test_14i_repeating_group_count_fix42():
    s = logged_on("FIX.4.2")
    wrong = raw("FIX.4.2", "D", 2, NOS + [(78, "2"), (79, "ACC1"), (80, "100")])
    assert [(m[371], m[373]) for m in sent(s.on_data(wrong, T0))] == [("78", "16")]


# -- 19: PossResend is the application's (the client gateway drops a ClOrdID it has; see test_fix_gateways) -------
@both
@sides
def test_19_poss_resend_with_the_next_msgseqnum_reaches_the_application(begin, side):
    s = logged_on(begin, side)
    out = s.on_data(raw(begin, "D", 2, NOS, header=[(97, "Y")]), T0)
    assert [a[1] for a in apps(out)] == ["D"]


# -- 21: reverse routing ------------------------------------------------------------------------------------------
@both
@sides
def test_21_a_reject_reverses_the_routing_fields(begin, side):
    s = logged_on(begin, side)
    out = sent(s.on_data(_nos(begin, drop=(11,), header=[(115, "FUND1"), (128, "DESK9")]), T0))
    assert [(m[35], m[128], m[115]) for m in out] == [("3", "FUND1", "DESK9")]


# -- malformed admin messages never drop the connection or what came with them ---------------------------------
@both
@sides
def test_malformed_admin_fields_are_rejected_and_the_rest_of_the_read_is_kept(begin, side):
    s = logged_on(begin, side)
    data = raw(begin, "2", 2, [(7, "x"), (16, "0")]) + raw(begin, "1", 3, [(112, "")]) + raw(begin, "D", 4, NOS)
    out = s.on_data(data, T0)
    replies = sent(out)
    assert [(m[35], m[371], m[373]) for m in replies] == [("3", "7", "6"), ("3", "112", "4")]
    assert [a[1] for a in apps(out)] == ["D"] and not disconnected(out) and s.st.next_in == 5


def test_dictionary_settings_per_side():
    venue = logged_on("FIX.4.4", validation=D.LENIENT)
    er = raw("FIX.4.4", "8", 2, [(37, "O1"), (17, "E1"), (150, "F"), (39, "2"), (55, "AAPL"), (54, "1"),
                                 (151, "0"), (14, "100"), (6, "10"), (32, "100"), (31, "10"), (527, "S1"),
                                 (29, "1"), (75, "20261123"), (20001, "x")], header=[(115, "X"), (369, "1")])
    out = venue.on_data(er, T0)
    assert sent(out) == [] and [a[1] for a in apps(out)] == ["8"]
    strict = logged_on("FIX.4.4")
    out = strict.on_data(er, T0)
    assert [(m[35], m[371], m[373]) for m in sent(out)] == [("3", "20001", "0")]
