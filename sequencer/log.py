"""The day's log: an append-only file of framed records, with a sparse index beside it.

File layout: a 24-byte header (``MAGIC``, schema version, trading day), then frames (see ``record.py``).

The index file (``<log>.idx``) holds the byte offset of every ``INDEX_EVERY``-th record (seq 1, 1+K, 1+2K, ...) as
u64s, so finding a seq reads at most K records. It is derived data: the writer rebuilds it at start-up from the log,
and readers check an entry before trusting it, so a stale or missing index is never wrong, only slower.

Start-up recovery (``LogWriter.open``):
* a torn tail (the last record cut short by a crash, or trailing bytes that never became a whole record) is cut back to
  the last whole record, and reported;
* anything else wrong (bad CRC or impossible length with whole records after it, a seq gap, time going backwards)
  stops start-up with ``LogCorrupt`` naming the file and the byte offset. A person decides what to do with that file.
"""
from __future__ import annotations

import os
import sys
import struct
import time
import zlib
from dataclasses import dataclass, field

from . import messages, record
from .record import FRAME_SIZE, FrameError, Record

MAGIC = b"SEQTLOG1"
FILE_HEAD = struct.Struct("<8sH8s6x")  # magic, schema version, trading day YYYYMMDD, padding
FILE_HEAD_SIZE = FILE_HEAD.size
INDEX_EVERY = 256
_U64 = struct.Struct("<Q")
READ_CHUNK = 4 * 1024 * 1024

FSYNC_POLICIES = ("batch", "interval", "never")
_TERM_START = messages.TAG_OF_CLASS[messages.TermStart]


class LogCorrupt(Exception):
    def __init__(self, path: str, offset: int, reason: str):
        self.path, self.offset, self.reason = path, offset, reason
        super().__init__(f"{path}: corrupt log at byte offset {offset}: {reason}")

    def __reduce__(self):  # picklable, so a replay worker process can hand it back
        return (LogCorrupt, (self.path, self.offset, self.reason))


def log_path(data_dir: str, trading_day: str) -> str:
    return os.path.join(data_dir, f"seq-{trading_day}.log")


def index_path(path: str) -> str:
    return path + ".idx"


def read_file_head(path: str, f) -> tuple[int, str]:
    head = f.read(FILE_HEAD_SIZE)
    if len(head) < FILE_HEAD_SIZE:
        raise LogCorrupt(path, 0, f"file header cut short ({len(head)} of {FILE_HEAD_SIZE} bytes)")
    magic, version, day = FILE_HEAD.unpack(head)
    if magic != MAGIC:
        raise LogCorrupt(path, 0, f"not a seqtrade log (magic {magic!r})")
    if version > messages.SCHEMA_VERSION:
        raise LogCorrupt(path, 8, f"written with schema version {version}, this code knows up to "
                                  f"{messages.SCHEMA_VERSION}")
    return version, day.decode()


def iter_frames(path: str, f, start: int, file_size: int):
    """Yield ``(offset, body)`` for every whole frame from ``start`` to ``file_size``, reading in chunks.

    Raises ``FrameError`` with absolute offsets; ``partial`` is then only set for a frame cut by the end of the file.
    """
    base = start  # file offset of buf[0]
    buf = b""
    while True:
        want = min(READ_CHUNK, file_size - base - len(buf))
        if want > 0:
            f.seek(base + len(buf))
            buf += f.read(want)
        at_eof = base + len(buf) >= file_size or want <= 0
        pos = len(buf)
        try:
            for pos, body in record.scan(buf):
                yield base + pos, body
            pos = len(buf)
        except FrameError as e:
            if not (e.partial and not at_eof):
                raise e.shift(base) from None
            pos = e.offset  # the chunk ended inside this frame: keep it and read more
        buf = buf[pos:]
        base += pos
        if at_eof:
            return


