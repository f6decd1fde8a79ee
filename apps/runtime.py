"""The deterministic app runtime: dispatch, timers on sequenced time, recovery by replay, output checking.

An app is a state machine fed only by sequenced records. Its outputs get consecutive ``source_seq`` numbers (1, 2,
...) in the order it makes them, so the same log fed through the same code gives the same numbered outputs. That is
what recovery stands on:

* the sequencer tells a (re)connecting app the highest ``source_seq`` of its own it has already sequenced (L);
* the app replays the log from the start; every output it regenerates with ``source_seq <= L`` is held back and,
  when the recorded output with that number arrives on the stream, compared byte for byte. A difference is a
  ``DeterminismError`` showing both messages;
* outputs numbered above L are sent. The sequencer drops any it already has, so a resend is never a duplicate.

The transport (TCP or in-memory) is not the runtime's business: it is given a ``send(source_seq, type, payload)``.
"""
from __future__ import annotations

import heapq

from sequencer import messages
from sequencer.record import Record
from sequencer.rights import TABLE_TYPES, SourceGuard


class DeterminismError(Exception):
    """An app regenerated an output that differs from the one recorded with the same source_seq."""

    def __init__(self, app: str, source_seq: int, input_seq: int | None, regenerated, recorded):
        self.app, self.source_seq, self.input_seq = app, source_seq, input_seq
        self.regenerated, self.recorded = regenerated, recorded

        def show(x):
            if x is None:
                return "(nothing)"
            typ, payload = x
            try:
                return repr(messages.to_display(messages.decode(payload, typ)))
            except ValueError as e:
                return f"type {typ}, undecodable payload {payload!r} ({e})"

        super().__init__(
            f"determinism error in app {app!r}, output source_seq {source_seq}"
            f"{f' (made while handling seq {input_seq})' if input_seq else ''}:\n"
            f"  regenerated: {show(regenerated)}\n  recorded:    {show(recorded)}")

    def __reduce__(self):  # rebuilt from its parts when a parallel replay's worker hands it back
        return (DeterminismError, (self.app, self.source_seq, self.input_seq, self.regenerated, self.recorded))


class StreamGap(Exception):
    pass


class Timers:
    """Wake-ups on sequenced time, ordered by (deadline, scheduling order)."""

    def __init__(self):
        self._heap: list[tuple[int, int, object]] = []
        self._order = 0
        self._live: dict[int, bool] = {}  # handles scheduled and neither fired nor cancelled

    def schedule(self, at_ns: int, token) -> int:
        """Fire ``token`` at the first record whose ts is at or past ``at_ns``. Returns a handle for ``cancel``."""
        self._order += 1
        heapq.heappush(self._heap, (at_ns, self._order, token))
        self._live[self._order] = True
        return self._order

    def cancel(self, handle: int) -> None:
        """Cancel a pending timer; cancelling one that already fired (or twice) does nothing."""
        self._live.pop(handle, None)

    def pop_due(self, now: int):
        heap = self._heap
        while heap and heap[0][0] <= now:
            at, order, token = heapq.heappop(heap)
            if self._live.pop(order, False):
                yield at, token

    def pending(self) -> list[tuple[int, object]]:
        return [(at, tok) for at, order, tok in sorted(self._heap) if order in self._live]

    def __len__(self) -> int:
        return len(self._live)


class App:
    """Base class of every deterministic app. Override ``on_message`` (and ``on_timer`` if you schedule timers).

    Never read a clock (use ``self.now``), never do I/O, never draw unseeded random numbers, never iterate a set or a
    dict keyed by strings when the order can affect an output... unless the dict was filled in stream order (dicts keep
    insertion order, sets do not)."""

    name = "app"

    def __init__(self):
        self.now = 0
        self.timers = Timers()
        self._submit = None  # set by the runner

    def on_message(self, rec: Record) -> None:
        pass

    def on_timer(self, token) -> None:
        pass

    def submit(self, msg: messages.Msg) -> int:
        """Send an output to the sequencer. Returns its source_seq. Act on it only when it comes back sequenced."""
        return self._submit(msg)

    def state_hash(self) -> str:
        """A digest of this app's whole state (``apps/statehash.py``): a replay to the same seq, or a snapshot
        restored, must hash equal to the live app."""
        from .statehash import state_hash
        return state_hash(self)

    def snapshot_state(self) -> dict:
        """State for people (replay --until dumps it). Override to show more."""
        return {"timers": [(at, repr(tok)) for at, tok in self.timers.pending()]}


