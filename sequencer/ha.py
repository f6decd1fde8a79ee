"""A primary sequencer and hot standbys, elected through etcd (``[sequencer.ha]``; ``seqtrade sequencer --node N``).

No consensus of our own: etcd (Raft) decides who leads. Each node runs ``run_node``:

* **Election.** A node campaigns by creating the election key (``[sequencer.ha] key``) in one etcd transaction, only if
  it does not exist, bound to a lease of ``lease_s``. The key's etcd revision at creation is the node's **term**: it
  only grows, so it is the fencing token. The winner writes ``TermStart(term, node)`` as the first record of its term
  and serves; every WELCOME carries the term and a client refuses a primary whose term is lower than one it has seen.
* **The lease.** The primary renews it every ``lease_s / 4``. It knows its lease is valid until
  (the moment it sent its last successful renewal) + ``lease_s`` - a margin; past that it publishes nothing and stops
  (``valid``, checked before every publication and on every clock tick), before etcd can let another node lead. A
  primary paused longer than its lease (SIGSTOP) wakes up, sees it, and stops without publishing.
* **Standby.** Others follow the primary named in the key: REPLICATE, then every batch appended, synced and ACKed,
  so their logs are byte-identical to the primary's over every committed record; they campaign when the key goes
  (the lease expired or the primary resigned). A node whose log holds records its old term never committed (it was the
  primary and crashed) is told to cut them (TRUNCATE) and catches up.

A node that stops being primary exits (status 3); its supervisor (``cluster day``, systemd) starts it again, and it
comes back as a standby. Apps, gateways and tools know every node's address and reconnect to whichever answers.
"""
from __future__ import annotations

import asyncio
import os
import sys
import time

from . import messages, protocol, record, tls
from .config import SequencerConfig, for_node
from .log import LogWriter, last_record, log_path, truncate_after
from .net import no_delay
from .server import trading_day_of

RENEW_EVERY = 0.25       # of the lease: renew four times per lease
SAFETY = 0.25            # of the lease: stop publishing this long before etcd could expire the lease


class LeadershipLost(Exception):
    pass