def _whole_record_follows(f, start: int, size: int, last_seq: int) -> bool:
    """Is there a valid frame for one of the next few seqs anywhere after ``start``? If so, the damage at ``start``
    is in the middle of the log, not a torn tail. Looks for the seq's bytes (a body starts with its seq), then checks
    that frame's length and CRC, so it reads the tail once at C speed instead of trying every byte offset."""
    needles = [_U64.pack(s) for s in range(last_seq + 2, last_seq + 10)]
    pos = start
    while pos < size:
        f.seek(pos)
        chunk = f.read(min(READ_CHUNK, size - pos))
        for needle in needles:
            i = chunk.find(needle)
            while i >= 0:
                at = pos + i - FRAME_SIZE
                if at >= start:
                    f.seek(at)
                    head = f.read(FRAME_SIZE)
                    length, crc = record.FRAME.unpack(head)
                    if record.HEAD_SIZE <= length <= record.MAX_BODY and at + FRAME_SIZE + length <= size:
                        if zlib.crc32(f.read(length)) == crc:
                            return True
                i = chunk.find(needle, i + 1)
        pos += max(len(chunk) - 8, 1)  # overlap so a seq split across chunks is still found
    return False


@dataclass
class ScanResult:
    trading_day: str
    schema_version: int
    good_end: int                  # offset just past the last whole, valid record
    last_seq: int = 0
    last_ts: int = 0
    count: int = 0
    source_seqs: dict = field(default_factory=dict)  # source -> highest source_seq sequenced
    index: list = field(default_factory=list)        # offset of seq 1, 1+K, ...
    term_starts: list = field(default_factory=list)  # seqs of TermStart records (sequencer/ha.py)
    torn: FrameError | None = None


