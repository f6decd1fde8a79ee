"""``seqtrade client-sim``: a buy-side client on a FIX session to the client gateway.

It sends its share of the day's client flow (``clientflow.plan``: VWAP, TWAP, POV and limit orders across the
reference data's symbols, with a cancel and a replace) at the planned times of the sequenced clock (read from the
sequencer, so a compressed day keeps its shape), checks every ExecutionReport against the FIX order-state rules
(``fixgw/er_check.py``), measures request-to-acknowledgement latency as a client sees it, and at the end of the day
(every order done, after the close) logs out, writes a JSON report and exits 0 only if no rule was broken and no
order was left open. The session reconnects if the gateway goes away; the session layer resends what was missed.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
import time

from fixgw.er_check import ErChecker
from fixgw.fix_client import FixClient
from fixgw.mapping import client_fix
from fixgw.session import SessionConfig, SessionState
from refdata.load import load_dir
from sequencer.server import day_time_ns
from sequencer.status import SequencedClock

from . import clientflow
from .clusterconfig import load as load_cluster
from .daysummary import percentile


def _log(msg: str) -> None:
    print(f"client-sim: {msg}", flush=True)


class ClientSim:
    def __init__(self, cluster_path: str, name: str, report_path: str = "", grace_s: float = 60.0):
        self.c = load_cluster(cluster_path)
        self.p = self.c.process(name)
        gw = self.c.fixgw[self.p.gateway]
        host, _, port = gw["listen"].rpartition(":")
        self.addr = (host, int(port))
        self.session = SessionConfig(self.p.begin, self.p.sender, self.p.target, initiator=True, heartbeat_s=10)
        self.state = SessionState()
        self.client: FixClient | None = None
        self.check = ErChecker()
        self.report_path = report_path or os.path.join(self.c.at(self.c.run_dir), f"{name}.report.json")
        self.grace_s = grace_s        # real seconds after the close to wait for the last orders to end
        self.sent_at: dict[str, int] = {}
        self.latency_us: list[float] = []
        self.cancel_rejects: list[str] = []
        self.seen = 0

    async def connect(self) -> None:
        for attempt in range(120):
            client = FixClient(self.session, self.state)
            try:
                await client.connect(*self.addr)
                self.client = client
                _log(f"{self.p.sender} logged on to {self.addr[0]}:{self.addr[1]} ({self.p.begin})")
                from sequencer.notify import ready
                ready("logged on")
                return
            except (OSError, ConnectionError, TimeoutError) as e:
                if attempt % 10 == 0:
                    _log(f"cannot log on yet ({e}); retrying")
                await asyncio.sleep(0.5)
        raise ConnectionError(f"could not log on to the client gateway at {self.addr[0]}:{self.addr[1]}")

    def drain(self) -> None:
        """Check every report that came in since the last call."""
        got = self.client.got
        while self.seen < len(got):
            mt, v = got[self.seen]
            self.seen += 1
            if mt == "8":
                self.check.received(v)
                t0 = self.sent_at.pop(v.get(11, ""), None)
                if t0 is not None:
                    self.latency_us.append((self.client.got_ns[self.seen - 1] - t0) / 1000)
            elif mt == "9":
                self.cancel_rejects.append(f"{v.get(11)}: {v.get(58, '')}")

    async def alive(self) -> None:
        if self.client is None or self.client.conn.closed:
            if self.client is not None:
                self.drain()
                _log("session lost; reconnecting")
                self.seen = 0
            await self.connect()

    async def run(self) -> int:
        for attempt in range(100):
            try:
                clock = SequencedClock(*self.c.sequencer_address())
                break
            except OSError:
                await asyncio.sleep(0.2)
        else:
            raise ConnectionError("the sequencer does not answer its status port")
        day = clock.trading_day
        open_ns, close_ns = day_time_ns(day, self.c.seq.market_open), day_time_ns(day, self.c.seq.market_close)
        rd = load_dir(self.c.at(self.c.refdata))
        flow = clientflow.share(clientflow.plan(open_ns, close_ns, {s: r["prev_close"] for s, r in
                                                                    rd.securities.items()}, self.p.sender), self.p.part)
        _log(f"{len(flow)} requests to send between the open and the close of {day}")
        await self.connect()
        for t, m in flow:
            while clock.now() < t:
                await asyncio.sleep(min(max((t - clock.now()) / 1e9 / clock.speed, 0.001), 0.2))
                await self.alive()
                self.drain()
            await self.alive()
            msgtype, body = client_fix(m, clock.now())
            self.check.sent(msgtype, {tag: str(v) for tag, v in body})
            self.sent_at[m.cl_ord_id] = time.monotonic_ns()
            self.client.send(msgtype, body)
        # the day ends: every order done (the broker cancels back what is left at the close)
        deadline = None
        while True:
            await asyncio.sleep(0.1)
            await self.alive()
            self.drain()
            if clock.now() >= close_ns:
                if not self.check.open_orders():
                    break
                deadline = deadline or time.monotonic() + self.grace_s
                if time.monotonic() > deadline:
                    break
        await self.client.close()
        return self.report(day)

    def report(self, day: str) -> int:
        left = self.check.open_orders()
        violations = self.check.violations + [f"{cl}: still open after the close" for cl in left]
        orders = self.check.orders.values()
        rep = {"sender": self.p.sender, "trading_day": day, "orders": len(self.check.orders),
               "reports": self.check.reports, "filled_qty": sum(o.cum for o in orders),
               "ordered_qty": sum(o.qty for o in orders),
               "final_status": {s: sum(1 for o in orders if o.status == s) for s in sorted({o.status for o in orders})},
               "cancel_rejects": self.cancel_rejects, "violations": violations,
               "ack_latency_us": {"n": len(self.latency_us), "p50": round(percentile(self.latency_us, 0.5)),
                                  "p99": round(percentile(self.latency_us, 0.99)),
                                  "max": round(max(self.latency_us, default=0))}}
        os.makedirs(os.path.dirname(self.report_path) or ".", exist_ok=True)
        with open(self.report_path, "w") as f:
            json.dump(rep, f, indent=2, sort_keys=True)
        _log(f"{rep['orders']} orders, {rep['reports']} execution reports checked, {rep['filled_qty']:,} of "
             f"{rep['ordered_qty']:,} shares filled; request to ack p50 {rep['ack_latency_us']['p50']} us; "
             f"{len(violations)} violations; report {self.report_path}")
        for v in violations[:20]:
            _log(f"VIOLATION {v}")
        return 1 if violations else 0


def run(a) -> int:
    sim = ClientSim(a.config, a.name, a.report, a.grace)
    try:
        return asyncio.run(sim.run())
    except ConnectionError as e:
        print(f"client-sim: error: {e}", file=sys.stderr)
        return 2
