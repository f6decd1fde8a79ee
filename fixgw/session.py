"""The FIX session layer (FIX 4.2 and 4.4), as a pure state machine: bytes and time in, actions out.

No sockets and no clock here: the acceptor/initiator around it feeds ``on_connect``, ``on_data`` and ``on_tick``
with the time, and performs the actions it returns:

    ("send", bytes)          write these bytes to the peer
    ("app", msgtype, fields) an application message for the application (already validated, in sequence)
    ("disconnect", reason)   close the connection
    ("log", text)            something for the session log (garbled input, rejects, resends)

What it implements: logon (CompID, HeartBtInt, ResetSeqNumFlag, Username/Password in 4.4), heartbeats and test
requests with disconnect after missed heartbeats, logout handshake with timeout, sequence number checks (too high →
ResendRequest; too low without PossDupFlag → Logout), PossDupFlag with OrigSendingTime checks, answering
ResendRequest (application messages resent with PossDupFlag=Y and OrigSendingTime, admin messages gap-filled with
SequenceReset-GapFill), SequenceReset in both modes, SendingTime accuracy, and validation against the data
dictionary with session Reject (35=3) or BusinessMessageReject (35=j).

Sequence numbers and the resendable messages are the session's state (``SessionState``); a gateway rebuilds it from
the sequenced log after a restart (every FIX message in and out is on the stream), so no separate store can disagree
with the log.
"""
from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass, field

import simplefix

from . import dictionary as D
from .framing import FixFramer, Garbled, split_fields

ADMIN_TYPES = D.ADMIN


@dataclass
class SessionConfig:
    """One session's settings. The names after ``#`` are QuickFIX's, which FIX users know; the README's FIX section
    gives each one's default per side (strict for clients, lenient for venues)."""
    begin: str                      # "FIX.4.2" or "FIX.4.4"
    sender: str                     # our CompID
    target: str                     # theirs
    initiator: bool = False
    heartbeat_s: int = 30
    username: str = ""              # 4.4: expected (acceptor) or sent (initiator)
    password: str = ""
    reset_on_logon: bool = False    # ResetOnLogon: initiator sends ResetSeqNumFlag=Y; both start again at 1
    reset_on_logout: bool = False   # ResetOnLogout: sequence numbers back to 1 after a logout
    reset_on_disconnect: bool = False   # ResetOnDisconnect: and after any disconnect
    check_latency: bool = True      # CheckLatency
    max_latency_s: int = 120        # MaxLatency: SendingTime this far from our clock is refused
    logout_timeout_s: int = 5       # LogoutTimeout
    logon_timeout_s: int = 10       # LogonTimeout: no Logon (or no answer to ours) in this time: disconnect
    validation: D.Validation = D.STRICT          # ValidateUserDefinedFields, AllowUnknownMsgFields, ...
    dictionary: dict | None = None  # the counterparty's dictionary override (fields, messages); see dictionary.py


@dataclass
class SessionState:
    """What survives a restart. One object per session for the whole day: a reset changes it in place, because the
    gateway's route holds it too."""
    next_out: int = 1
    next_in: int = 1
    sent: dict = field(default_factory=dict)  # seq -> (msgtype, [(tag, value)], sending_time) for app messages

    def reset(self) -> None:
        self.next_out = self.next_in = 1
        self.sent.clear()


