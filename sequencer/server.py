"""The sequencer server: one asyncio event loop, one thread, one log.

Batching: every SUBMIT that arrives in one turn of the event loop goes into the log's open batch; one callback at the
end of the turn writes the batch (one write, one fdatasync under the default policy) and then publishes the very same
bytes to every live subscriber. While the fdatasync runs, new submissions queue in the kernel and form the next batch,
so the batch grows with the load (group commit).

Subscribers: SUBSCRIBE from_seq N streams history from the log file, paced by TCP flow control, then switches the
connection to live; both parts come from the log in seq order, so there is no gap and no duplicate. A live subscriber
whose unsent bytes pass ``max_subscriber_lag_bytes`` is cut off so it can never stall the sequencer or eat its memory;
the reason is given to it in the WELCOME of its next connection, and it catches up from the log.

Hot standbys (``[sequencer.ha]``, sequencer/ha.py): a standby connects with REPLICATE and is sent the log like a
subscriber; it appends, syncs and ACKs each batch. With ``sync_standbys`` = k, a batch is published to subscribers only
once it is on disk here and on k standbys ("replicate, then publish"), and only while this primary's etcd lease is
known to be valid: one that cannot renew in time stops (``leadership.valid()``), so two primaries never publish.
Subscribers catching up read the log only up to what has been published.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
import time
from zoneinfo import ZoneInfo

from . import hostclock, messages, protocol, record, secrets, tls
from .config import SequencerConfig
from .core import SequencerCore, SubmitError
from .log import LogWriter, frame_crc, log_path
from .net import no_delay
from .protocol import ProtocolError

NEW_YORK = ZoneInfo("America/New_York")
CATCHUP_CHUNK = 256 * 1024
CATCHUP_CHUNKS_PER_TURN = 8  # then yield to the event loop, so catching up never starves sequencing


class SeqClock:
    """The only clock that apps ever see, through record timestamps.

    At speed 1 with no start time it is the host's real time. For a compressed simulated day it starts at
    ``start_ns`` and runs ``speed`` times faster than real time."""

    def __init__(self, speed: float = 1.0, start_ns: int | None = None):
        self.speed = speed
        self.real = start_ns is None and speed == 1.0
        self.start_ns = time.time_ns() if start_ns is None else start_ns
        self._mono0 = time.monotonic_ns()

    def now(self) -> int:
        if self.real:
            return time.time_ns()
        return self.start_ns + int((time.monotonic_ns() - self._mono0) * self.speed)


def day_time_ns(trading_day: str, hhmmss: str) -> int:
    """UTC ns of a New York wall-clock time on the trading day."""
    parts = [int(x) for x in hhmmss.split(":")] + [0]
    d = dt.datetime(int(trading_day[:4]), int(trading_day[4:6]), int(trading_day[6:]), parts[0], parts[1], parts[2],
                    tzinfo=NEW_YORK)
    return int(d.timestamp()) * 1_000_000_000


class Conn(asyncio.Protocol):
    def __init__(self, server: "SequencerServer"):
        self.server = server
        self.reader = protocol.FrameReader(protocol.MAX_FRAME_BEFORE_HELLO)   # raised after HELLO
        self.transport: asyncio.Transport | None = None
        self.hello_timer = None
        self.status_window = (0, 0)     # (second, STATUS requests in it)
        self.app: str | None = None
        self.peer = "?"
        self.subscribed = False
        self.live = False
        self.standby = ""        # a standby sequencer's node name (REPLICATE)
        self.acked = 0           # a standby: the last seq it has on disk
        self.processed_seq = 0   # an app: the last seq it says it has processed (PROGRESS)
        self.offset = 0          # catch-up: next byte of the log to send
        self.paused = False
        self.closed = False
        self.delivered_seq = 0   # the last seq written to this connection
        self.since_ns = time.time_ns()

    # -- asyncio callbacks ------------------------------------------------------------------------------------
    def connection_made(self, transport):
        self.transport = transport
        no_delay(transport)
        transport.set_write_buffer_limits(high=4 * 1024 * 1024)
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"
        pending = self.server.pending
        if len(pending) >= protocol.MAX_PENDING_CONNECTIONS:   # before any byte is read or buffered
            self.closed = True
            self.server.refused_connections += 1
            transport.abort()
            return
        pending.append(self)
        self.hello_timer = self.server.loop.call_later(protocol.HELLO_TIMEOUT_S, self._hello_timeout)

    def _hello_timeout(self):
        if self.app is None and not self.closed:
            self.fail(f"no HELLO within {protocol.HELLO_TIMEOUT_S:g} s")

    def authenticated(self):
        self.reader.limit = protocol.MAX_FRAME
        self._unpend()

    def _unpend(self):
        if self.hello_timer is not None:
            self.hello_timer.cancel()
            self.hello_timer = None
        if self in self.server.pending:
            self.server.pending.remove(self)

    def data_received(self, data):
        if self.closed:
            return
        try:
            for kind, body in self.reader.feed(data):
                self.server.dispatch(self, kind, body)
                if self.closed:
                    return
        except (ProtocolError, SubmitError) as e:
            self.fail(str(e))

    def pause_writing(self):
        self.paused = True

    def resume_writing(self):
        self.paused = False
        if self.subscribed and not self.live:
            self.server.pump(self)

    def connection_lost(self, exc):
        self.closed = True
        self._unpend()
        self.server.drop(self)

    # -- helpers ----------------------------------------------------------------------------------------------
    def send(self, kind: int, body: bytes = b""):
        self.transport.write(protocol.frame(kind, body))

    def fail(self, reason: str):
        reason = reason if len(reason) <= 300 else reason[:300] + "..."   # what a peer sent is never echoed whole
        self.server.notice(f"closing {self.app or 'unidentified'} ({self.peer}): {reason}")
        self._unpend()
        if not self.closed:
            self.send(protocol.ERROR, reason.encode())
            self.closed = True
            self.transport.close()
        self.server.drop(self)


def trading_day_of(cfg: SequencerConfig) -> str:
    """The configured trading day, or today in New York."""
    return cfg.trading_day or dt.datetime.now(NEW_YORK).strftime("%Y%m%d")


class SequencerServer:
    def __init__(self, cfg: SequencerConfig, notice=None, leadership=None, node: str = ""):
        """``leadership`` (sequencer/ha.py): this node's etcd lease and term, when it runs as an elected primary."""
        self.cfg = cfg
        self.leadership, self.node = leadership, node
        self.term = leadership.term if leadership else 0
        self.sync_standbys = cfg.ha.sync_standbys if (cfg.ha and leadership) else 0
        self.notice = notice or (lambda m: print(f"sequencer: {m}", file=sys.stderr, flush=True))
        start_ns = None
        self.trading_day = trading_day_of(cfg)
        if cfg.clock_start:
            start_ns = day_time_ns(self.trading_day, cfg.clock_start)
        self.clock = SeqClock(cfg.clock_speed, start_ns)
        self.path = log_path(cfg.data_dir, self.trading_day)
        self.log = LogWriter(self.path, self.trading_day, cfg.fsync, cfg.fsync_interval_ms, notice=self.notice)
        if self.log.last_seq and not self.clock.real and self.log.last_ts >= self.clock.start_ns:
            # restarted mid-day on a simulated clock: sequenced time goes on from where the log stopped, instead of
            # starting again at clock_start and freezing (clamped to the log's last time) until it caught up
            self.clock = SeqClock(cfg.clock_speed, self.log.last_ts + 1)
            self.notice(f"simulated clock resumes at the log's last time (seq {self.log.last_seq})")
        self.core = SequencerCore(self.log, cfg.validate_payloads,
                                  {name: app.rights for name, app in sorted(cfg.apps.items())})
        table = {name: sorted(app.rights) for name, app in sorted(cfg.apps.items())}
        # this term's first record: a standby's log may agree with ours only before it (replicate())
        self.term_start_seq = self.log.last_seq + 1
        if self.term and self.log.last_seq:   # the fencing token first: everything after it is this term's
            self.core.emit(messages.TermStart(self.term, node), self.clock.now())
        if self.log.last_seq == 0:
            self.core.emit(messages.DayStart(
                self.trading_day, open_ns=day_time_ns(self.trading_day, cfg.market_open) if cfg.market_open else 0,
                close_ns=day_time_ns(self.trading_day, cfg.market_close) if cfg.market_close else 0,
                rights=table), self.clock.now())
        else:   # restarted mid-day: the table in force from here on (the config may have changed)
            for name, app in sorted(cfg.apps.items()):
                self.core.emit(messages.SourceRights(name, "+".join(app.roles), table[name]), self.clock.now())
        if self.term and self.term_start_seq == 1:   # a new day's log starts with its DayStart, then the token
            self.core.emit(messages.TermStart(self.term, node), self.clock.now())
        self.core.commit()
        # published: what subscribers may see (without standbys, everything committed)
        self.published_seq, self.published_size = self.log.committed_seq, self.log.size
        self.unpublished: list[tuple[int, int, bytes]] = []   # (head seq, log size, RECORDS frame) awaiting ACKs
        self.standbys: list[Conn] = []
        self._read_fd = os.open(self.path, os.O_RDONLY)
        self.apps: dict[str, Conn] = {}
        self.pending: list[Conn] = []    # connected, no HELLO yet (capped)
        self.refused_connections = 0
        self.live: list[Conn] = []       # a list, not a set: fan-out order must not depend on hashing
        self.cut_notes: dict[str, str] = {}
        self._flush_pending = False
        self._last_activity = time.monotonic_ns()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._tick_handle = None
        self._next_sample = 0.0
        self._host = hostclock.host_name()

    # -- dispatch ---------------------------------------------------------------------------------------------
    def dispatch(self, conn: Conn, kind: int, body: bytes):
        if kind == protocol.SUBMIT:
            if conn.app is None:
                raise ProtocolError("SUBMIT before HELLO")
            try:
                self.core.sequence(conn.app, protocol.decode_items(body), self.clock.now(), len(body))
            finally:
                self.request_flush()  # what was sequenced before a bad item stays sequenced and is published
        elif kind == protocol.HELLO:
            self.hello(conn, protocol.decode_hello(body))
        elif kind == protocol.STATUS:
            sec = int(time.monotonic())
            window, n = conn.status_window
            n = n + 1 if window == sec else 1
            conn.status_window = (sec, n)
            if n > protocol.STATUS_PER_S:
                raise ProtocolError(f"more than {protocol.STATUS_PER_S} STATUS requests in a second")
            full = False
            if body:
                h = protocol.decode_hello(body)
                full = self.credentials_ok(h.app, h.password)
                if not full:
                    raise ProtocolError(f"STATUS: unknown app or wrong password ({protocol.short(h.app, 40)})")
            conn.send(protocol.STATUS, protocol.encode(self.status(full)))
        elif kind == protocol.PROGRESS:
            if conn.app is None or len(body) != 8:
                raise ProtocolError("PROGRESS before HELLO, or without a u64 seq")
            conn.processed_seq = protocol.U64.unpack(body)[0]
        elif kind == protocol.ACK:
            if not conn.standby or len(body) != 8:
                raise ProtocolError("ACK from a connection that is not a standby")
            conn.acked = max(conn.acked, protocol.U64.unpack(body)[0])
            self.release()
        elif kind == protocol.REPLICATE:
            self.replicate(conn, protocol.decode_replicate(body))
        elif kind == protocol.SUBSCRIBE:
            if conn.app is None:
                raise ProtocolError("SUBSCRIBE before HELLO")
            if conn.subscribed or len(body) != 8:
                raise ProtocolError("one SUBSCRIBE per connection, with a u64 from_seq")
            self.subscribe(conn, protocol.U64.unpack(body)[0])
        else:
            raise ProtocolError(f"unexpected frame kind {kind} from a client")

    def hello(self, conn: Conn, h: protocol.Hello):
        if conn.app is not None:
            raise ProtocolError("second HELLO on one connection")
        if h.schema_version != messages.SCHEMA_VERSION:
            raise ProtocolError(f"schema version {h.schema_version} does not match the sequencer's "
                                f"{messages.SCHEMA_VERSION}")
        if not self.credentials_ok(h.app, h.password):
            raise ProtocolError(f"app {protocol.short(h.app, 40)}: unknown app or wrong password")
        other = self.apps.get(h.app)
        if other is not None and not other.closed:
            raise ProtocolError(f"app {h.app!r} is already connected from {other.peer}; one connection per app")
        conn.app = h.app
        conn.authenticated()
        self.apps[h.app] = conn
        w = protocol.Welcome(self.trading_day, self.core.last_source_seq(h.app), self.published_seq,
                             self.cut_notes.pop(h.app, ""), self.term)
        conn.send(protocol.WELCOME, protocol.encode(w))

    def credentials_ok(self, app: str, password: str) -> bool:
        """In constant time for a known app (a timing side channel must not tell how much of a password was right)."""
        a = self.cfg.apps.get(app)
        if a is None:
            secrets.verify(password, "")      # the same time as a wrong password for a known app
            return False
        return secrets.verify(password, a.password, a.password_hash)

    def replicate(self, conn: Conn, r: protocol.Replicate):
        """A standby asks for the log after its last record. Its log must agree with ours there and must not reach
        into this term (what it has from this term's start on was its own, never committed): else TRUNCATE."""
        if conn.app is not None:
            raise ProtocolError("REPLICATE on a connection that said HELLO")
        ha = self.cfg.ha
        if ha is None or r.app != ha.replication_app or not self.credentials_ok(r.app, r.password):
            raise ProtocolError(f"REPLICATE: not this cluster's replication app ({protocol.short(r.app, 40)})")
        if r.schema_version != messages.SCHEMA_VERSION:
            raise ProtocolError(f"schema version {r.schema_version} does not match {messages.SCHEMA_VERSION}")
        conn.app, conn.standby = f"standby:{r.node}", r.node
        conn.authenticated()
        keep = r.last_seq
        if keep > self.log.committed_seq:        # more than this primary has: an old term's, never committed
            keep = self.term_start_seq - 1 if self.term else self.log.committed_seq
        elif keep and frame_crc(self.path, keep) != r.last_crc:
            # it holds another term's records there: cut back to the start of the term that seq is in here (asked
            # again, it comes back with an earlier record, until the two logs agree)
            starts = [t for t in self.term_boundaries() if t <= keep]
            if not starts:
                raise ProtocolError(f"standby {r.node}: its log differs from this primary's (at seq {r.last_seq}) "
                                    f"before any term this log knows; rebuild it from a copy of this log")
            keep = starts[-1] - 1
        if keep != r.last_seq:
            self.notice(f"standby {r.node}: log ends at seq {r.last_seq}; told to cut it after seq {keep}")
            conn.send(protocol.TRUNCATE, protocol.U64.pack(keep))
            conn.closed = True
            conn.transport.close()
            return
        self.notice(f"standby {r.node} replicating from seq {keep + 1} ({conn.peer})")
        conn.acked = keep
        conn.subscribed = True
        conn.delivered_seq = keep
        if keep >= self.log.committed_seq:
            self.go_live(conn)
        else:
            conn.offset = self.locate(keep + 1)
            self.pump(conn)

    def term_boundaries(self) -> list[int]:
        """The first seq of each term in this log (a TermStart, or seq 1 when a new day's log began with the term's
        DayStart and then its TermStart)."""
        return sorted({1 if t == 2 else t for t in self.log.term_starts} | ({self.term_start_seq} if self.term else set()))

    def release(self):
        """Publish what ``sync_standbys`` standbys have acknowledged, while this primary's lease is valid."""
        if not self.unpublished:
            return
        acks = sorted((c.acked for c in self.standbys if not c.closed), reverse=True)
        if len(acks) < self.sync_standbys:
            return
        upto = acks[self.sync_standbys - 1]
        n = 0
        while n < len(self.unpublished) and self.unpublished[n][0] <= upto:
            n += 1
        if n:
            if self.leadership is not None and not self.leadership.valid():
                self.step_down("the etcd lease may have expired: not publishing")
                return
            batch, self.unpublished = self.unpublished[:n], self.unpublished[n:]
            for head, size, out in batch:
                self.publish(out, head, size)

    def step_down(self, why: str):
        if self.leadership is not None:
            self.leadership.lost(why)

    def drop(self, conn: Conn):
        if conn in self.standbys:
            self.standbys.remove(conn)
            self.notice(f"standby {conn.standby} gone at seq {conn.acked}")
        if conn in self.live:
            self.live.remove(conn)
        if conn.app is not None and self.apps.get(conn.app) is conn:
            del self.apps[conn.app]

    # -- sequencing and publishing ----------------------------------------------------------------------------
    def request_flush(self):
        if not self._flush_pending:
            self._flush_pending = True
            self.loop.call_soon(self.flush)

    def flush(self):
        self._flush_pending = False
        data = self.core.commit()  # persist (and fsync per policy) ...
        if not data:
            return
        self._last_activity = time.monotonic_ns()
        out = protocol.frame(protocol.RECORDS, data)  # ... then replicate and publish the same bytes
        head = self.log.committed_seq
        if self.leadership is not None and not self.leadership.valid():   # e.g. woken from a pause past the lease
            self.step_down("the etcd lease may have expired: not replicating or publishing")
            return
        if not self.sync_standbys:                 # nothing to wait for: publish the batch now
            for conn in self.standbys:             # (asynchronous standbys still get it)
                conn.transport.write(out)
                conn.delivered_seq = head
            self.publish(out, head, self.log.size)
            return
        for conn in self.standbys:
            conn.transport.write(out)
            conn.delivered_seq = head
        self.unpublished.append((head, self.log.size, out))
        self.release()

    def publish(self, out: bytes, head: int, size: int):
        self.published_seq, self.published_size = head, size
        limit = self.cfg.max_subscriber_lag_bytes
        for conn in tuple(self.live):
            conn.transport.write(out)
            conn.delivered_seq = head
            if conn.transport.get_write_buffer_size() > limit:
                self.cut_off(conn, f"slow subscriber: more than {limit} bytes unsent; cut off at seq "
                                   f"{head}; reconnect and catch up from the log")

    def cut_off(self, conn: Conn, reason: str):
        self.notice(f"{conn.app}: {reason}")
        self.cut_notes[conn.app] = reason
        conn.closed = True
        self.drop(conn)
        conn.transport.abort()  # its queued bytes are what made it slow: do not wait for them to drain

    # -- subscriptions ----------------------------------------------------------------------------------------
    def subscribe(self, conn: Conn, from_seq: int):
        conn.subscribed = True
        from_seq = max(from_seq, 1)
        conn.delivered_seq = from_seq - 1
        if from_seq > self.published_seq:
            self.go_live(conn)
            return
        conn.offset = self.locate(from_seq)
        self.pump(conn)

    def locate(self, seq: int) -> int:
        """Byte offset of record ``seq`` (committed): from the index, then at most INDEX_EVERY headers."""
        off, at = self.log.offset_of(seq)
        while at < seq:
            length = record.FRAME.unpack(os.pread(self._read_fd, record.FRAME_SIZE, off))[0]
            off += record.FRAME_SIZE + length
            at += 1
        return off

    def pump(self, conn: Conn):
        """Send the next chunks of history to a catching-up subscriber, until caught up or its buffer is full."""
        for _ in range(CATCHUP_CHUNKS_PER_TURN):
            if conn.closed or conn.paused:
                return
            end = self.log.size if conn.standby else self.published_size   # subscribers: published only
            if conn.offset >= end:
                self.go_live(conn)
                return
            chunk = os.pread(self._read_fd, min(CATCHUP_CHUNK, end - conn.offset), conn.offset)
            cut, n = whole_frames(chunk)
            if cut == 0:  # one record larger than a chunk
                length = record.FRAME.unpack_from(chunk)[0]
                chunk = os.pread(self._read_fd, record.FRAME_SIZE + length, conn.offset)
                cut, n = len(chunk), 1
            conn.send(protocol.RECORDS, chunk[:cut])
            conn.offset += cut
            conn.delivered_seq += n
        self.loop.call_soon(self.pump, conn)

    def go_live(self, conn: Conn):
        conn.live = True
        if conn.standby:
            conn.delivered_seq = self.log.committed_seq
            self.standbys.append(conn)
        else:
            conn.delivered_seq = self.published_seq
            self.live.append(conn)
        conn.send(protocol.CAUGHT_UP, protocol.U64.pack(conn.delivered_seq))

    def status(self, full: bool = True) -> protocol.Status:
        """Without credentials only what a simulator pacing itself needs: no app names, peers or paths."""
        if not full:
            return protocol.Status(self.trading_day, self.log.committed_seq, self.clock.now(),
                                   float(self.cfg.clock_speed), "", [])
        conns = sorted((c for c in self.apps.values() if not c.closed), key=lambda c: c.app)
        return protocol.Status(
            self.trading_day, self.log.committed_seq, self.clock.now(), float(self.cfg.clock_speed),
            os.path.abspath(self.path),
            [protocol.SessionStatus(c.app, c.peer, c.since_ns, c.subscribed, c.live, c.delivered_seq,
                                    self.core.last_source_seq(c.app), c.acked if c.standby else c.processed_seq)
             for c in conns])

    # -- time -------------------------------------------------------------------------------------------------
    def tick(self):
        interval = self.cfg.clock_interval_ms * 1_000_000
        if self.leadership is not None and not self.leadership.valid():
            self.step_down("the etcd lease could not be renewed in time")
            return
        if time.monotonic_ns() - self._last_activity >= interval:
            self.core.emit(messages.Clock(), self.clock.now())
            self.request_flush()
        if self.cfg.clock_sample_s and time.monotonic() >= self._next_sample:
            self._next_sample = time.monotonic() + self.cfg.clock_sample_s
            offset, max_error, synced = hostclock.sample()
            self.core.emit(messages.ClockSample(self._host, offset, max_error, synced), self.clock.now())
            self.request_flush()
        self.log.maybe_sync()
        self._tick_handle = self.loop.call_later(self.cfg.clock_interval_ms / 1000 / 2, self.tick)

    # -- lifecycle --------------------------------------------------------------------------------------------
    async def start(self):
        self.loop = asyncio.get_running_loop()
        self._server = await self.loop.create_server(lambda: Conn(self), self.cfg.host, self.cfg.port,
                                                     reuse_address=True, ssl=tls.server_context(self.cfg))
        self.port = self._server.sockets[0].getsockname()[1]
        self.tick()
        self.notice(f"listening on {self.cfg.host}:{self.port}; log {self.path} at seq {self.log.committed_seq}; "
                    f"fsync={self.cfg.fsync}")

    def close(self):
        if self._tick_handle:
            self._tick_handle.cancel()
        if self._server:
            self._server.close()
        for conn in list(self.apps.values()) + list(self.live):
            if not conn.closed:
                conn.closed = True
                conn.transport.close()
        self.log.close()
        os.close(self._read_fd)
        self.notice(f"stopped; log {self.path} ends at seq {self.log.committed_seq}")


def whole_frames(chunk: bytes) -> tuple[int, int]:
    """Length of the longest prefix of ``chunk`` made of whole record frames, and how many frames that is."""
    pos, end, n = 0, len(chunk), 0
    unpack = record.FRAME.unpack_from
    while end - pos >= record.FRAME_SIZE:
        stop = pos + record.FRAME_SIZE + unpack(chunk, pos)[0]
        if stop > end:
            break
        pos = stop
        n += 1
    return pos, n


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT (a supervisor's stop, or ^C)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def serve_forever(cfg: SequencerConfig, ready=None):
    server = SequencerServer(cfg)
    await server.start()
    from .notify import ready as notify_ready
    notify_ready(f"listening; log at seq {server.log.committed_seq}")
    if ready is not None:
        ready(server)
    stop = stop_on_signals()
    try:
        await stop.wait()
    finally:
        server.close()
