"""The sequencing rule itself, with no I/O of its own: shared by the TCP server and the in-memory cluster.

For each submission ``(source, source_seq, type, payload)``:
* ``source_seq`` at or below the last one sequenced for that source: a resend, dropped (idempotence);
* ``source_seq`` more than one above it: a gap, refused (something the source sent was lost; sequencing past it
  would make the loss permanent);
* an unknown type tag or a payload that does not decode: refused, naming it (a poison record never reaches the log);
* otherwise appended to the log's open batch with the next seq and the batch's timestamp.

Everything is checked per batch (a few C-speed calls for a thousand items); only when a batch check fails does a
per-item pass find the first bad item, so that what came before it is still sequenced and the error names it.
"""
from __future__ import annotations

from . import messages, record, rights
from .log import LogWriter

SEQUENCER_SOURCE = "sequencer"


class SubmitError(Exception):
    """A submission the sequencer refuses; the connection that sent it is closed with this text."""


class SequencerCore:
    def __init__(self, log: LogWriter, validate_payloads: bool = True, source_rights: dict | None = None):
        self.log = log
        self.validate = validate_payloads
        # source -> the type tags it may submit (sequencer/rights.py); None: no checks (in-process test clusters)
        self.rights = source_rights
        self.duplicates = 0
        self.refused = 0
        self._source_b: dict[str, bytes] = {}
        self._known = frozenset(messages.TYPES_BY_TAG)

    def source_bytes(self, source: str) -> bytes:
        b = self._source_b.get(source)
        if b is None:
            b = source.encode()
            if not b or len(b) > record.MAX_SOURCE:
                raise SubmitError(f"source name {source!r} must be 1..{record.MAX_SOURCE} bytes")
            self._source_b[source] = b
        return b

    def last_source_seq(self, source: str) -> int:
        return self.log.source_seqs.get(source, 0)

    def stamp(self, now_ns: int) -> int:
        """The timestamp for the next batch: the sequencer's clock, never below the last one recorded."""
        return now_ns if now_ns > self.log.last_ts else self.log.last_ts

    def sequence(self, source: str, items: list, now_ns: int, body_len: int | None = None) -> int:
        """Sequence ``items`` (a list of ``(source_seq, type, payload)``) from ``source``. Returns how many were new.
        Raises ``SubmitError`` at the first bad one; those before it stay sequenced. ``body_len``: the size of the
        SUBMIT body they came in; when it is within the record limit no payload can exceed it, and the per-item
        size check is skipped."""
        last = self.log.source_seqs.get(source, 0)
        skip = 0
        for sseq, _t, _p in items:  # resends come first in a batch: stop at the first new one
            if sseq > last:
                break
            skip += 1
        if skip:
            self.duplicates += skip
            items = items[skip:]
        if not items:
            return 0
        n = len(items)
        sseqs = [it[0] for it in items]
        types = [it[1] for it in items]
        if self.rights is not None and source != SEQUENCER_SOURCE:
            self._check_rights(source, items, types)
        ok = (sseqs[0] == last + 1 and sseqs[-1] == last + n and sseqs == list(range(last + 1, last + n + 1))
              and self._known.issuperset(types)
              and ((body_len is not None and body_len <= record.MAX_PAYLOAD)
                   or max(map(len, [it[2] for it in items])) <= record.MAX_PAYLOAD)
              and (not self.validate or messages.valid_batch(types, [it[2] for it in items])))
        if ok:
            self._append(source, items, now_ns)
            return n
        bad, reason = self._first_bad(source, items, last)
        if bad:
            self._append(source, items[:bad], now_ns)
        raise SubmitError(reason)

    def _check_rights(self, source: str, items: list, types: list) -> None:
        """Refuse the whole batch if any item is not this source's to send (nothing of it is sequenced: an app that
        sends what it may not is broken or taken over)."""
        why = rights.refusal(source, self.rights.get(source, frozenset()), types)
        if why is None and not rights.OWNED.keys().isdisjoint(types):
            for sseq, typ, payload in items:
                field = rights.OWNED.get(typ)
                if field is not None:
                    try:
                        owner = getattr(messages.decode(payload, typ), field)
                    except ValueError:
                        continue   # the payload check names it
                    if owner != source:
                        why = f"{source}: source_seq {sseq}: {messages.TYPES_BY_TAG[typ].__name__} names " \
                              f"{field} {owner!r}, not its sender"
                        break
        if why:
            self.refused += 1
            raise SubmitError(why)

    def _append(self, source: str, items: list, now_ns: int) -> None:
        log = self.log
        ts = self.stamp(now_ns)
        frames = record.encode_batch(log.last_seq + 1, ts, self.source_bytes(source), items)
        log.append_frames(frames, ts, source, items[-1][0])

    def _first_bad(self, source: str, items: list, last: int) -> tuple[int, str]:
        """Index and description of the first item the batch checks refused."""
        for i, (sseq, typ, payload) in enumerate(items):
            where = f"{source}: source_seq {sseq}"
            if sseq != last + 1 + i:
                return i, f"{source}: source_seq {sseq} leaves a gap after {last + i}"
            if typ not in self._known:
                return i, f"{where}: unknown message type tag {typ}"
            if len(payload) > record.MAX_PAYLOAD:
                return i, f"{where}: payload of {len(payload):,} bytes is over the record limit of " \
                          f"{record.MAX_PAYLOAD:,}"
            if self.validate:
                try:
                    messages.decode(payload, typ)
                except ValueError as e:
                    return i, f"{where}: {e}"
        raise AssertionError("batch check failed but every item passes on its own")

    def emit(self, msg: messages.Msg, now_ns: int) -> None:
        """A record of the sequencer's own (DayStart, Clock, ClockSample)."""
        sseq = self.last_source_seq(SEQUENCER_SOURCE) + 1
        self.sequence(SEQUENCER_SOURCE, [(sseq, messages.tag_of(msg), messages.encode(msg))], now_ns)

    def commit(self) -> bytes:
        return self.log.commit()