def scan_log(path: str, decode_payloads: bool = False) -> ScanResult:
    """Read the whole log, checking framing, CRCs, seq continuity and ts order (and payloads if asked).

    A torn tail is returned in ``result.torn``; anything else raises ``LogCorrupt``.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        version, day = read_file_head(path, f)
        res = ScanResult(day, version, FILE_HEAD_SIZE)
        seqs = res.source_seqs
        index = res.index
        last_seq = 0
        last_ts = -(2 ** 63)
        try:
            for off, body in iter_frames(path, f, FILE_HEAD_SIZE, size):
                seq, ts, sseq, typ, slen = record.peek_head(body)
                if seq != last_seq + 1:
                    raise LogCorrupt(path, off, f"seq {seq} follows seq {last_seq} (expected {last_seq + 1})")
                if ts < last_ts:
                    raise LogCorrupt(path, off, f"seq {seq}: time goes backwards ({ts} < {last_ts})")
                src = bytes(body[record.HEAD_SIZE:record.HEAD_SIZE + slen]).decode(errors="replace")
                if sseq <= seqs.get(src, 0):
                    raise LogCorrupt(path, off, f"seq {seq}: source {src!r} repeats source_seq {sseq}")
                if decode_payloads:
                    try:
                        messages.decode(bytes(body[record.HEAD_SIZE + slen:]), typ)
                    except ValueError as e:
                        raise LogCorrupt(path, off, f"seq {seq}: {e}") from None
                seqs[src] = sseq
                if typ == _TERM_START:
                    res.term_starts.append(seq)
                if (seq - 1) % INDEX_EVERY == 0:
                    index.append(off)
                last_seq, last_ts = seq, ts
                res.good_end = off + FRAME_SIZE + len(body)
        except FrameError as e:
            # Torn only if no whole record follows the damage (a crash mid-write, or a file extended but never
            # written); a bad frame with good records after it is corruption in the middle.
            if _whole_record_follows(f, e.offset + 1, size, last_seq):
                raise LogCorrupt(path, e.offset, e.reason) from None
            res.torn = e
        res.last_seq, res.last_ts, res.count = last_seq, (last_ts if last_seq else 0), last_seq
    return res


class LogWriter:
    """Appends batches of records to the day's log. Single-threaded: the sequencer's event loop owns it.

    ``fsync``: "batch" (every commit is on disk before anything is published: no record a subscriber saw can be lost,
    at the cost of one fdatasync per batch), "interval" (at most every ``fsync_interval_ms``: a power cut can lose
    the last interval, though a process crash loses nothing, since the bytes are in the OS page cache), or "never"
    (leave it to the OS: fastest, only for tests and benchmarks of everything else).
    """

    def __init__(self, path: str, trading_day: str, fsync: str = "batch", fsync_interval_ms: int = 5,
                 notice=print):
        if fsync not in FSYNC_POLICIES:
            raise ValueError(f"fsync must be one of {', '.join(FSYNC_POLICIES)}, not {fsync!r}")
        self.path = path
        self.fsync = fsync
        self.fsync_interval_ns = fsync_interval_ms * 1_000_000
        self._last_sync = 0
        self._dirty = False
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            with open(path, "wb") as f:
                f.write(FILE_HEAD.pack(MAGIC, messages.SCHEMA_VERSION, trading_day.encode()))
                f.flush()
                os.fsync(f.fileno())
        res = scan_log(path)
        if res.trading_day != trading_day:
            raise LogCorrupt(path, 0, f"log is for trading day {res.trading_day}, not {trading_day}")
        if res.torn is not None:
            size = os.path.getsize(path)
            notice(f"{path}: torn tail cut: {size - res.good_end} bytes from offset {res.good_end} "
                   f"({res.torn.reason}); log ends at seq {res.last_seq}")
            with open(path, "r+b") as f:
                f.truncate(res.good_end)
                os.fsync(f.fileno())
        self.trading_day = trading_day
        self.last_seq = res.last_seq        # includes the open (uncommitted) batch
        self.committed_seq = res.last_seq   # written to the file: safe to publish
        self.last_ts = res.last_ts
        self.source_seqs: dict[str, int] = res.source_seqs
        self.index: list[int] = res.index
        self.term_starts: list[int] = res.term_starts
        self.size = res.good_end
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        with open(index_path(path), "wb") as f:
            f.write(b"".join(_U64.pack(o) for o in self.index))
        self._idx_fd = os.open(index_path(path), os.O_WRONLY | os.O_APPEND)
        self._batch: list[bytes] = []
        self._batch_size = 0
        self._new_index: list[int] = []

    # -- hot path ---------------------------------------------------------------------------------------------
    def append_frames(self, frames: list[bytes], ts: int, source: str, last_source_seq: int) -> None:
        """Add framed records (seq ``last_seq + 1`` onwards, from ``record.encode_batch``) to the open batch.
        Nothing is written until ``commit``."""
        first = self.last_seq + 1
        n = len(frames)
        # index entries for seqs 1, 1+K, ... that fall in this run: their offsets from the frames before them
        k = -(first - 1) % INDEX_EVERY
        if k < n:
            off = self.size + self._batch_size
            pos = 0
            for i in range(k, n, INDEX_EVERY):
                off += sum(map(len, frames[pos:i]))
                pos = i
                self._new_index.append(off)
        self._batch.extend(frames)
        self._batch_size += sum(map(len, frames))
        self.last_seq = first + n - 1
        self.last_ts = ts
        self.source_seqs[source] = last_source_seq

    def append_raw(self, data: bytes) -> int:
        """Add record frames exactly as another sequencer wrote them (a standby replicating its primary, so the two
        logs are byte-identical): each frame's CRC, its seq (the next) and its time (not before the last) are checked.
        Returns how many records. Nothing is written until ``commit``."""
        pos, end, n = 0, len(data), 0
        frames = []
        while pos < end:
            if end - pos < FRAME_SIZE:
                raise FrameError(pos, "replicated data ends inside a frame header", partial=True)
            length, crc = record.FRAME.unpack_from(data, pos)
            stop = pos + FRAME_SIZE + length
            body = data[pos + FRAME_SIZE:stop]
            if stop > end or zlib.crc32(body) != crc:
                raise FrameError(pos, "replicated frame cut short or with a bad CRC")
            seq, ts, sseq, _typ, slen = record.peek_head(body)
            if seq != self.last_seq + 1 + n or ts < self.last_ts:
                raise FrameError(pos, f"replicated seq {seq} (ts {ts}) does not follow seq {self.last_seq + n}")
            frames.append(data[pos:stop])
            self.source_seqs[bytes(body[record.HEAD_SIZE:record.HEAD_SIZE + slen]).decode()] = sseq
            self.last_ts = ts
            n += 1
            pos = stop
        if frames:
            ts, first = self.last_ts, self.last_seq + 1
            k = -(first - 1) % INDEX_EVERY
            off = self.size + self._batch_size
            for i, fr in enumerate(frames):
                if i >= k and (i - k) % INDEX_EVERY == 0:
                    self._new_index.append(off)
                off += len(fr)
            self._batch.extend(frames)
            self._batch_size += len(data)
            self.last_seq += n
        return n

    def commit(self) -> bytes:
        """Write the open batch (and sync per policy). Returns the bytes written, ready to publish."""
        if not self._batch:
            return b""
        data = b"".join(self._batch)
        self._batch.clear()
        self._batch_size = 0
        view = memoryview(data)
        while view:  # a crash part-way leaves a torn tail, which start-up cuts
            view = view[os.write(self._fd, view):]
        self.size += len(data)
        self.committed_seq = self.last_seq
        if self._new_index:
            self.index.extend(self._new_index)
            os.write(self._idx_fd, b"".join(_U64.pack(o) for o in self._new_index))
            self._new_index.clear()
        if self.fsync == "batch":
            os.fdatasync(self._fd)
        elif self.fsync == "interval":
            self._dirty = True
            self.maybe_sync()
        return data

    def maybe_sync(self) -> None:
        """For the interval policy; the sequencer also calls it from its idle tick."""
        if self._dirty:
            now = time.monotonic_ns()
            if now - self._last_sync >= self.fsync_interval_ns:
                os.fdatasync(self._fd)
                self._last_sync = now
                self._dirty = False

    def offset_of(self, seq: int) -> tuple[int, int]:
        """``(offset, seq_at_offset)`` of the indexed record at or before ``seq``."""
        if seq <= 1 or not self.index:
            return FILE_HEAD_SIZE, 1
        i = min((seq - 1) // INDEX_EVERY, len(self.index) - 1)
        return self.index[i], i * INDEX_EVERY + 1

    def close(self) -> None:
        self.commit()
        if self._fd >= 0:
            os.fsync(self._fd)
            os.close(self._fd)
            os.close(self._idx_fd)
            self._fd = -1


def frame_crc(path: str, seq: int) -> int | None:
    """The CRC-32 stored in record ``seq``'s frame (None if the log has no such record)."""
    for off, body in LogReader(path).raw_from(seq):
        return zlib.crc32(body) if record.peek_head(body)[0] == seq else None
    return None


