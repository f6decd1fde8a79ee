"""``seqtrade venue``: one simulated venue as its own process ("the street": not on our stream).

* FIX 4.2/4.4 order entry (our session layer, acceptor): one session per name in the venue's ``sessions`` column;
  our CompID is the venue id, the counterparty's is the session name.
* A market data feed over TCP (``marketdata/feed.py``): top of book and trades for every symbol.
* Background liquidity (``VenueSim``) stepped on the venue's own simulated clock, which starts at ``--clock-start``
  and runs ``--speed`` times real time, in whole steps, so a seed gives the same market at any speed.
* Operations on an admin port, one command per line: ``halt SYM``, ``resume SYM``, ``reject on|off``,
  ``disconnect [SESSION]``, ``status``. Tests use them to inject faults.
"""
from __future__ import annotations

import asyncio
import signal
import sys
import time

from fixgw.session import SessionConfig
from fixgw.tcp import Acceptor
from marketdata import feed
from refdata.load import load_dir

from .fix_orders import FixOrderEntry
from .venue import SymbolSpec, VenueSim, curve_fn


def _log(msg: str) -> None:
    print(f"venue: {msg}", file=sys.stderr, flush=True)


class VenueServer:
    def __init__(self, venue_id: str, refdata_dir: str, seed: int = 1, speed: float = 1.0,
                 clock_start: str = "09:30:00", step_ms: int = 1000, begin: str = "FIX.4.2",
                 liquidity: bool = True, clock=None):
        rd = load_dir(refdata_dir)
        if venue_id not in rd.venues:
            raise ValueError(f"venue {venue_id!r} is not in {refdata_dir}/venues.csv (known: {', '.join(rd.venues)})")
        self.ref = rd.venues[venue_id]
        specs = [SymbolSpec(sym, s["tick"], s["lot_size"], s["prev_close"], s["adv"], s["volatility_bp"],
                            rd.stats.get(sym, {}).get("avg_trade_size", 100),
                            rd.stats.get(sym, {}).get("avg_depth", 1000)) for sym, s in rd.securities.items()]
        c = rd.curves["*"]
        self.sim = VenueSim(venue_id, specs, seed, curve_fn(c.open_s, c.bin_s, c.weights_bp), len(rd.venues),
                            liquidity)
        self.entry = FixOrderEntry(self.sim)
        # the other venues' feeds, for their protected quotes (Reg NMS): from the reference data unless given
        self.away = {v: (r["fix_host"], r["md_port"]) for v, r in rd.venues.items() if v != venue_id}
        self.acceptor = Acceptor([SessionConfig(begin, venue_id, s) for s in self.ref["sessions"]], self._on_app,
                                 log=_log)
        h, m, *sec = [int(x) for x in clock_start.split(":")]
        self.t0_s = h * 3600 + m * 60 + (sec[0] if sec else 0)
        self.speed, self.step_s = speed, step_ms / 1000
        self.subscribers: list[asyncio.Transport] = []
        self.feed_seq = 0
        self.steps = 0
        self._start = time.monotonic()
        self.clock = clock
        if clock is not None:
            from sequencer.server import day_time_ns
            self._midnight_ns = day_time_ns(clock.trading_day, "00:00:00")
            self.speed = clock.speed

    def sim_time(self) -> float:
        """Seconds after midnight New York. With ``clock`` (the sequencer's, ``sequencer.status.SequencedClock``)
        every venue of a cluster steps its agents at the same simulated instants from ``clock_start``, whenever
        its process started, so venues sharing a seed share the fair price at every instant."""
        if self.clock is not None:
            return (self.clock.now() - self._midnight_ns) / 1e9
        return self.t0_s + (time.monotonic() - self._start) * self.speed

    # -- order entry and feed -----------------------------------------------------------------------------------
    def _on_app(self, conn, msgtype, fields) -> None:
        self.entry(conn, msgtype, fields)
        self._publish(self.sim.events)

    def _publish(self, events) -> None:
        if not self.subscribers:
            return
        now = time.monotonic_ns()
        out = []
        for e in events:
            if e[0] == "quote":
                self.feed_seq += 1
                out.append(feed.frame(["Q", self.feed_seq, now, *e[1:]]))
            elif e[0] == "trade":
                self.feed_seq += 1
                out.append(feed.frame(["T", self.feed_seq, now, *e[1:]]))
        if out:
            data = b"".join(out)
            for t in self.subscribers:
                t.write(data)

    def _feed_client(self):
        server = self

        class FeedProto(asyncio.Protocol):
            def connection_made(self, transport):
                self.transport = transport
                snap = [feed.frame(["Q", server.feed_seq, time.monotonic_ns(), sym, *top])
                        for sym, top in server.sim.tops.items()]
                transport.write(b"".join(snap))
                server.subscribers.append(transport)

            def connection_lost(self, exc):
                if self.transport in server.subscribers:
                    server.subscribers.remove(self.transport)
        return FeedProto()

    def _on_away(self, venue: str, u: list) -> None:
        if u[0] == "Q":
            self.sim.on_away_quote(venue, u[3], u[4], u[6])

    # -- operations ---------------------------------------------------------------------------------------------
    async def _admin(self, reader, writer):
        while line := await reader.readline():
            words = line.decode(errors="replace").split()
            writer.write((self.command(words) + "\n").encode())
            await writer.drain()
        writer.close()

    def command(self, words: list[str]) -> str:
        if not words:
            return "error: empty command"
        cmd, args = words[0], words[1:]
        if cmd in ("halt", "resume") and len(args) == 1 and args[0] in self.sim.books:
            self.sim.halt(args[0], cmd == "halt")
            self.feed_seq += 1
            for t in self.subscribers:
                t.write(feed.frame(["S", self.feed_seq, time.monotonic_ns(), args[0], cmd == "halt"]))
            return f"ok {cmd} {args[0]}"
        if cmd == "reject" and args in (["on"], ["off"]):
            self.sim.reject_all = "venue is rejecting all orders" if args[0] == "on" else ""
            return f"ok reject {args[0]}"
        if cmd == "disconnect":
            n = 0
            for who, conn in list(self.acceptor.active.items()):
                if not args or who == args[0]:
                    conn.transport.close()
                    n += 1
            return f"ok disconnected {n}"
        if cmd == "status":
            return (f"ok sim_time={self.sim_time():.0f} steps={self.steps} feed_seq={self.feed_seq} "
                    f"sessions={','.join(self.acceptor.active)} subscribers={len(self.subscribers)}")
        return f"error: unknown command {' '.join(words)!r} (halt SYM, resume SYM, reject on|off, disconnect " \
               f"[SESSION], status)"

    # -- the clock ------------------------------------------------------------------------------------------------
    async def _stepper(self):
        while True:
            due = int((self.sim_time() - self.t0_s) / self.step_s)
            while self.steps < due:
                self.steps += 1
                events = self.sim.step(self.t0_s + self.steps * self.step_s, self.step_s)
                self.entry.apply(events)   # the background flow fills resting client orders: report them
                self._publish(events)
            await asyncio.sleep(max(self.step_s / self.speed, 0.001))

    async def serve(self, host: str, fix_port: int, md_port: int, admin_port: int, ready=None):
        loop = asyncio.get_running_loop()
        fix = await self.acceptor.start(host, fix_port)
        md = await loop.create_server(self._feed_client, host, md_port, reuse_address=True)
        adm = await asyncio.start_server(self._admin, host, admin_port, reuse_address=True)
        ports = (fix, md.sockets[0].getsockname()[1], adm.sockets[0].getsockname()[1])
        _log(f"{self.sim.venue} FIX on {host}:{ports[0]} ({', '.join(self.ref['sessions'])}), market data on "
             f"{host}:{ports[1]}, admin on {host}:{ports[2]}")
        print(f"venue {self.sim.venue} ready fix={ports[0]} md={ports[1]} admin={ports[2]}", flush=True)
        from sequencer.notify import ready as notify_ready
        notify_ready(f"FIX on {ports[0]}, market data on {ports[1]}")
        if ready:
            ready(ports)
        task = asyncio.create_task(self._stepper())
        away = [asyncio.create_task(feed.follow(v, h, p, self._on_away, _log)) for v, (h, p) in self.away.items()]
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        for t in (task, *away):
            t.cancel()
        _log(f"{self.sim.venue} stopping: {self.entry.fills} fills to FIX clients, {self.entry.filled_qty} shares")


def run(a) -> int:
    clock = None
    if a.clock_from:
        from sequencer.status import SequencedClock
        host, _, port = a.clock_from.rpartition(":")
        clock = SequencedClock(host or "127.0.0.1", int(port))
    srv = VenueServer(a.id, a.refdata, a.seed, a.speed, a.clock_start, a.step_ms, a.begin, not a.no_liquidity, clock)
    for spec in a.away or []:
        venue, _, addr = spec.partition("=")
        host, _, port = addr.rpartition(":")
        if not venue or not port.isdigit():
            raise ValueError(f"--away {spec!r} must look like VENUE=HOST:PORT")
        srv.away[venue] = (host or "127.0.0.1", int(port))
    if a.no_away:
        srv.away = {}
    fix_port = a.fix_port if a.fix_port is not None else srv.ref["fix_port"]
    md_port = a.md_port if a.md_port is not None else srv.ref["md_port"]
    asyncio.run(srv.serve(a.host, fix_port, md_port, a.admin_port))
    return 0
