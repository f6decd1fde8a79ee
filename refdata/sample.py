"""``seqtrade refdata sample``: a realistic reference data set from a seed (the shipped sample is one of these).

The volume curve is the U shape of US equities: the first 30 minutes carry about 11-12% of the day, the middle of the
day is quiet, the last half hour picks up, and the closing auction takes about 10%.
"""
from __future__ import annotations

import math
import os
import random

from sequencer.messages import format_price

TICKERS = ["AAPL", "MSFT", "AMZN", "NVDA", "GOOG", "META", "TSLA", "JPM", "XOM", "JNJ", "PG", "KO", "PFE", "INTC",
           "CSCO", "ORCL", "WMT", "DIS", "BAC", "CVX"]
VENUES = [("XNAS", "NSDQ", "XNAS", "S1;S2", "-0.0020", "0.0030"),
          ("ARCX", "ARCA", "ARCX", "S1", "-0.0015", "0.0028"),
          ("EDGX", "EDGX", "EDGX", "S1", "-0.0018", "0.0029")]
OPEN_S, CLOSE_S, BIN_S = 9 * 3600 + 30 * 60, 16 * 3600, 300
CLOSE_AUCTION_BP = 1000


def u_curve(rng: random.Random | None = None) -> list[int]:
    """Continuous-session weights (bp of the day) for 5-minute bins; a seeded ``rng`` varies the shape a little."""
    n = (CLOSE_S - OPEN_S) // BIN_S
    jit = (lambda: 1 + rng.uniform(-0.08, 0.08)) if rng else (lambda: 1.0)
    # the open's burst decays over ~15 minutes; the afternoon ramp over ~35 (tuned to put ~11.7% in the first 30)
    shape = [(1.0 + 2.0 * math.exp(-i / 3) + 1.1 * math.exp(-(n - 1 - i) / 7)) * jit() for i in range(n)]
    return _apportion(shape, 10_000 - CLOSE_AUCTION_BP)


def _apportion(shape: list[float], total: int) -> list[int]:
    """Integer weights in proportion to ``shape`` that sum exactly to ``total`` (largest remainder)."""
    s = sum(shape)
    raw = [x * total / s for x in shape]
    out = [int(x) for x in raw]
    for i in sorted(range(len(raw)), key=lambda i: (out[i] - raw[i], i))[:total - sum(out)]:
        out[i] += 1
    return out


def _hhmm(s: int) -> str:
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}"


# the clients the day's simulators and the post-trade jobs know: CAT needs each customer's FDID and account holder
# type; a client that is itself a broker-dealer (another CAT reporter) has its CRD:IMID, and its orders are MEOA
CLIENTS = ["client:str,fdid:str,account_holder_type:str,name:str,broker_dealer:bool,cat_imid:str",
           "CLIENT1,FDID-C1-0001,A,Sample Pension Fund,N,",
           "CLIENT2,,,Sample Introducing Broker,Y,123456:SIBK",
           "BENCH,FDID-BENCH,P,Benchmark harness (firm),N,"]


def write_sample(out: str, n_symbols: int = 8, seed: int = 1, force: bool = False) -> list[str]:
    """Write a sample set into ``out``. A directory that already holds reference data is left alone unless
    ``force``: someone's hand edits are not overwritten silently."""
    if not 1 <= n_symbols <= 500:
        raise ValueError(f"--symbols must be between 1 and 500, not {n_symbols}")
    if not force and os.path.isdir(out) and any(f.endswith(".csv") for f in os.listdir(out)):
        raise ValueError(f"{out} already holds reference data; give --force to overwrite it")
    rng = random.Random(seed)
    os.makedirs(out, exist_ok=True)
    symbols = [TICKERS[i] if i < len(TICKERS) else f"SYM{i:03d}" for i in range(n_symbols)]
    files = {}
    sec = ["symbol,name,listing,lot_size,tick,prev_close,adv,volatility_bp,restricted,halted"]
    stats = ["symbol,avg_spread_bp,avg_trade_size,avg_depth"]
    borrow = ["symbol:str,easy_to_borrow:bool,borrow_rate_bp:int"]
    for i, sym in enumerate(symbols):
        close = rng.randint(2000, 40000)  # cents
        sec.append(f"{sym},{sym} Sample Corp,{rng.choice(['XNAS', 'XNYS'])},1,0.01,{format_price(close * 10_000)},"
                   f"{rng.randint(20, 400) * 100_000},{rng.randint(120, 350)},N,N")
        stats.append(f"{sym},{rng.randint(1, 6)},{rng.randint(1, 3) * 100},{rng.randint(5, 30) * 100}")
        etb = rng.random() > 0.2
        borrow.append(f"{sym},{'Y' if etb else 'N'},{rng.randint(25, 60) if etb else rng.randint(300, 2000)}")
    files["securities.csv"] = sec
    files["symbol_stats.csv"] = stats
    files["borrow.csv"] = borrow
    files["venues.csv"] = ["venue,cat_id,mic,fix_host,fix_port,md_port,sessions,make_fee,take_fee"] + [
        f"{v},{cat},{mic},127.0.0.1,{9100 + i},{9200 + i},{sess},{mk},{tk}"
        for i, (v, cat, mic, sess, mk, tk) in enumerate(VENUES)]
    curves = ["# share of the day's volume per 5-minute bin, in basis points; CLOSE is the closing auction",
              "curve,bin_start,weight_bp"]
    for name, w in [("*", u_curve())] + [(s, u_curve(rng)) for s in symbols[:2]]:
        curves += [f"{name},{_hhmm(OPEN_S + i * BIN_S)},{x}" for i, x in enumerate(w)]
        curves.append(f"{name},CLOSE,{CLOSE_AUCTION_BP}")
    files["volume_curves.csv"] = curves
    files["clients.csv"] = CLIENTS
    for name, lines in files.items():
        with open(os.path.join(out, name), "w") as f:
            f.write("\n".join(lines) + "\n")
    return sorted(files)
