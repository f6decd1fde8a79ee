"""`seqtrade fix-echo` as a real process on loopback, driven by a raw-socket FIX client."""
import socket
import time

import pytest
import simplefix

from fixgw.framing import FixFramer, split_fields
from fixgw.session import fix_time
from seqtrade import procs


class RawClient:
    def __init__(self, port, begin):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.begin = begin
        self.seq = 1
        self.framer = FixFramer()
        self.pending = []

    def send(self, msgtype, pairs, header=(), seq=None):
        m = simplefix.FixMessage()
        m.append_pair(8, self.begin)
        m.append_pair(35, msgtype)
        m.append_pair(49, "CLIENT")
        m.append_pair(56, "ECHO")
        m.append_pair(34, seq if seq is not None else self.seq)
        for t, v in header:
            m.append_pair(t, v)
        m.append_pair(52, fix_time(time.time_ns()))
        for t, v in pairs:
            m.append_pair(t, v)
        self.s.sendall(m.encode())
        if seq is None:
            self.seq += 1

    def recv(self):
        while not self.pending:
            data = self.s.recv(65536)
            if not data:
                raise ConnectionError("closed")
            self.pending += [x for x in self.framer.feed(data) if isinstance(x, bytes)]
        raw = self.pending.pop(0)
        return {int(t): v.decode() for t, v in split_fields(raw)}


NOS = [(11, "A1"), (21, "1"), (55, "AAPL"), (54, "1"), (60, "20261123-14:30:00"), (38, "100"), (40, "2"),
       (44, "10.5")]


@pytest.mark.parametrize("begin", ["FIX.4.2", "FIX.4.4"])
def test_fix_echo_over_tcp(tmp_path, begin):
    port = procs.free_port()
    p = procs.seqtrade("fix-echo", "--port", str(port), "--sender", "ECHO", "--target", "CLIENT", "--begin", begin,
                       log_path=str(tmp_path / "echo.out"))
    try:
        procs.wait_port("127.0.0.1", port, proc=p)
        c = RawClient(port, begin)
        c.send("A", [(98, "0"), (108, "30")])
        logon = c.recv()
        assert logon[35] == "A" and logon[108] == "30"
        c.send("D", NOS)
        echo = c.recv()
        assert echo[35] == "D" and echo[11] == "A1" and echo[44] == "10.5" and echo[34] == "2"
        c.send("D", NOS, header=[(97, "Y")])             # PossResend of a ClOrdID already seen: dropped
        c.send("1", [(112, "after-dup")])
        hb = c.recv()
        assert hb[35] == "0" and hb[112] == "after-dup"  # the next thing back is the heartbeat, not an echo
        c.send("F", [(41, "A1"), (11, "C1"), (55, "AAPL"), (54, "1"), (60, "20261123-14:30:00")])
        rej = c.recv()
        assert (rej[35], rej[380], rej[372]) == ("j", "3", "F")
        sec = [(320, "R1"), (322, "S1"), (55, "AAPL")] + ([(393, "1")] if begin == "FIX.4.2" else [(323, "1")])
        c.send("d", sec)
        assert c.recv()[35] == "d"
        c.send("D", [p for p in NOS if p[0] != 11])       # missing ClOrdID: session Reject naming the tag
        r = c.recv()
        assert (r[35], r[371], r[373]) == ("3", "11", "1")
        # a second client with the same CompIDs while the first is connected: refused
        c2 = RawClient(port, begin)
        c2.send("A", [(98, "0"), (108, "30")], seq=c.seq)
        with pytest.raises(ConnectionError):
            c2.recv()
        c.send("5", [])
        assert c.recv()[35] == "5"
    finally:
        procs.stop(p)


def test_fix_echo_takes_the_session_settings(tmp_path):
    # as a conformance acceptor runs: reset on logon, and a counterparty dictionary with a user-defined field
    (tmp_path / "dict.json").write_text('{"fields": {"9100": "STRING"}, "messages": {"D": {"add": [9100]}}}')
    port = procs.free_port()
    p = procs.seqtrade("fix-echo", "--port", str(port), "--sender", "ECHO", "--target", "CLIENT", "--begin",
                       "FIX.4.4", "--reset-on-logon", "--dictionary", str(tmp_path / "dict.json"),
                       log_path=str(tmp_path / "echo.out"))
    try:
        procs.wait_port("127.0.0.1", port, proc=p)
        c = RawClient(port, "FIX.4.4")
        c.send("A", [(98, "0"), (108, "30")])
        assert c.recv()[34] == "1"
        c.send("D", NOS + [(9100, "mine")])
        echo = c.recv()
        assert echo[35] == "D" and echo[9100] == "mine"
        c.send("D", NOS + [(9101, "unknown")])                 # not in the override: Reject, tag named
        r = c.recv()
        assert (r[35], r[371], r[373]) == ("3", "9101", "0")
        c.s.close()
        c = RawClient(port, "FIX.4.4")                         # back with MsgSeqNum 1 and no ResetSeqNumFlag
        c.send("A", [(98, "0"), (108, "30")])
        logon = c.recv()
        assert (logon[35], logon[34], logon[141]) == ("A", "1", "Y")   # the acceptor reset, and says so
        c.send("1", [(112, "t")])
        assert c.recv()[35] == "0"
    finally:
        procs.stop(p)
    bad = procs.seqtrade("fix-echo", "--port", str(procs.free_port()), "--sender", "E", "--target", "C", "--begin",
                         "FIX.4.4", "--dictionary", str(tmp_path / "nope.json"), log_path=str(tmp_path / "bad.out"))
    assert bad.wait(timeout=30) != 0
    out = (tmp_path / "bad.out").read_text()
    assert "nope.json" in out and "Traceback" not in out