def fix_time(ns: int) -> str:
    d = dt.datetime.fromtimestamp(ns // 1_000_000_000, dt.timezone.utc)
    return d.strftime("%Y%m%d-%H:%M:%S") + f".{(ns // 1_000_000) % 1000:03d}"


_DAY_NS: dict[bytes, int] = {}   # YYYYMMDD -> ns at midnight UTC (a session sees one or two dates a day)


def parse_fix_time(v: bytes) -> int | None:
    """UTCTIMESTAMP ``YYYYMMDD-HH:MM:SS[.sss[sss]]`` to ns since the epoch; None if it is not one."""
    if len(v) < 17 or v[8:9] != b"-" or v[11:12] != b":" or v[14:15] != b":":
        return None
    day = _DAY_NS.get(v[:8])
    try:
        if day is None:
            d = dt.datetime.strptime(v[:8].decode(), "%Y%m%d").replace(tzinfo=dt.timezone.utc)
            day = _DAY_NS.setdefault(v[:8], int(d.timestamp()) * 1_000_000_000)
        h, m, s = int(v[9:11]), int(v[12:14]), int(v[15:17])
        frac = v[18:]
        if len(v) > 17 and (v[17:18] != b"." or not frac.isdigit() or len(frac) > 9):
            return None
    except (ValueError, UnicodeDecodeError):
        return None
    if h > 23 or m > 59 or s > 60:
        return None
    ns = int(frac.ljust(9, b"0")) if frac else 0
    return day + ((h * 60 + m) * 60 + s) * 1_000_000_000 + ns


class Session:
    DISCONNECTED, AWAIT_LOGON, LOGON_SENT, ACTIVE, LOGOUT_SENT = "disconnected", "await-logon", "logon-sent", \
        "active", "logout-sent"

    def __init__(self, cfg: SessionConfig, state: SessionState | None = None):
        self.cfg = cfg
        self.st = state or SessionState()
        self.dict = D.get(cfg.begin, cfg.dictionary)
        self.status = self.DISCONNECTED
        self.framer = FixFramer()
        self.heartbeat_ns = cfg.heartbeat_s * 1_000_000_000
        self.last_in = 0
        self.last_out = 0
        self.connected_at = 0
        self.test_req_sent = 0
        self.logout_sent_at = 0
        self.resend_requested_upto = 0
        self.routing: list = []         # the peer's routing fields, reversed, for our answers (Reject, Logout)

    # -- building messages ------------------------------------------------------------------------------------
    def _encode(self, msgtype: str, body: list, now: int, seq: int | None = None, poss_dup: bool = False,
                orig_time: str = "", poss_resend: bool = False, routing=()) -> bytes:
        m = simplefix.FixMessage()
        m.append_pair(8, self.cfg.begin)
        m.append_pair(35, msgtype)
        m.append_pair(49, self.cfg.sender)
        m.append_pair(56, self.cfg.target)
        for tag, value in routing:
            m.append_pair(tag, value)
        m.append_pair(34, seq if seq is not None else self.st.next_out)
        if poss_dup:
            m.append_pair(43, "Y")
        if poss_resend:
            m.append_pair(97, "Y")
        m.append_pair(52, fix_time(now))
        if orig_time:
            m.append_pair(122, orig_time)
        for tag, value in body:
            m.append_pair(tag, value)
        return m.encode()

    def _send(self, msgtype: str, body: list, now: int, poss_resend: bool = False, routing=()) -> tuple:
        raw = self._encode(msgtype, body, now, poss_resend=poss_resend, routing=routing)
        if msgtype not in ADMIN_TYPES:
            self.st.sent[self.st.next_out] = (msgtype, body, fix_time(now))
        self.st.next_out += 1
        self.last_out = now
        return ("send", raw)

    def send_app(self, msgtype: str, body: list, now: int, poss_resend: bool = False) -> list:
        """An application message to the peer (only when the session is active). ``poss_resend``: it may have
        gone out before under another MsgSeqNum (PossResend 97=Y), so the peer checks for a duplicate by its ids."""
        if self.status == self.DISCONNECTED and self.st.next_out > 1:
            # as FIX engines do: it takes the next MsgSeqNum and waits in the store; the peer's next Logon finds the
            # gap and its ResendRequest gets it (with PossDupFlag)
            self._send(msgtype, body, now, poss_resend)
            return [("log", f"stored for resend, session disconnected: {msgtype} seq {self.st.next_out - 1}")]
        if self.status != self.ACTIVE:
            return [("log", f"not sent, session {self.status}: {msgtype}")]
        return [self._send(msgtype, body, now, poss_resend)]

    # -- connection events ------------------------------------------------------------------------------------
    def on_connect(self, now: int) -> list:
        self.framer = FixFramer()
        self.last_in = self.last_out = self.connected_at = now
        self.test_req_sent = 0
        self.resend_requested_upto = 0
        if self.cfg.initiator:
            body = [(98, "0"), (108, self.cfg.heartbeat_s)]
            if self.cfg.reset_on_logon:
                self.st.reset()
                body.append((141, "Y"))
            if self.cfg.begin == D.FIX44 and self.cfg.username:
                body += [(553, self.cfg.username), (554, self.cfg.password)]
            self.status = self.LOGON_SENT
            return [("event", "logon sent"), self._send("A", body, now)]
        self.status = self.AWAIT_LOGON
        return []

    def on_disconnect(self) -> None:
        was = self.status
        self.status = self.DISCONNECTED
        if self.cfg.reset_on_disconnect or (self.cfg.reset_on_logout and was == self.LOGOUT_SENT):
            self.st.reset()

    def logout(self, now: int, text: str = "") -> list:
        if self.status not in (self.ACTIVE, self.LOGON_SENT):
            return [("disconnect", text or "logout")]
        self.status = self.LOGOUT_SENT
        self.logout_sent_at = now
        return [("event", f"logout sent{': ' + text if text else ''}"),
                self._send("5", [(58, text)] if text else [], now, routing=self.routing)]

    # -- time -------------------------------------------------------------------------------------------------
    def on_tick(self, now: int) -> list:
        out: list = []
        if self.status == self.LOGOUT_SENT and now - self.logout_sent_at > self.cfg.logout_timeout_s * 10**9:
            return [("disconnect", "no Logout reply in time")]
        if self.status in (self.AWAIT_LOGON, self.LOGON_SENT) and \
                now - self.connected_at > self.cfg.logon_timeout_s * 10**9:
            what = "no Logon" if self.status == self.AWAIT_LOGON else "no answer to our Logon"
            return [("disconnect", f"{what} within {self.cfg.logon_timeout_s} s")]
        if self.status != self.ACTIVE:
            return out
        if now - self.last_out >= self.heartbeat_ns:
            out.append(self._send("0", [], now))
        silent = now - self.last_in
        if self.test_req_sent and silent >= self.heartbeat_ns * 2 + self.heartbeat_ns // 5:
            return out + [("disconnect", f"no message from {self.cfg.target} for {silent // 10**9} s after a "
                                         f"TestRequest")]
        if not self.test_req_sent and silent >= self.heartbeat_ns + self.heartbeat_ns // 5:
            self.test_req_sent = now
            out.append(self._send("1", [(112, f"TEST{now // 10**9}")], now))
        return out

    # -- input ------------------------------------------------------------------------------------------------
    def on_data(self, data: bytes, now: int) -> list:
        out: list = []
        for item in self.framer.feed(data):
            if isinstance(item, Garbled):
                out.append(("log", f"garbled input discarded ({item.reason}): {item.data[:60]!r}"))
                if self.status == self.AWAIT_LOGON:   # the first message must be a good Logon: nothing to answer
                    out.append(("disconnect", "garbled first message"))
                    break
                continue
            out.append(("recv", item))
            try:
                out += self._on_message(item, now)
            except Exception as e:  # noqa: BLE001 - a bug must not drop the rest of the read (or the connection)
                out.append(("log", f"internal error on a message, seq kept as it was: {type(e).__name__}: {e}; "
                                   f"{item[:120]!r}"))
            if out and out[-1][0] == "disconnect":
                break
        return out

    def _reject(self, seq: int, msgtype: str | None, p: D.Problem, now: int) -> tuple:
        if p.business:
            return self._send("j", [(45, seq), (372, msgtype or "?"), (380, p.reason), (58, p.text)], now,
                              routing=self.routing)
        body = [(45, seq)]
        if p.ref_tag:
            body.append((371, p.ref_tag))
        if msgtype and msgtype in self.dict.messages:
            body.append((372, msgtype))
        body += [(373, p.reason), (58, p.text)]
        return self._send("3", body, now, routing=self.routing)

    def _on_message(self, raw: bytes, now: int) -> list:
        fields = split_fields(raw)
        self.last_in = now
        self.test_req_sent = 0
        begin = fields[0][1].decode(errors="replace") if fields[0][1] else ""
        values = dict(reversed(fields))     # tag bytes -> value bytes, the first occurrence of each
        seq_raw = values.get(b"34", b"")
        seq = int(seq_raw) if seq_raw.isdigit() and len(seq_raw) < 19 else 0
        msgtype = values.get(b"35", b"").decode(errors="replace")
        if begin != self.cfg.begin:
            return [("log", f"BeginString {begin} on a {self.cfg.begin} session"),
                    *self.logout(now, f"BeginString must be {self.cfg.begin}"), ("disconnect", "wrong BeginString")]
        if self.status == self.AWAIT_LOGON and msgtype != "A":
            return [("disconnect", f"first message was {msgtype!r}, not Logon")]
        if self.status == self.LOGON_SENT and msgtype != "A":
            if msgtype == "5":
                return [("event", f"logon refused by {self.cfg.target}: "
                                  f"{values.get(b'58', b'').decode(errors='replace')}"), ("disconnect", "logon refused")]
            return [("disconnect", f"answer to our Logon was {msgtype!r}, not Logon")]
        # reverse routing: answer to whom they sent it on behalf of (FIX: OnBehalfOf <-> DeliverTo)
        self.routing = [(128, values[b"115"].decode(errors="replace"))] if b"115" in values else []
        if b"128" in values:
            self.routing.append((115, values[b"128"].decode(errors="replace")))
        # CompIDs: theirs must be our target and ours their target
        if values.get(b"49", b"").decode(errors="replace") != self.cfg.target or \
                values.get(b"56", b"").decode(errors="replace") != self.cfg.sender:
            if self.status == self.AWAIT_LOGON:
                return [("disconnect", f"Logon from unknown CompIDs {values.get(b'49')!r} -> {values.get(b'56')!r}")]
            return [self._reject(seq, msgtype, D.Problem(D.COMPID_PROBLEM, 49, "CompID problem"), now),
                    *self.logout(now, "CompID problem"), ("disconnect", "CompID problem")]
        msgtype, problem = self.dict.validate(fields, self.cfg.validation)
        if problem is not None and (problem.ref_tag == 34 or seq == 0):
            return [*self.logout(now, f"invalid MsgSeqNum: {problem.text}"), ("disconnect", "invalid MsgSeqNum")]
        if msgtype == "A":
            return self._on_logon(values, seq, problem, now)
        if msgtype == "4" and values.get(b"123", b"N") != b"Y" and problem is None:
            return self._sequence_reset(values, seq, now)  # Reset mode ignores MsgSeqNum
        expected = self.st.next_in
        poss_dup = values.get(b"43") == b"Y"
        if seq < expected:
            if not poss_dup:
                text = f"MsgSeqNum too low, expecting {expected} but received {seq}"
                return [("log", text), *self.logout(now, text), ("disconnect", text)]
            orig = parse_fix_time(values.get(b"122", b""))
            sending = parse_fix_time(values.get(b"52", b""))
            if orig is None:
                return [self._reject(seq, msgtype, D.Problem(D.REQUIRED_MISSING, 122,
                                                              "PossDupFlag=Y without OrigSendingTime"), now)]
            if sending is not None and orig > sending:
                return [self._reject(seq, msgtype, D.Problem(D.SENDING_TIME, 122,
                                                              "OrigSendingTime after SendingTime"), now),
                        *self.logout(now, "SendingTime accuracy problem"), ("disconnect", "OrigSendingTime")]
            return [("log", f"possible duplicate {msgtype} seq {seq} ignored (already processed)")]
        if seq > expected:
            out = [("log", f"gap: expected {expected}, received {seq}")]
            if msgtype == "5":
                return out + [("disconnect", "Logout received during a gap")]
            if self.resend_requested_upto < expected:   # one ResendRequest per gap, not one per message in it
                self.resend_requested_upto = seq
                out.append(("event", f"resend request {expected}..0"))
                out.append(self._send("2", [(7, expected), (16, 0)], now))
            if msgtype == "2" and problem is None:   # still answer their resend request, or both sides wait forever
                out += self._on_resend_request(values, now)
            return out
        # seq == expected
        sending = parse_fix_time(values.get(b"52", b""))
        if self.cfg.check_latency and problem is None and not poss_dup and sending is not None and \
                abs(sending - now) > self.cfg.max_latency_s * 1_000_000_000:
            self.st.next_in += 1
            return [self._reject(seq, msgtype, D.Problem(D.SENDING_TIME, 52, "SendingTime accuracy problem"), now),
                    *self.logout(now, "SendingTime accuracy problem"), ("disconnect", "SendingTime accuracy")]
        self.st.next_in += 1
        if problem is not None:
            if msgtype == "4" and values.get(b"123") == b"Y" and b"36" in values and values[b"36"].isdigit():
                # a GapFill whose other fields are wrong still moves the sequence on, or we ask for it forever
                self.st.next_in = max(self.st.next_in, int(values[b"36"]))
            return [("event", f"reject sent: seq {seq} {msgtype}: {problem.text}"),
                    self._reject(seq, msgtype, problem, now)]
        return self._dispatch(msgtype, values, fields, now)

    def _dispatch(self, msgtype: str, values: dict, fields: list, now: int) -> list:
        if msgtype == "0":
            return []
        if msgtype == "1":
            return [self._send("0", [(112, values[b"112"].decode(errors="replace"))], now)]
        if msgtype == "2":
            return self._on_resend_request(values, now)
        if msgtype == "3":
            return [("log", f"peer rejected our seq {values.get(b'45')}: {values.get(b'58', b'').decode(errors='replace')}")]
        if msgtype == "4":
            new = int(values[b"36"])
            if new < self.st.next_in:
                return [self._reject(int(values[b"34"]), "4", D.Problem(D.BAD_VALUE, 36,
                                                                      f"NewSeqNo {new} below expected "
                                                                      f"{self.st.next_in}"), now)]
            self.st.next_in = new
            return []
        if msgtype == "5":
            if self.status == self.LOGOUT_SENT:
                return [("event", "logout complete"), ("disconnect", "logout complete")]
            self.status = self.LOGOUT_SENT
            return [("event", "logout by peer"), self._send("5", [], now), ("disconnect", "logout by peer")]
        if msgtype == "A":
            return [self._reject(int(values[b"34"]), "A", D.Problem(D.BAD_VALUE, 35, "Logon on an active session"),
                                 now)]
        return [("app", msgtype, fields)]

    def _sequence_reset(self, values: dict, seq: int, now: int) -> list:
        new = int(values[b"36"])
        if new < self.st.next_in:
            return [self._reject(seq, "4", D.Problem(D.BAD_VALUE, 36, f"NewSeqNo {new} below expected "
                                                                      f"{self.st.next_in}"), now)]
        self.st.next_in = new
        return [("log", f"SequenceReset-Reset: next incoming seq {new}")]

    def _on_logon(self, values: dict, seq: int, problem, now: int) -> list:
        if self.status == self.ACTIVE:
            return self._dispatch("A", values, [], now)
        if problem is not None:
            return [("log", f"bad Logon: {problem.text}"), *self.logout_now(now, problem.text)]
        hb = int(values[b"108"])
        if hb <= 0 and not self.cfg.initiator:
            return self.logout_now(now, f"HeartBtInt must be positive, not {hb}")
        if not self.cfg.initiator and self.cfg.begin == D.FIX44 and self.cfg.username:
            if not credentials_match(values, self.cfg):
                return [("log", "Logon with wrong Username/Password"),
                        *self.logout_now(now, "invalid username or password")]
        sending = parse_fix_time(values.get(b"52", b""))
        if self.cfg.check_latency and sending is not None and \
                abs(sending - now) > self.cfg.max_latency_s * 1_000_000_000:
            return [("log", "Logon with SendingTime out of range"),
                    *self.logout_now(now, "SendingTime accuracy problem")]
        reset = values.get(b"141") == b"Y"
        out = []
        if reset:
            if not self.cfg.initiator:
                self.st.reset()
            self.st.next_in = 1
        elif self.cfg.reset_on_logon and not self.cfg.initiator:
            # ResetOnLogon on an acceptor: our numbers start again at 1 (the answer says so with 141=Y); theirs are
            # taken as they come, since they did not ask for a reset
            self.st.reset()
            self.st.next_in = seq
            reset = True
        if not self.cfg.initiator:
            self.heartbeat_ns = hb * 1_000_000_000
            body = [(98, "0"), (108, hb)] + ([(141, "Y")] if reset else [])
            out.append(self._send("A", body, now))
        self.status = self.ACTIVE
        if seq > self.st.next_in:
            out.append(("log", f"Logon seq {seq} above expected {self.st.next_in}: requesting resend"))
            self.resend_requested_upto = seq
            out.append(self._send("2", [(7, self.st.next_in), (16, 0)], now))
        elif seq < self.st.next_in and not reset:
            text = f"MsgSeqNum too low, expecting {self.st.next_in} but received {seq}"
            return out + [*self.logout(now, text), ("disconnect", text)]
        else:
            self.st.next_in = seq + 1
        out.append(("event", f"logged on ({self.cfg.begin}, HeartBtInt {hb}{', sequence reset' if reset else ''})"))
        return out

    def logout_now(self, now: int, text: str) -> list:
        """Refuse a logon: a Logout with the reason, then disconnect (FIX: do not wait for a reply)."""
        raw = self._encode("5", [(58, text)], now, routing=self.routing)
        self.st.next_out += 1
        return [("event", f"logon refused: {text}"), ("send", raw), ("disconnect", text)]

    def _on_resend_request(self, values: dict, now: int) -> list:
        begin = int(values[b"7"])
        end = int(values[b"16"])
        last = self.st.next_out - 1
        if end == 0 or end > last:
            end = last
        out = [("event", f"resending {begin}..{end}")]
        gap_start = None
        for s in range(max(begin, 1), end + 1):
            stored = self.st.sent.get(s)
            if stored is None:  # admin message (or not ours to resend): gap-fill it
                if gap_start is None:
                    gap_start = s
                continue
            if gap_start is not None:
                out.append(self._gap_fill(gap_start, s, now))
                gap_start = None
            msgtype, body, orig_time = stored
            out.append(("send", self._encode(msgtype, body, now, seq=s, poss_dup=True, orig_time=orig_time)))
        if gap_start is not None:
            out.append(self._gap_fill(gap_start, end + 1, now))
        self.last_out = now
        return out

    def _gap_fill(self, seq: int, new_seq: int, now: int) -> tuple:
        return ("send", self._encode("4", [(123, "Y"), (36, new_seq)], now, seq=seq, poss_dup=True,
                                     orig_time=fix_time(now)))


def credentials_match(values: dict, cfg: SessionConfig) -> bool:
    """4.4 Username/Password against the session's, in constant time."""
    user = values.get(b"553", b"")
    pw = values.get(b"554", b"")
    return hmac.compare_digest(user, cfg.username.encode()) & hmac.compare_digest(pw, cfg.password.encode())
