"""Scripted FIX session conversations between two in-memory sessions (our own scenarios, both directions)."""

from fixgw.framing import split_fields
from fixgw.session import Session, SessionConfig, fix_time
from tests.test_fix_session_cases import raw

T0 = 1_795_444_200_000_000_000  # 2026-11-23 09:30 New York
S = 1_000_000_000


def pair(begin="FIX.4.2", **kw):
    acc = Session(SessionConfig(begin, "BROKER", "CLIENT", heartbeat_s=30, **kw.get("acc", {})))
    ini = Session(SessionConfig(begin, "CLIENT", "BROKER", initiator=True, heartbeat_s=30, **kw.get("ini", {})))
    return acc, ini


def sent(actions):
    return [a[1] for a in actions if a[0] == "send"]


def fields_of(raw):
    return {int(t): v.decode() for t, v in split_fields(raw)}


def kinds(actions):
    """What the session did, less the message log's lines (every message in, session events)."""
    return [a for a in actions if a[0] not in ("recv", "event")]


def types(actions):
    return [fields_of(m)[35] for m in sent(actions)]


def deliver(actions, to, now):
    out = []
    for m in sent(actions):
        out += to.on_data(m, now)
    return out


def logon(acc, ini, now=T0):
    a = acc.on_connect(now)
    b = ini.on_connect(now)
    reply = deliver(b, acc, now)
    deliver(reply, ini, now)
    assert acc.status == ini.status == Session.ACTIVE
    return reply


def raw_msg(begin, msgtype, seq, pairs, sender="CLIENT", target="BROKER", when=T0, extra_header=()):
    return raw(begin, msgtype, seq, pairs, sender, target, when, extra_header)


NOS = [(11, "A1"), (21, "1"), (55, "AAPL"), (54, "1"), (60, "20261123-14:30:00"), (38, "100"), (40, "2"),
       (44, "10.5")]


def test_logon_handshake_and_app_message():
    acc, ini = pair()
    reply = logon(acc, ini)
    assert types(reply) == ["A"] and fields_of(sent(reply)[0])[108] == "30"
    got = deliver(ini.send_app("D", NOS, T0 + S), acc, T0 + S)
    got = kinds(got)
    assert [a[0] for a in got] == ["app"] and got[0][1] == "D"
    assert acc.st.next_in == 3 and ini.st.next_out == 3


def test_heartbeat_test_request_and_disconnect_after_missed_heartbeats():
    acc, ini = pair()
    logon(acc, ini)
    hb = acc.on_tick(T0 + 30 * S)
    assert types(hb) == ["0"]                          # nothing sent for HeartBtInt: heartbeat
    deliver(hb, ini, T0 + 30 * S)
    out = acc.on_tick(T0 + 37 * S)                    # nothing heard for HeartBtInt + 20%: TestRequest
    assert types(out) == ["1"]
    answer = deliver(out, ini, T0 + 37 * S)
    assert types(answer) == ["0"] and fields_of(sent(answer)[0])[112] == fields_of(sent(out)[0])[112]
    deliver(answer, acc, T0 + 37 * S)
    acc.on_tick(T0 + 80 * S)                          # silent again: TestRequest ...
    assert acc.on_tick(T0 + 150 * S)[-1][0] == "disconnect"  # ... unanswered: disconnect


def test_gap_triggers_resend_request_and_resend_uses_possdup_and_gap_fill():
    acc, ini = pair()
    logon(acc, ini)
    first = ini.send_app("D", NOS, T0 + S)                                   # seq 2: lost in transit
    ini.on_tick(T0 + 31 * S)                                                 # seq 3: a heartbeat, also lost
    third = ini.send_app("D", [(11, "A2")] + NOS[1:], T0 + 32 * S)           # seq 4 arrives
    got = deliver(third, acc, T0 + 32 * S)
    assert types(got) == ["2"] and (fields_of(sent(got)[0])[7], fields_of(sent(got)[0])[16]) == ("2", "0")
    resent = deliver(got, ini, T0 + 33 * S)
    msgs = [fields_of(r) for r in sent(resent)]
    assert [(m[35], m[34]) for m in msgs] == [("D", "2"), ("4", "3"), ("D", "4")]
    assert msgs[0][43] == "Y" and msgs[0][122] == fix_time(T0 + S) and msgs[0][11] == "A1"
    assert msgs[1][123] == "Y" and msgs[1][36] == "4"                        # the heartbeat is gap-filled
    apps = deliver(resent, acc, T0 + 33 * S)
    assert [a[1] for a in apps if a[0] == "app"] == ["D", "D"]
    assert acc.st.next_in == 5 and first


def test_seq_too_low_without_possdup_logs_out():
    acc, ini = pair()
    logon(acc, ini)
    out = acc.on_data(raw_msg("FIX.4.2", "D", 1, NOS), T0)
    assert types(out) == ["5"] and "too low" in fields_of(sent(out)[0])[58] and out[-1][0] == "disconnect"


