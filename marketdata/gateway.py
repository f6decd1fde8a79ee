"""The market data gateway: venue feeds in, sequenced Quote/Trade/SymbolStatus records out.

It keeps every venue's top of book, computes the NBBO (``Consolidator``), and submits updates only for symbols some
app asked for with a sequenced ``MdSubscribe`` (it reads the stream for those; a new subscriber first gets the
current picture). Updates wait in a ``Conflator`` while the sequencer connection is busy: a newer quote replaces a
waiting one, trades are never dropped or reordered.

This is an input edge, not a deterministic app: what it submits is the record of what the market did. After a
restart it numbers its submissions on from what the sequencer already has.
"""
from __future__ import annotations

import asyncio
import signal
import sys

from sequencer import messages as M
from sequencer.client import SequencerError, connect

from .consolidate import Consolidator, Conflator
from .feed import follow

_MD_SUBSCRIBE = M.TAG_OF_CLASS[M.MdSubscribe]
BUSY_BYTES = 256 * 1024          # above this much unsent to the sequencer, hold updates (and conflate)


def _log(msg: str) -> None:
    print(f"mdgw: {msg}", file=sys.stderr, flush=True)


class MarketDataGateway:
    def __init__(self, name: str, password: str, host: str, port: int, feeds: dict[str, tuple[str, int]]):
        self.name, self.password, self.host, self.port, self.feeds = name, password, host, port, feeds
        self.nbbo = Consolidator()
        self.q = Conflator()
        self.subscribed: dict[str, bool] = {}
        self.conn = None
        self.sseq = 0
        self.feed_seq: dict[str, int] = {}
        self.submitted = 0
        self._flush_scheduled = False

    # -- stream side ----------------------------------------------------------------------------------------------
    def _on_records(self, recs) -> None:
        for r in recs:
            if r.type == _MD_SUBSCRIBE:
                self._subscribe(r.msg.symbol)

    def _subscribe(self, symbol: str) -> None:
        if self.subscribed.get(symbol):
            return
        self.subscribed[symbol] = True
        for venue, top in self.nbbo.tops.get(symbol, {}).items():
            self.q.quote(symbol, venue, M.Quote(symbol, venue, *top))
        if symbol in self.nbbo.nbbo:
            self.q.quote(symbol, "", M.Quote(symbol, "", *self.nbbo.nbbo[symbol]))
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        conn = self.conn
        if conn is None or conn.closed:
            return
        if conn.transport.get_write_buffer_size() > BUSY_BYTES:
            asyncio.get_running_loop().call_later(0.001, self._schedule_flush)
            return
        for m in self.q.drain():
            self.sseq += 1
            conn.submit(self.sseq, M.tag_of(m), M.encode(m))
            self.submitted += 1
        conn.flush()

    # -- feed side ------------------------------------------------------------------------------------------------
    def on_update(self, venue: str, u: list) -> None:
        kind, seq, sent, sym = u[0], u[1], u[2], u[3]
        last = self.feed_seq.get(venue, 0)
        if last and seq > last + 1 and kind != "Q":
            _log(f"{venue} feed gap: {last + 1}..{seq - 1} lost")
        self.feed_seq[venue] = max(seq, last)
        if kind == "Q":
            top = tuple(u[4:8])
            nbbo = self.nbbo.update(sym, venue, top)
            if self.subscribed.get(sym):
                self.q.quote(sym, venue, M.Quote(sym, venue, *top, feed_ns=sent))
                if nbbo:
                    self.q.quote(sym, "", M.Quote(sym, "", *nbbo, feed_ns=sent))
        elif kind == "T":
            if self.subscribed.get(sym):
                self.q.trade(sym, M.Trade(sym, venue, u[4], u[5], feed_ns=sent))
        elif kind == "S":
            self.q.trade(sym, M.SymbolStatus(sym, bool(u[4])))  # like a trade: never conflated away
        self._schedule_flush()

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the venue feeds all day; keep a connection to the sequencer, reconnecting at once when it is lost
        (a restart, or a standby taking over). Updates that arrive while it is away wait in the conflator: a venue's
        latest top replaces the one before it, trades and halts are kept in order."""
        tasks = [asyncio.create_task(follow(v, h, p, self.on_update, _log)) for v, (h, p) in self.feeds.items()]
        loop = asyncio.get_running_loop()
        backoff = 0.05
        while not stop.is_set():
            lost = loop.create_future()
            try:
                conn, welcome = await connect(self.host, self.port, self.name, self.password,
                                              on_records=self._on_records,
                                              on_lost=lambda exc, f=lost: f.done() or f.set_result(exc))
            except (OSError, SequencerError) as e:
                _log(f"cannot reach the sequencer: {e}; retrying in {backoff:.2f}s")
                await asyncio.wait([asyncio.ensure_future(stop.wait())], timeout=backoff)
                backoff = min(backoff * 2, 1.0)
                continue
            backoff = 0.05
            self.conn, self.sseq = conn, welcome.last_source_seq
            conn.subscribe(1)                # subscriptions kept; those made while away are read from the stream
            _log(f"connected to the sequencer ({welcome.trading_day}); {len(self.feeds)} venue feeds")
            from sequencer.notify import ready
            ready("connected to the sequencer")
            self._schedule_flush()
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait([lost, stopping], return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            self.conn = None
            if not stop.is_set():
                _log(f"lost the sequencer ({lost.result()}); reconnecting")
        for t in tasks:
            t.cancel()
        if self.conn is not None:
            self.conn.close()


def run(a) -> int:
    from refdata.load import load_dir
    from sequencer import config
    cfg = config.load(a.config)
    app = config.app_config(cfg, a.name, "the gateway's credentials")
    feeds = {}
    for spec in a.feed or []:
        venue, _, addr = spec.partition("=")
        host, _, port = addr.rpartition(":")
        if not venue or not port.isdigit():
            raise ValueError(f"--feed {spec!r} must look like VENUE=HOST:PORT")
        feeds[venue] = (host or "127.0.0.1", int(port))
    if not feeds:
        rd = load_dir(a.refdata)
        feeds = {v: (r["fix_host"], r["md_port"]) for v, r in rd.venues.items()}

    async def main():
        gw = MarketDataGateway(a.name, app.password, cfg.host, cfg.port, feeds)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await gw.run(stop)
    asyncio.run(main())
    return 0