class AppRunner:
    """Feeds one app its records in seq order and checks or sends its outputs."""

    def __init__(self, app: App, name: str, send=None):
        self.app = app
        self.name = name
        self.send = send or (lambda sseq, typ, payload: None)
        self.next_seq = 1
        self.out_seq = 0              # source_seq of the last output the app made
        self.recorded_upto = 0        # the sequencer had our outputs up to here when we connected
        self.pending: dict[int, tuple[int, bytes, int]] = {}  # source_seq -> (type, payload, input seq)
        self.current_seq = 0
        self.verified = 0
        app._submit = self._submit

    # -- connection -------------------------------------------------------------------------------------------
    def connected(self, last_source_seq: int, head_seq: int) -> None:
        """Called on every (re)connection, before subscribing from ``next_seq``."""
        if head_seq < self.next_seq - 1:
            raise StreamGap(f"{self.name}: the sequencer's log ends at seq {head_seq} but this app has processed up "
                            f"to seq {self.next_seq - 1}: the log lost records this app saw; restart it from replay")
        self.recorded_upto = max(self.recorded_upto, last_source_seq)
        for sseq in sorted(self.pending):  # outputs sent before the drop that never got sequenced
            if sseq > last_source_seq:
                typ, payload, _ = self.pending[sseq]
                self.send(sseq, typ, payload)

    # -- outputs ----------------------------------------------------------------------------------------------
    def _submit(self, msg: messages.Msg) -> int:
        self.out_seq += 1
        sseq = self.out_seq
        typ, payload = messages.tag_of(msg), messages.encode(msg)
        self.pending[sseq] = (typ, payload, self.current_seq)
        if sseq > self.recorded_upto:
            self.send(sseq, typ, payload)
        return sseq

    def _check_own(self, rec: Record) -> None:
        mine = self.pending.pop(rec.source_seq, None)
        recorded = (rec.type, bytes(rec.payload))
        if mine is None:
            raise DeterminismError(self.name, rec.source_seq, None, None, recorded)
        if (mine[0], mine[1]) != recorded:
            raise DeterminismError(self.name, rec.source_seq, mine[2], (mine[0], mine[1]), recorded)
        self.verified += 1

    # -- input ------------------------------------------------------------------------------------------------
    def handle(self, rec: Record) -> None:
        if rec.seq != self.next_seq:
            if rec.seq < self.next_seq:
                return  # already handled (a resubscription overlap); the stream is idempotent by seq
            raise StreamGap(f"{self.name}: expected seq {self.next_seq}, got {rec.seq}")
        app = self.app
        heap = app.timers._heap
        if heap and heap[0][0] <= rec.ts:   # checked here, not by calling pop_due: this runs for every record
            for _at, token in app.timers.pop_due(rec.ts):
                app.now = rec.ts
                self.current_seq = rec.seq
                app.on_timer(token)
        app.now = rec.ts
        self.current_seq = rec.seq
        if rec.source == self.name:
            self._check_own(rec)
        app.on_message(rec)
        self.next_seq = rec.seq + 1

    def handle_all(self, recs) -> None:
        for rec in recs:
            self.handle(rec)

    # -- snapshots (apps/snapshot.py) ---------------------------------------------------------------------------
    STATE = ("app", "name", "next_seq", "out_seq", "recorded_upto", "pending", "current_seq", "verified")

    def plain(self) -> "AppRunner":
        """This runner's state as a plain AppRunner (what a snapshot holds: the app, the position in the stream, the
        outputs not yet sequenced), whatever kind of runner it is (a replay's has settings of its own)."""
        r = AppRunner.__new__(AppRunner)
        r.__dict__.update({k: self.__dict__[k] for k in self.STATE})
        r.send = lambda sseq, typ, payload: None
        return r

    # a parallel replay's workers hand their runners back to the parent through a pipe (our own processes)
    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("send", None)       # the transport is not state
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.send = lambda sseq, typ, payload: None


class MachineApp(App):
    """An app around a pure state machine (the OMS, the algo container) that returns the messages to submit and
    leaves the timers it wants in a ``timer_requests`` list of ``(at_ns, token)``. Subclasses set ``machine``."""

    machine = None
    EOD = ("eod",)   # the timer token of the market close

    def watch(self, machine) -> None:
        """Set the machine, the record types it handles (only those are decoded and fed; the rest of the stream is
        skipped by tag) and the source guard: who may send what, as the stream says (sequencer/rights.py)."""
        self.machine = machine
        self._wanted = frozenset(messages.TAG_OF_CLASS[t] for t in type(machine)._handlers)
        self.guard = SourceGuard()

    def feed(self, rec) -> bool:
        """Give the machine ``rec`` if it handles that type and the source may send it (an alert and nothing else
        if it may not); True if the machine took it."""
        if rec.type in TABLE_TYPES:
            self.guard.observe(rec)
        if rec.type not in self._wanted:
            return False
        if not self.guard.allows(rec):
            self._emit([self.guard.alert(rec)])
            return False
        self._emit(self.machine.handle(rec.msg, rec.ts, rec.seq))
        return True

    def schedule_close(self, rec) -> None:
        """On the day's DayStart: a timer at the market close, on sequenced time (``on_close`` then runs)."""
        if rec.msg.close_ns:
            self.timers.schedule(rec.msg.close_ns, self.EOD)

    def on_close(self) -> None:
        """The market closed: the machine gets an ``EndOfDay``. A timer has no record of its own: the OMS is given the
        last input's seq (the end of day creates no ids), the algo 0 (its "made on a timer" cause)."""
        from sequencer.messages import EndOfDay
        self._emit(self.machine.handle(EndOfDay("market close"), self.now, getattr(self.machine, "seq", 0)))

    def _emit(self, outs) -> None:
        for m in outs:
            self.submit(m)
        requests = self.machine.timer_requests
        if requests:
            for at, token in requests:
                self.timers.schedule(at, token)
            requests.clear()