def last_record(path: str) -> tuple[int, int]:
    """``(seq, frame CRC)`` of a log's last record ((0, 0) if it has none), read from the last indexed record on
    rather than from the start (a standby asks at every election and every reconnect)."""
    if not os.path.exists(path):
        return 0, 0
    try:
        n = os.path.getsize(index_path(path)) // 8
    except OSError:
        n = 0
    for start in ([(n - 1) * INDEX_EVERY + 1] if n else []) + [1]:   # a stale index: from the start after all
        last = (0, 0)
        for _off, body in LogReader(path).raw_from(start):
            last = (record.peek_head(body)[0], zlib.crc32(body))
        if last[0] or start == 1:
            return last
    return 0, 0


def truncate_after(path: str, keep_seq: int) -> int:
    """Cut the log after record ``keep_seq`` (a standby dropping what its old term never committed); its index is
    rebuilt when a writer next opens it. Returns the bytes cut."""
    end = FILE_HEAD_SIZE
    for off, body in LogReader(path).raw_from(keep_seq + 1):
        end = off
        break
    else:
        return 0
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(end)
        os.fsync(f.fileno())
    if os.path.exists(index_path(path)):
        os.remove(index_path(path))       # it points past the new end; the next writer rebuilds it
    return size - end


class LogReader:
    """Reads a log (possibly being written by a live sequencer). Uses the index when it checks out."""

    def __init__(self, path: str, notice=None):
        """``notice``: told when a torn tail ends the read (the live writer's unfinished batch, or a crash the
        sequencer cuts at its next start); damage anywhere else raises ``LogCorrupt`` naming the offset."""
        self.path = path
        self.notice = notice
        self.torn: FrameError | None = None
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}: no such log file")
        with open(path, "rb") as f:
            self.schema_version, self.trading_day = read_file_head(path, f)

    def _start_offset(self, from_seq: int, f) -> int:
        try:
            with open(index_path(self.path), "rb") as ix:
                ix.seek(((from_seq - 1) // INDEX_EVERY) * 8)
                raw = ix.read(8)
        except OSError:
            return FILE_HEAD_SIZE
        if len(raw) < 8:
            return FILE_HEAD_SIZE
        (off,) = _U64.unpack(raw)
        f.seek(off)
        head = f.read(FRAME_SIZE + record.HEAD_SIZE)
        expected = ((from_seq - 1) // INDEX_EVERY) * INDEX_EVERY + 1
        if len(head) == FRAME_SIZE + record.HEAD_SIZE and record.peek_head(head[FRAME_SIZE:])[0] == expected:
            return off
        return FILE_HEAD_SIZE  # stale index: fall back to a scan

    def raw_from(self, from_seq: int):
        """Yield ``(offset, body)`` from the first record with seq >= from_seq to the end as it is now."""
        size = os.path.getsize(self.path)
        with open(self.path, "rb") as f:
            start = self._start_offset(max(from_seq, 1), f)
            # the seq before the first frame read (the index points at seq 1, 1+K, 1+2K, ...)
            last_seq = 0 if start == FILE_HEAD_SIZE else ((max(from_seq, 1) - 1) // INDEX_EVERY) * INDEX_EVERY
            try:
                for off, body in iter_frames(self.path, f, start, size):
                    last_seq = record.peek_head(body)[0]
                    if last_seq >= from_seq:
                        yield off, body
            except FrameError as e:
                # a torn tail only if the frame runs to the end of the file and no whole record follows it: a damaged
                # length field in the middle also "runs past the end", and must not quietly end the day there
                ends_at_eof = e.partial or (e.frame_end is not None and e.frame_end >= size)
                if not ends_at_eof or _whole_record_follows(f, e.offset + 1, size, last_seq):
                    raise LogCorrupt(self.path, e.offset, e.reason) from None
                self.torn = e
                if self.notice:
                    self.notice(f"{self.path}: the log ends in a torn tail at offset {e.offset} ({e.reason}); read up "
                                f"to seq {last_seq}")

    def batches(self, from_seq: int = 1):
        """Lists of records from ``from_seq`` to the end as it is now, a read chunk at a time: the replay's fast path.

        Frames are parsed by ``record.parse`` (the subscribers' inlined parser: about twice the speed of ``records``).
        At the first frame it cannot parse (damage, or a torn tail) it hands over to ``records``, whose rules then
        decide: damage raises ``LogCorrupt`` naming the offset, a torn tail ends the log."""
        size = os.path.getsize(self.path)
        with open(self.path, "rb") as f:
            base = self._start_offset(max(from_seq, 1), f)   # file offset of buf[0]
            buf = b""
            next_seq = from_seq
            while base + len(buf) < size:
                f.seek(base + len(buf))
                buf += f.read(min(READ_CHUNK, size - base - len(buf)))
                try:
                    recs, used = record.parse(buf, base_offset=base)
                except FrameError:
                    break
                if recs and recs[0].seq < next_seq:          # the index points at the start of a block
                    recs = [r for r in recs if r.seq >= next_seq]
                if recs:
                    next_seq = recs[-1].seq + 1
                    yield recs
                buf = buf[used:]
                base += used
        for rec in self.records(next_seq):  # only what parse left: records before a damaged frame, or none
            yield [rec]

    def records(self, from_seq: int = 1, to_seq: int | None = None):
        for _off, body in self.raw_from(from_seq):
            rec = record.decode_body(body)
            if to_seq is not None and rec.seq > to_seq:
                return
            yield rec


def verify(path: str) -> ScanResult:
    """Full check for ``seqtrade log verify``: framing, CRCs, seq continuity, ts order, payloads; a torn tail is an
    error here too (the file is not as the sequencer would leave it after start-up)."""
    res = scan_log(path, decode_payloads=True)
    if res.torn is not None:
        raise LogCorrupt(path, res.torn.offset, f"torn tail: {res.torn.reason}")
    return res


def stderr_notice(text: str) -> None:
    """For the command-line readers: a notice goes to standard error, the output stays clean."""
    print(f"notice: {text}", file=sys.stderr, flush=True)


def read_all(path: str) -> list[Record]:
    return list(LogReader(path).records())