class Election:
    """This node's view of the election in etcd (``aetcd``, an asyncio etcd v3 client). Every call goes to one etcd
    member; when it fails, the next member that answers is used (etcd forwards to its own leader)."""

    def __init__(self, cfg: SequencerConfig, node: str, notice):
        self.cfg, self.ha, self.node, self.notice = cfg, cfg.ha, node, notice
        self.client = None
        self._next = 0
        self.lease_id = 0
        self.term = 0
        self._valid_until = 0.0
        self.lost_why = ""
        self.lost_event = asyncio.Event()
        self._presence = 0                     # the lease of this node's "how far my log goes" key

    async def open(self) -> None:
        import aetcd
        last: Exception | None = None
        for _ in self.ha.etcd:
            host, _, port = self.ha.etcd[self._next % len(self.ha.etcd)].rpartition(":")
            self._next += 1
            try:
                c = aetcd.Client(host=host, port=int(port), timeout=max(int(self.ha.lease_s), 1),
                                 connect_wait_timeout=1)
                await c.connect()
                await c.status()
                if self.client is not None:
                    await self.close()
                self.client = c
                return
            except Exception as e:                  # aetcd raises its own hierarchy and grpc's
                last = e
        raise ConnectionError(f"no etcd member answered ({', '.join(self.ha.etcd)}): {last}")

    async def _do(self, call):
        """``call(client)``, on another member if this one fails."""
        try:
            return await call(self.client)
        except Exception as e:
            self.notice(f"etcd: {type(e).__name__}: {str(e)[:120]}; trying another member")
            await self.open()
            return await call(self.client)

    async def leader(self) -> tuple[str, str, int, int] | None:
        """``(node, host, port, term)`` of the current primary, or None when nobody leads."""
        kv = await self._do(lambda c: c.get(self.ha.key.encode()))
        if kv is None:
            return None
        node, host, port = kv.value.decode().split("|")
        return node, host, int(port), kv.create_revision

    async def say_log_end(self, last_seq: int) -> None:
        """Keep this node's "how far my log goes" key current (a standby does so as it follows, so at an election
        every live standby's figure is already there, final once the primary has stopped sending)."""
        prefix = f"{self.ha.key}/logs/".encode()

        async def put(c):
            if not self._presence:
                self._presence = (await c.lease(max(int(round(self.ha.lease_s * 2)), 2))).id
            else:
                await c.refresh_lease(self._presence)
            await c.put(prefix + self.node.encode(), str(last_seq).encode(), lease=self._presence)
        try:
            await self._do(put)
        except Exception:
            self._presence = 0                    # the lease may be gone: a new one next time
            raise

    async def most_up_to_date(self, last_seq: int) -> bool:
        """Only the standby holding the most of the log may lead: a batch was published once ``sync_standbys`` of
        them had it, so the longest log has everything published. True if no live node says it has more (ties:
        the first name)."""
        await self.say_log_end(last_seq)
        # every live standby says where its log ends each lease_s / 4; half a lease covers a primary that resigned
        # (its key went at once, so the others' last word may be a moment old)
        await asyncio.sleep(self.ha.lease_s / 2)
        prefix = f"{self.ha.key}/logs/".encode()
        kvs = await self._do(lambda c: c.get_prefix(prefix))
        said = {kv.key[len(prefix):].decode(): int(kv.value) for kv in kvs}
        best = min(said.items(), key=lambda kv: (-kv[1], kv[0]))
        if best[0] != self.node:
            self.notice(f"standby {best[0]} has more of the log (seq {best[1]} to our {last_seq}): it should lead")
        return best[0] == self.node

    async def campaign(self, host: str, port: int) -> bool:
        """Try to become the primary; True with ``term`` set if this node won."""
        started = time.monotonic()
        key = self.ha.key.encode()

        async def txn(c):
            lease = await c.lease(max(int(round(self.ha.lease_s)), 1))
            won, _ = await c.transaction(
                compare=[c.transactions.create(key) == 0],
                success=[c.transactions.put(key, f"{self.node}|{host}|{port}".encode(), lease=lease)], failure=[])
            if not won:
                await c.revoke_lease(lease.id)
                return False, 0, 0
            return True, lease.id, (await c.get(key)).create_revision
        won, self.lease_id, term = await self._do(txn)
        if won:
            self.term = term
            self._valid_until = started + self.ha.lease_s * (1 - SAFETY)
        return won

    async def keep(self) -> None:
        """Renew the lease (through any member) until it cannot be renewed in time; then the leadership is lost."""
        while not self.lost_event.is_set():
            await asyncio.sleep(self.ha.lease_s * RENEW_EVERY)
            sent = time.monotonic()
            try:
                r = await asyncio.wait_for(self._do(lambda c: c.refresh_lease(self.lease_id)),
                                           self.ha.lease_s * (1 - SAFETY))
                if r is None or r.TTL <= 0:
                    self.lost("etcd says the lease has expired")
                    return
                if self.lost_event.is_set():
                    return
                self._valid_until = sent + self.ha.lease_s * (1 - SAFETY)
            except Exception as e:
                if not self.valid():
                    self.lost(f"could not renew the etcd lease: {type(e).__name__}: {e}")
                    return

    def valid(self) -> bool:
        return not self.lost_event.is_set() and time.monotonic() < self._valid_until

    def lost(self, why: str) -> None:
        if not self.lost_event.is_set():
            self.lost_why = why
            self._valid_until = 0.0
            self.lost_event.set()

    async def resign(self) -> None:
        try:
            if self.lease_id:
                await asyncio.wait_for(self.client.revoke_lease(self.lease_id), 1.0)
        except Exception:
            pass

    async def close(self) -> None:
        if self.client is not None:
            try:
                await self.client.close()
            except Exception:
                pass


class Follower(asyncio.Protocol):
    """A standby's replication link to the primary: append, sync and ACK each batch."""

    def __init__(self, log: LogWriter, notice):
        self.log, self.notice = log, notice
        self.reader = protocol.FrameReader()
        self.transport = None
        self.truncate_to: int | None = None
        self.error = ""
        self.done = asyncio.get_running_loop().create_future()
        self.caught_up = False

    def connection_made(self, transport):
        self.transport = transport
        no_delay(transport)

    def data_received(self, data):
        try:
            for kind, body in self.reader.feed(data):
                if kind == protocol.RECORDS:
                    self.log.append_raw(body)
                    self.log.commit()              # on disk (fsync per policy) before the ACK
                    self.transport.write(protocol.frame(protocol.ACK, protocol.U64.pack(self.log.committed_seq)))
                elif kind == protocol.CAUGHT_UP:
                    self.caught_up = True
                    self.notice(f"standby caught up at seq {self.log.committed_seq}")
                    from .notify import ready
                    ready(f"standby, caught up at seq {self.log.committed_seq}")
                elif kind == protocol.TRUNCATE:
                    self.truncate_to = protocol.U64.unpack(body)[0]
                elif kind == protocol.ERROR:
                    self.error = body.decode(errors="replace")
        except (protocol.ProtocolError, record.FrameError) as e:
            self.error = f"bad replication stream: {e}"
            self.transport.abort()

    def connection_lost(self, exc):
        if not self.done.done():
            self.done.set_result(exc)