def test_possdup_below_expected_is_ignored_and_orig_sending_time_checked():
    acc, ini = pair()
    logon(acc, ini)
    dup = raw_msg("FIX.4.2", "D", 1, NOS, extra_header=[(43, "Y")], when=T0 + S)
    out = acc.on_data(dup.replace(b"\x0152=", b"\x01122=" + fix_time(T0).encode() + b"\x0152=", 1), T0 + S)
    assert [a[0] for a in kinds(out)] == ["log"]
    no_orig = acc.on_data(dup, T0 + S)
    assert types(no_orig) == ["3"] and fields_of(sent(no_orig)[0])[371] == "122"


def test_validation_reject_consumes_seq_and_names_the_tag():
    acc, ini = pair()
    logon(acc, ini)
    bad = raw_msg("FIX.4.2", "D", 2, [p for p in NOS if p[0] != 55])
    out = acc.on_data(bad, T0)
    rej = fields_of(sent(out)[0])
    assert (rej[35], rej[45], rej[371], rej[372], rej[373]) == ("3", "2", "55", "D", "1")
    assert acc.st.next_in == 3


def test_any_message_of_the_standard_reaches_the_application():
    # whether we support QuoteRequest is the application's business (it answers BusinessMessageReject 380=3, see
    # test_fix_echo); the session layer only checks it is valid FIX
    acc, ini = pair()
    logon(acc, ini)
    out = kinds(acc.on_data(raw_msg("FIX.4.2", "R", 2, [(131, "Q1"), (146, "1"), (55, "AAPL")]), T0))
    assert [(a[0], a[1]) for a in out] == [("app", "R")] and acc.st.next_in == 3


def test_garbled_input_does_not_consume_a_sequence_number():
    acc, ini = pair()
    logon(acc, ini)
    good = raw_msg("FIX.4.2", "D", 2, NOS)
    broken = bytearray(good)
    broken[-3] = ord("0") if broken[-3] != ord("0") else ord("1")  # bad checksum
    out = acc.on_data(bytes(broken), T0)
    assert [a[0] for a in kinds(out)] == ["log"] and acc.st.next_in == 2
    assert [a[0] for a in kinds(acc.on_data(good, T0))] == ["app"]


def test_sequence_reset_reset_and_gap_fill():
    acc, ini = pair()
    logon(acc, ini)
    acc.on_data(raw_msg("FIX.4.2", "4", 99, [(36, "50")]), T0)     # Reset mode: MsgSeqNum ignored
    assert acc.st.next_in == 50
    acc.on_data(raw_msg("FIX.4.2", "4", 50, [(123, "Y"), (36, "60")]), T0)
    assert acc.st.next_in == 60


def test_sending_time_accuracy():
    acc, ini = pair()
    logon(acc, ini)
    out = acc.on_data(raw_msg("FIX.4.2", "D", 2, NOS, when=T0 - 600 * S), T0)
    assert types(out)[:2] == ["3", "5"] and fields_of(sent(out)[0])[373] == "10"


def test_wrong_compids_and_wrong_password():
    acc, _ = pair()
    acc.on_connect(T0)
    out = acc.on_data(raw_msg("FIX.4.2", "A", 1, [(98, "0"), (108, "30")], sender="STRANGER"), T0)
    assert out[-1][0] == "disconnect" and not sent(out)  # unknown CompIDs: silent disconnect
    acc, ini = pair("FIX.4.4", acc={"username": "u", "password": "right"}, ini={"username": "u",
                                                                                "password": "wrong"})
    acc.on_connect(T0)
    out = deliver(ini.on_connect(T0), acc, T0)
    assert types(out) == ["5"] and "password" in fields_of(sent(out)[0])[58] and out[-1][0] == "disconnect"


def test_reset_seq_num_flag_on_logon():
    acc, ini = pair(ini={"reset_on_logon": True})
    acc.st.next_in, acc.st.next_out = 40, 70
    reply = logon(acc, ini)
    assert fields_of(sent(reply)[0])[141] == "Y" and fields_of(sent(reply)[0])[34] == "1"
    assert (acc.st.next_in, acc.st.next_out) == (2, 2)


def test_logout_handshake_and_timeout():
    acc, ini = pair()
    logon(acc, ini)
    out = ini.logout(T0 + S, "bye")
    answer = acc.on_data(sent(out)[0], T0 + S)
    assert types(answer) == ["5"] and answer[-1][0] == "disconnect"
    assert ini.on_data(sent(answer)[0], T0 + S)[-1] == ("disconnect", "logout complete")
    acc, ini = pair()
    logon(acc, ini)
    ini.logout(T0, "bye")
    assert ini.on_tick(T0 + 6 * S) == [("disconnect", "no Logout reply in time")]


def test_session_state_survives_a_restart():
    acc, ini = pair()
    logon(acc, ini)
    deliver(ini.send_app("D", NOS, T0), acc, T0)
    saved = acc.st
    acc2 = Session(acc.cfg, saved)          # a restarted gateway, state rebuilt (here: handed over)
    acc2.on_connect(T0 + S)
    ini.on_disconnect()
    out = deliver(ini.on_connect(T0 + S), acc2, T0 + S)
    assert types(out) == ["A"] and fields_of(sent(out)[0])[34] == str(saved.next_out - 1)
