"""The sequencing rule itself, with no I/O of its own: shared by the TCP server and the in-memory cluster.

For each submission ``(source, source_seq, type, payload)``:
* ``source_seq`` at or below the last one sequenced for that source: a resend, dropped (idempotence);
* ``source_seq`` more than one above it: a gap, refused (something the source sent was lost; sequencing past it
  would make the loss permanent);
* an unknown type tag or a payload that does not decode: refused, naming it (a poison record never reaches the log);
* otherwise appended to the log's open batch with the next seq and the batch's timestamp.
"""
from __future__ import annotations

from . import messages
from .log import LogWriter

SEQUENCER_SOURCE = "sequencer"


class SubmitError(Exception):
    """A submission the sequencer refuses; the connection that sent it is closed with this text."""


class SequencerCore:
    def __init__(self, log: LogWriter, validate_payloads: bool = True):
        self.log = log
        self.validate = validate_payloads
        self.duplicates = 0
        self._source_b: dict[str, bytes] = {}

    def source_bytes(self, source: str) -> bytes:
        b = self._source_b.get(source)
        if b is None:
            b = source.encode()
            if not b or len(b) > 255:
                raise SubmitError(f"source name {source!r} must be 1..255 bytes")
            self._source_b[source] = b
        return b

    def last_source_seq(self, source: str) -> int:
        return self.log.source_seqs.get(source, 0)

    def stamp(self, now_ns: int) -> int:
        """The timestamp for the next batch: the sequencer's clock, never below the last one recorded."""
        return now_ns if now_ns > self.log.last_ts else self.log.last_ts

    def sequence(self, source: str, items, now_ns: int) -> int:
        """Sequence ``items`` (iterable of ``(source_seq, type, payload)``) from ``source``. Returns how many were
        new. Raises ``SubmitError`` at the first bad one; those before it stay sequenced."""
        log = self.log
        src_b = self.source_bytes(source)
        last = log.source_seqs.get(source, 0)
        ts = self.stamp(now_ns)
        known = messages.TYPES_BY_TAG
        validate = self.validate
        new = 0
        for sseq, typ, payload in items:
            if sseq <= last:
                self.duplicates += 1
                continue
            if sseq != last + 1:
                raise SubmitError(f"{source}: source_seq {sseq} leaves a gap after {last}")
            if typ not in known:
                raise SubmitError(f"{source}: source_seq {sseq}: unknown message type tag {typ}")
            if validate:
                try:
                    messages.decode(payload, typ)
                except ValueError as e:
                    raise SubmitError(f"{source}: source_seq {sseq}: {e}") from None
            log.append(ts, src_b, source, sseq, typ, payload)
            last = sseq
            new += 1
        return new

    def emit(self, msg: messages.Msg, now_ns: int) -> None:
        """A record of the sequencer's own (DayStart, Clock, ClockSample)."""
        sseq = self.last_source_seq(SEQUENCER_SOURCE) + 1
        self.sequence(SEQUENCER_SOURCE, ((sseq, messages.tag_of(msg), messages.encode(msg)),), now_ns)

    def commit(self) -> bytes:
        return self.log.commit()
