"""The files of a simulated cluster on this machine: the sample reference data on free ports and a cluster file with
every process of a trading day (sequencer, OMS, algo, market data gateway, venue gateway, client gateway, drop copy
gateway, three venue simulators and two client simulators, one on FIX 4.4 and one on FIX 4.2). ``seqtrade demo``
writes and runs it; the integration test runs it through the start scripts; ``deploy/cluster.example.toml`` is the
same cluster written out by hand."""
from __future__ import annotations

import os

from .localcluster import refdata_with_ports, toml_table
from .procs import free_port

VENUES = {"XNAS": ["S1", "S2"], "ARCX": ["S1"], "EDGX": ["S1"]}


def write(dir: str, speed: float = 100.0, clock_start: str = "09:29:00", market_open: str = "09:30:00",
          market_close: str = "16:00:00", fsync: str = "batch",
          post_trade: tuple = ("verify", "replay", "cat", "oats", "activity", "clock", "606", "tca"),
          trading_day: str = "", snapshot_every: int = 250_000) -> str:
    """Writes ``dir/cluster.toml`` and ``dir/refdata/``; returns the cluster file's path. The OMS and the algo
    snapshot their state every ``snapshot_every`` records into ``run/snapshots/NAME`` and restart from there."""
    os.makedirs(dir, exist_ok=True)
    refdata_with_ports(os.path.join(dir, "refdata"), VENUES)
    client_port, drop_port, web_port = free_port(), free_port(), free_port()
    seq = {"host": "127.0.0.1", "port": free_port(), "data_dir": "data", "fsync": fsync, "clock_interval_ms": 50,
           "clock_speed": float(speed), "clock_start": clock_start, "market_open": market_open,
           "market_close": market_close, "clock_sample_s": 2}
    if trading_day:
        seq["trading_day"] = trading_day
    text = "# A simulated trading day on one machine, written by seqtrade/simcluster_files.py\n\n"
    text += toml_table("[cluster]", {"name": "sim", "host": "local", "run_dir": "run", "archive_dir": "archive",
                                     "refdata": "refdata", "publisher": "refdata", "health_timeout_s": 60,
                                     "post_trade": list(post_trade)})
    text += toml_table("[hosts.local]", {"address": "127.0.0.1"})
    # a simulated day files nothing: its reports carry a test identity, said so (the jobs refuse placeholders otherwise)
    text += toml_table("[firm]", {"name": "SEQTRADE DEMO BROKER", "imid": "SEQT", "crd": "999999",
                                  "cat_submitter": "99999", "test": True})
    text += toml_table("[sequencer]", seq)
    for name, cls in (("oms", "apps.oms:OmsApp"), ("algo", "apps.algo:AlgoApp"),
                      ("positions", "apps.positions:PositionsApp"), ("mdgw", ""), ("venuegw", ""),
                      ("clientgw", ""), ("dropcopy", ""), ("refdata", ""), ("web", "")):
        snaps = {"snapshot_dir": "run/snapshots", "snapshot_every": snapshot_every} if cls else {}
        text += toml_table(f"[apps.{name}]", {"password": f"pw-{name}", **({"class": cls} if cls else {}), **snaps})
    # the firm's limits, each set (the OMS refuses orders for a limit left unset): a $50bn credit line for the whole
    # simulated day's gross open and executed notional, a 10% collar, 500 client orders a second
    text += toml_table("[risk.firm]", {"max_order_qty": 1_000_000, "max_order_notional": 100_000_000.0,
                                       "credit_limit": 50_000_000_000.0, "collar_bp": 1_000,
                                       "max_orders_per_sec": 500})
    text += toml_table("[fixgw.venuegw]", {"kind": "venue", "begin": "FIX.4.4", "heartbeat_s": 10})
    text += toml_table("[fixgw.clientgw]", {"kind": "client", "listen": f"127.0.0.1:{client_port}"})
    for target, begin in (("CLIENT1", "FIX.4.4"), ("CLIENT2", "FIX.4.2")):
        text += toml_table("[[fixgw.clientgw.sessions]]", {"target": target, "sender": "SEQTRADE", "begin": begin,
                                                          "heartbeat_s": 10})
    text += toml_table("[fixgw.dropcopy]", {"kind": "client", "listen": f"127.0.0.1:{drop_port}"})
    text += toml_table("[[fixgw.dropcopy.sessions]]", {"target": "DROP1", "sender": "SEQTRADE", "begin": "FIX.4.4",
                                                      "role": "dropcopy", "heartbeat_s": 10})
    # the desk's screen: who sees which clients, and which roles may do what (web/permissions.py)
    for desk, clients in DEMO_DESKS.items():
        text += toml_table(f"[screen.desks.{desk}]", {"clients": clients})
    text += toml_table("[screen.rights]", {"cancel": ["trader", "risk"], "cancel_all": ["trader", "risk"],
                                           "pause": ["trader", "risk"], "resume": ["trader", "risk"],
                                           "kill": ["risk"], "release": ["risk"]})
    procs = [("sequencer", {"kind": "sequencer"}), ("oms", {"kind": "app"}), ("algo", {"kind": "app"}),
             ("positions", {"kind": "app"})]
    procs += [(f"venue_{v.lower()}", {"kind": "venue", "venue": v, "seed": 7, "begin": "FIX.4.4"}) for v in VENUES]
    procs += [("mdgw", {"kind": "mdgw"}), ("venuegw", {"kind": "fixgw"}), ("clientgw", {"kind": "fixgw"}),
              ("dropcopy", {"kind": "fixgw"}),
              ("web", {"kind": "web", "users": "users.toml", "listen": f"127.0.0.1:{web_port}"}),
              ("client_sim_1", {"kind": "client-sim", "gateway": "clientgw", "sender": "CLIENT1", "begin": "FIX.4.4",
                                "part": "1/2"}),
              ("client_sim_2", {"kind": "client-sim", "gateway": "clientgw", "sender": "CLIENT2", "begin": "FIX.4.2",
                                "part": "2/2"})]
    for name, kv in procs:
        text += toml_table(f"[process.{name}]", kv)
    write_demo_users(os.path.join(dir, "users.toml"))
    path = os.path.join(dir, "cluster.toml")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)          # it holds the simulated day's clear passwords
    return path


# the demo's screen users: a trader per client desk, a risk manager and a supervisor (passwords: demo-NAME); the
# desks and what each role may do are in the cluster file's [screen]
DEMO_USERS = {"alice": ("desk1", ["trader"]), "bob": ("desk2", ["trader"]), "rita": ("all", ["risk"]),
              "sam": ("all", ["supervisor"])}
DEMO_DESKS = {"desk1": ["CLIENT1"], "desk2": ["CLIENT2"]}


def write_demo_users(path: str) -> None:
    from sequencer.secrets import hash_password
    text = "# the simulated day's screen users; each password is demo-NAME\n"
    for name, (desk, roles) in DEMO_USERS.items():
        text += toml_table(f"[users.{name}]", {"password_hash": hash_password(f"demo-{name}"), "desk": desk,
                                               "roles": roles})
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
