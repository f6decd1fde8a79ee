"""One FIX session of a gateway as seen from the stream: what must go out on it, what went out, and the marks that let
a restarted gateway resume it exactly.

Every sequenced record meant for the session is queued in stream order and sent when the session is logged on. After
sending or receiving, the gateway writes a ``FixSessionMark`` (next MsgSeqNums, the stream seq delivered up to, which
MsgSeqNum carried which record). A restarted gateway reads the day's log and rebuilds the session from the marks:
its sequence numbers, the messages it can resend on a ResendRequest, and the records still to deliver.

What the log cannot say is whether records after the last mark went out just before a crash. If the last mark says
the session was up, those records are sent again with PossResend (97=Y) so the peer checks them by their ids, and the
outgoing MsgSeqNum jumps past anything that may have been used (the peer asks for a resend of the jump and gets a
gap fill). A clean stop logs out and writes a final mark with ``up`` False, and then nothing is uncertain.
"""
from __future__ import annotations

from sequencer import messages as M

from .session import SessionConfig, SessionState, fix_time

ADMIN_SLACK = 10   # admin messages (heartbeat, test request, logout) that may have gone out after the last mark


class Route:
    def __init__(self, key: str, cfg: SessionConfig, render):
        self.key, self.cfg = key, cfg
        self.render = render            # stream message -> (MsgType, body) for this session
        self.state = SessionState()
        self.conn = None
        self.queue: list[tuple[int, object]] = []      # (stream seq, message) not yet delivered
        self.delivered_seq = 0
        self.up = False                 # as of the last mark (rebuild), then live
        self.poss_resend_upto = 0
        self._sent: list[tuple[int, int]] = []          # (MsgSeqNum, stream seq) since the last mark
        self._marked = (1, 1, 0, False)

    # -- rebuilding from the log ----------------------------------------------------------------------------------
    def apply_mark(self, m: M.FixSessionMark) -> None:
        by_seq = dict(self.queue)
        for out_seq, stream_seq in zip(m.out_seqs, m.stream_seqs):
            msg = by_seq.get(stream_seq)
            if msg is not None:
                msgtype, body = self.render(msg)
                self.state.sent[out_seq] = (msgtype, body, fix_time(m.sent_ns))
        self.state.next_in, self.state.next_out = m.next_in, m.next_out
        self.delivered_seq, self.up = m.delivered_seq, m.up
        self.queue = [q for q in self.queue if q[0] > m.delivered_seq]
        self._marked = (m.next_in, m.next_out, m.delivered_seq, m.up)

    def resume(self) -> str:
        """After the log is read: make the numbers safe if the previous process stopped without a clean logout."""
        if not self.up:
            return f"{self.key}: resumes at MsgSeqNum in {self.state.next_in} out {self.state.next_out}, " \
                   f"{len(self.queue)} to deliver"
        jump = len(self.queue) + ADMIN_SLACK
        self.state.next_out += jump
        self.poss_resend_upto = self.queue[-1][0] if self.queue else 0
        self.up = False
        return f"{self.key}: the previous gateway stopped while logged on: outgoing MsgSeqNum jumps by {jump} to " \
               f"{self.state.next_out}; {len(self.queue)} record(s) it may have sent go out again with PossResend"

    # -- live ---------------------------------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.conn is not None and not self.conn.closed and self.conn.session.status == "active"

    def deliver(self, seq: int, msg, live: bool) -> None:
        self.queue.append((seq, msg))
        if live and self.active:
            self.drain()

    def drain(self) -> None:
        while self.queue and self.active:
            seq, msg = self.queue.pop(0)
            msgtype, body = self.render(msg)
            out_seq = self.state.next_out
            self.conn.send_app(msgtype, body, poss_resend=seq <= self.poss_resend_upto)
            if self.state.next_out == out_seq:   # not sent after all (the session went down meanwhile)
                self.queue.insert(0, (seq, msg))
                return
            self._sent.append((out_seq, seq))
            self.delivered_seq = seq

    def drop_queued(self, pred) -> None:
        self.queue = [q for q in self.queue if not pred(q[1])]

    def mark(self, gateway: str, now_ns: int) -> M.FixSessionMark | None:
        """A mark if anything changed since the last one."""
        up = self.active
        cur = (self.state.next_in, self.state.next_out, self.delivered_seq, up)
        if cur == self._marked and not self._sent:
            return None
        self._marked = cur
        sent, self._sent = self._sent, []
        return M.FixSessionMark(gateway, self.key, cur[0], cur[1], cur[2], up, now_ns if sent else 0,
                                [s[0] for s in sent], [s[1] for s in sent])