async def follow(cfg: SequencerConfig, node: str, host: str, port: int, election: Election, notice) -> None:
    """Replicate from the primary at ``host:port`` until the link drops or the election key goes."""
    from .secrets import own_secret
    ha = cfg.ha
    app = cfg.apps.get(ha.replication_app)
    if app is None:
        raise SystemExit(f"{cfg.path}: [sequencer.ha] replication_app {ha.replication_app!r} has no [apps.NAME]")
    password = own_secret(app.name, app.password, app.secret_file, os.path.dirname(os.path.abspath(cfg.path)))
    day = trading_day_of(cfg)
    path = log_path(cfg.data_dir, day)
    log = LogWriter(path, day, cfg.fsync, cfg.fsync_interval_ms, notice=notice)
    try:
        last_seq, last_crc = last_record(path)
        loop = asyncio.get_running_loop()
        ctx = tls.client_context()
        _, f = await loop.create_connection(lambda: Follower(log, notice), host, port, ssl=ctx,
                                            server_hostname=host if ctx else None)
        f.transport.write(protocol.frame(protocol.REPLICATE, protocol.encode(protocol.Replicate(
            ha.replication_app, password, node, last_seq, last_crc, messages.SCHEMA_VERSION))))
        notice(f"following the primary at {host}:{port} from seq {last_seq + 1}")
        while not f.done.done():
            await asyncio.wait([f.done], timeout=ha.lease_s / 4)
            if f.done.done():
                break
            try:
                await election.say_log_end(log.committed_seq)
                gone = await election.leader() is None
            except Exception as e:              # etcd unreachable: keep following; the primary decides its fate
                notice(f"etcd: {type(e).__name__}: {str(e)[:120]}")
                continue
            if gone:
                notice("the primary's election key is gone: campaigning")
                f.transport.close()
                break
    finally:
        log.close()
    if f.truncate_to is not None:
        cut = truncate_after(path, f.truncate_to)
        notice(f"cut {cut} bytes after seq {f.truncate_to}: records the old term never committed")
    elif f.error:
        notice(f"replication: {f.error}")


async def _elect(cfg: SequencerConfig, node: str, me, election: Election, notice) -> bool:
    """One round: follow the primary while there is one; else campaign if no live standby has more of the log.
    True when this node has won."""
    lead = await election.leader()
    if lead is not None and lead[0] != node:
        try:
            await follow(cfg, node, lead[1], lead[2], election, notice)
        except OSError as e:
            notice(f"cannot reach the primary {lead[0]} at {lead[1]}:{lead[2]}: {e}")
            await asyncio.sleep(cfg.ha.lease_s / 4)
        return False
    if lead is not None:              # our own key from before a restart: let it expire
        await asyncio.sleep(cfg.ha.lease_s / 4)
        return False
    if not await election.most_up_to_date(last_record(log_path(cfg.data_dir, trading_day_of(cfg)))[0]):
        return False                  # its key lives only while it does: if it died, ours wins later
    return await election.campaign(me.host, me.port)


async def run_node(cluster_cfg: SequencerConfig, node: str, ready=None) -> int:
    """One HA node: a standby until it wins the election, then the primary until it loses its lease."""
    from .server import SequencerServer, stop_on_signals
    cfg = for_node(cluster_cfg, node)
    me = cfg.ha.nodes[node]

    def notice(m):
        print(f"sequencer {node}: {m}", file=sys.stderr, flush=True)
    election = Election(cfg, node, notice)
    await election.open()
    try:
        while True:
            try:
                won = await _elect(cfg, node, me, election, notice)
            except Exception as e:              # etcd unreachable for now (restarting): try again
                notice(f"etcd: {type(e).__name__}: {str(e)[:160]}; retrying")
                await asyncio.sleep(cfg.ha.lease_s / 4)
                continue
            if won:
                break
        t0 = time.monotonic()
        server = SequencerServer(cfg, notice=notice, leadership=election, node=node)
        await server.start()
        keeper = asyncio.create_task(election.keep())
        notice(f"primary in term {election.term} from seq {server.term_start_seq} "
               f"({(time.monotonic() - t0) * 1000:.0f} ms after winning the election)")
        from .notify import ready as notify_ready
        notify_ready(f"primary in term {election.term}")
        if ready is not None:
            ready(server)
        stop = stop_on_signals()
        waits = [asyncio.create_task(stop.wait()), asyncio.create_task(election.lost_event.wait())]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        keeper.cancel()
        server.close()
        if election.lost_event.is_set():
            notice(f"no longer the primary: {election.lost_why}; stopping (start again to rejoin as a standby)")
            return 3
        await election.resign()
        return 0
    finally:
        await election.close()
