"""``seqtrade``: one command, with a subcommand per job."""
from __future__ import annotations

import argparse
import asyncio
import os
import sys

from sequencer.config import ConfigError
from sequencer.log import LogCorrupt


def cmd_sequencer(a) -> int:
    from sequencer import config, server
    cfg = config.load(a.config)
    if a.port is not None:
        cfg.port = a.port
    if a.data_dir:
        cfg.data_dir = a.data_dir
    if a.node:      # one node of a primary and standbys elected through etcd
        from sequencer import ha, tls
        app = cfg.apps.get(cfg.ha.replication_app) if cfg.ha else None
        tls.use_client(cfg, app)
        return asyncio.run(ha.run_node(cfg, a.node))
    asyncio.run(server.serve_forever(cfg))
    return 0


def cmd_log_dump(a) -> int:
    from . import logtool
    try:
        logtool.dump(a.file, a.from_seq, a.to_seq, a.type)
    except BrokenPipeError:  # `seqtrade log dump ... | head`
        sys.stderr.close()
    return 0


def cmd_log_verify(a) -> int:
    from . import logtool
    logtool.verify_cmd(a.file)
    return 0


def cmd_app_run(a) -> int:
    from apps.host import load_app_class, run_process
    from sequencer import config
    cfg = config.load(a.config)
    app_cfg = config.app_config(cfg, a.name)
    spec = a.cls or app_cfg.cls
    if not spec:
        raise ConfigError(cfg.path, None, f"[apps.{a.name}] has no class and --class was not given")
    cls = load_app_class(spec)
    try:
        app = cls(**app_cfg.params)
    except TypeError as e:
        raise ConfigError(cfg.path, None, f"[apps.{a.name}] params do not fit {spec}: {e}") from None
    return run_process(app, a.name, app_cfg.password, cfg.host, cfg.port, app_cfg.snapshot_dir, app_cfg.snapshot_every)


def cmd_web(a) -> int:
    from web.gateway import run
    return run(a.config, a.name, a.users, a.listen)


def cmd_fix_echo(a) -> int:
    from fixgw import echo
    from fixgw.config import ConfigError, session_options
    settings = {k: v for k, v in vars(a).items() if k in echo.SETTINGS and v is not None}
    if a.dictionary:
        import json
        try:
            with open(a.dictionary, encoding="utf-8") as f:
                settings["dictionary"] = json.load(f)
        except (OSError, ValueError) as e:
            raise ConfigError(a.dictionary, None, f"cannot read the dictionary override: {e}") from None
    from fixgw import dictionary
    opts = session_options(a.dictionary or "--dictionary", None, a.begin, {}, settings, dictionary.STRICT)
    return echo.run(a.port, a.sender, a.target, a.begin, a.heartbeat, a.host, opts)


def cmd_refdata_sample(a) -> int:
    from refdata.sample import write_sample
    files = write_sample(a.out, a.symbols, a.seed, a.force)
    print(f"wrote {', '.join(files)} to {a.out} ({a.symbols} symbols, seed {a.seed})")
    return 0


def cmd_refdata_check(a) -> int:
    from refdata.load import load_dir
    rd = load_dir(a.dir)
    clients = next((t for t in rd.extra if t.name == "clients"), None)
    if clients is None:      # the post-trade jobs need it: CAT's firmDesignatedID and accountHolderType come from it
        print(f"seqtrade refdata check: {a.dir}: no clients.csv (client,fdid,account_holder_type,name): the CAT job "
              f"needs each client's firmDesignatedID", file=sys.stderr)
        return 2
    from posttrade.cat import client_problems
    bad = [f"line {line}: {why}" for line, row in clients.dicts() for why in client_problems(row)]
    if bad:
        print(f"seqtrade refdata check: {clients.path}: {bad[0]}", file=sys.stderr)
        return 2
    print(f"{a.dir}: {len(rd.securities)} securities, {len(rd.venues)} venues, {len(rd.curves)} volume curves, "
          f"extra tables: {', '.join(t.name for t in rd.extra) or 'none'}; sha256 {rd.content_hash}")
    for c in rd.curves.values():
        first30 = sum(c.weights_bp[:1800 // c.bin_s])
        print(f"  curve {c.curve}: {len(c.weights_bp)} bins of {c.bin_s // 60} min; first 30 min {first30 / 100:.2f}%, "
              f"closing auction {c.close_auction_bp / 100:.2f}% of the day")
    return 0


def cmd_refdata_publish(a) -> int:
    from refdata.load import load_dir
    from refdata.publish import messages
    from sequencer import config
    from sequencer.submitter import submit_all
    cfg = config.load(a.config)
    app = config.app_config(cfg, a.name, "the publisher's credentials")
    rd = load_dir(a.dir)
    msgs = messages(rd)
    already, sent, last = asyncio.run(submit_all(cfg.host, cfg.port, a.name, app.password, msgs))
    if sent == 0:
        print(f"reference data already on the stream ({already} records); nothing sent")
    else:
        print(f"published {sent} reference data records (sha256 {rd.content_hash}); last at seq {last}")
    return 0


def cmd_venue(a) -> int:
    from street import server
    return server.run(a)


def cmd_mdgw(a) -> int:
    from marketdata import gateway
    return gateway.run(a)


def cmd_fixgw(a) -> int:
    from fixgw import config, gateway
    return gateway.run_gateway(config.build(a.config, a.name))


def _compare_snapshot(a) -> int:
    """A live app's state, from its snapshot, against a replay of the log to the same seq, by state hash: the
    process ran exactly the state the log gives (or it did not, and the day needs a look)."""
    from apps import snapshot
    from replay import apps as registry
    from replay.runner import replay
    from sequencer.config import app_config, load
    from sequencer.log import LogReader
    names = snapshot.apps_of(a.compare_snapshot)
    if len(names) != 1 or not a.config:
        print("replay: --compare-snapshot needs a live app's snapshot and --config (its secret checks it)",
              file=sys.stderr)
        return 2
    try:
        key = snapshot.key_for(app_config(load(a.config), names[0]).password)
        seq, runners = snapshot.read(a.compare_snapshot, LogReader(a.log).trading_day, key)
    except snapshot.SnapshotError as e:
        print(f"replay: {e}", file=sys.stderr)
        return 2
    res, _ = replay(a.log, {names[0]: registry.make(names[0])}, True, seq)
    live, replayed = runners[names[0]].app.state_hash(), res.state_hashes[names[0]]
    same = live == replayed and res.last_seq == seq
    print(f"replay: {names[0]} at seq {seq:,}: the live process's state {live[:16]}, the log replayed "
          f"{replayed[:16]}: {'identical' if same else 'DIFFERENT'}", file=sys.stderr)
    return 0 if same else 1


def cmd_replay(a) -> int:
    from replay import apps as registry
    from replay.explain import chain
    from replay.runner import Divergence, WorkerDied, replay, state_json
    if a.explain:
        print("\n".join(chain(a.log, a.explain)))
        return 0
    if a.compare_snapshot:
        return _compare_snapshot(a)
    names = [n.strip() for n in a.apps.split(",") if n.strip()]
    apps = {n: registry.make(n, a.street_seed) for n in names}
    until_ns = None
    if a.until_time:
        until_ns = _ny_time_on_log_day(a.log, a.until_time)

    def progress(n, rec, secs):
        print(f"replay: {n:,} records, seq {rec.seq:,}, {n / secs:,.0f} msgs/s", file=sys.stderr, flush=True)
    from apps import snapshot
    start = a.from_snapshot
    try:
        if a.from_latest_snapshot:
            from sequencer.log import LogReader
            start = snapshot.latest(a.snapshot_dir, LogReader(a.log).trading_day) or ""
            print(f"replay: starting from {start or 'the start of the log (no snapshot yet)'}", file=sys.stderr)
        key = None
        if start and a.config:       # a live app's snapshot is signed with that app's secret
            from sequencer.config import load
            cfg = load(a.config)
            names = snapshot.apps_of(start)
            if len(names) == 1 and names[0] in cfg.apps:
                from sequencer.config import app_config
                key = snapshot.key_for(app_config(cfg, names[0]).password)
        res, runners = replay(a.log, apps, a.verify, a.until, until_ns, a.break_at, progress,
                              snapshot_dir=a.snapshot_dir, snapshot_every=a.snapshot_every,
                              snapshot_at=a.snapshot_at, from_snapshot=start, jobs=a.jobs, snapshot_key=key)
    except snapshot.SnapshotError as e:
        print(f"replay: {e}", file=sys.stderr)
        return 2
    except Divergence as e:
        print(f"replay: DIVERGED: {e}", file=sys.stderr)
        return 1
    except WorkerDied as e:
        print(f"replay: {e}", file=sys.stderr)
        return 2
    rate = res.records / res.seconds if res.seconds else 0
    checked = ", ".join(f"{n} {v:,} outputs identical" + (f", {res.mismatches[n]:,} differ" if res.mismatches[n]
                                                          else "") for n, v in res.verified.items())
    print(f"replay: {res.records:,} records to seq {res.last_seq:,} in {res.seconds:.1f} s ({rate:,.0f} msgs/s); "
          f"{checked}", file=sys.stderr)
    if res.state_hashes:
        print("replay: state hashes at seq {:,}: {}".format(res.last_seq, ", ".join(
            f"{n} {h[:16]}" for n, h in res.state_hashes.items())), file=sys.stderr)
    if res.stopped_at is not None or a.dump:
        text = state_json(runners)
        if a.dump:
            with open(a.dump, "w") as f:
                f.write(text + "\n")
            print(f"replay: state at seq {res.last_seq} written to {a.dump}", file=sys.stderr)
        else:
            print(text)
    return 1 if any(res.mismatches.values()) else 0


def _ny_time_on_log_day(path: str, hhmmss: str) -> int:
    import datetime as dt
    from zoneinfo import ZoneInfo
    from sequencer.log import LogReader
    day = LogReader(path).trading_day
    try:
        t = dt.datetime.strptime(f"{day} {hhmmss}", "%Y%m%d %H:%M:%S")
    except ValueError:
        raise ValueError(f"--until-time {hhmmss!r} must be HH:MM:SS (New York time)") from None
    return int(t.replace(tzinfo=ZoneInfo("America/New_York")).timestamp()) * 1_000_000_000


def cmd_demo(a) -> int:
    if a.spine:
        from . import demo
        return demo.run(a.dir, a.pings)
    if a.in_process:
        from . import simday
        return simday.run(a.dir, a.seed)
    import shutil
    from . import clusterconfig, day, simcluster_files
    shutil.rmtree(a.dir, ignore_errors=True)
    path = simcluster_files.write(a.dir, a.speed, market_close=a.close)
    c = clusterconfig.load(path)
    print(f"seqtrade demo: a simulated trading day as real processes on this machine, 09:29 to {a.close} New York "
          f"at x{a.speed:g}; cluster file {path}", flush=True)
    return day.run_day(c)


def cmd_cluster(a) -> int:
    from . import cluster as ops
    from . import clusterconfig
    c = clusterconfig.load(a.config)
    try:
        if a.clustercmd == "start":     # the whole file checked before anything starts (cluster day does too)
            from . import clustercheck
            if rc := clustercheck.run(c):
                return rc
        if a.clustercmd == "start":
            ops.start(c, a.host)
            return 0
        if a.clustercmd == "stop":
            ops.stop(c, a.host)
            return 0
        if a.clustercmd == "status":
            return ops.print_status(c)
        if a.clustercmd == "exec":
            return ops.exec_one(c, a.name)
        if a.clustercmd == "check":
            from . import clustercheck
            return clustercheck.run(c)
        from . import day
        return day.run_day(c)
    except ops.ClusterError as e:
        print(f"seqtrade cluster: error: {e}", file=sys.stderr)
        return 1


def cmd_secret_hash(a) -> int:
    from sequencer.secrets import hash_password
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        print("seqtrade secret hash: give the password on standard input", file=sys.stderr)
        return 2
    print(f'password_hash = "{hash_password(password)}"')
    return 0


def cmd_report(a) -> int:
    from posttrade import report
    firm = {}
    if a.config:
        from .clusterconfig import load as load_cluster
        c = load_cluster(a.config)
        firm = dict(c.firm)
    test = a.test_firm or bool(firm.pop("test", False))
    firm.update({k: v for k, v in (("cat_submitter", a.cat_submitter), ("imid", a.imid), ("crd", a.crd),
                                   ("name", a.firm_name)) if v})
    return report.run(a.kind, a.log, a.out, firm, test)


def cmd_client_sim(a) -> int:
    from . import clientsim
    return clientsim.run(a)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seqtrade", description="Deterministic sequenced-stream trading engine")
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("sequencer", help="run the sequencer server")
    s.add_argument("--config", required=True, help="TOML file with [sequencer] and [apps.NAME] sections")
    s.add_argument("--port", type=int, help="override the configured port")
    s.add_argument("--data-dir", help="override the configured data directory")
    s.add_argument("--node", help="run as this [sequencer.ha.nodes.NAME]: a standby until elected primary through "
                                  "etcd (sequencer/ha.py)")
    s.set_defaults(fn=cmd_sequencer)

    lg = sub.add_parser("log", help="read a day's log").add_subparsers(dest="logcmd", required=True)
    d = lg.add_parser("dump", help="print records as JSON lines (prices as decimals)")
    d.add_argument("file")
    d.add_argument("--from", dest="from_seq", type=int, default=1)
    d.add_argument("--to", dest="to_seq", type=int)
    d.add_argument("--type", help="only records of this type (name such as Ping, or tag number)")
    d.set_defaults(fn=cmd_log_dump)
    v = lg.add_parser("verify", help="check framing, CRCs, seq continuity and time order; non-zero exit on the "
                                     "first problem")
    v.add_argument("file")
    v.set_defaults(fn=cmd_log_verify)

    ap = sub.add_parser("app", help="run a deterministic app").add_subparsers(dest="appcmd", required=True)
    r = ap.add_parser("run", help="run one app connected to the sequencer")
    r.add_argument("name", help="the app's name in the config ([apps.NAME])")
    r.add_argument("--config", required=True)
    r.add_argument("--class", dest="cls", help="package.module:Class (default: the config's class)")
    r.set_defaults(fn=cmd_app_run)

    fe = sub.add_parser("fix-echo", help="FIX acceptor with an echo application, for session conformance testing")
    fe.add_argument("--port", type=int, required=True)
    fe.add_argument("--sender", required=True, help="our SenderCompID")
    fe.add_argument("--target", required=True, help="the counterparty's CompID")
    fe.add_argument("--begin", choices=("FIX.4.2", "FIX.4.4"), required=True)
    fe.add_argument("--heartbeat", type=int, default=30, help="HeartBtInt we expect (seconds)")
    fe.add_argument("--host", default="127.0.0.1")
    for flag, help_ in (("reset-on-logon", "start again at MsgSeqNum 1 on every Logon (as conformance acceptors run)"),
                        ("reset-on-logout", "sequence numbers back to 1 after a logout"),
                        ("reset-on-disconnect", "sequence numbers back to 1 after any disconnect"),
                        ("validate-user-defined-fields", "tags 5000+ must be in the dictionary (default on)"),
                        ("allow-unknown-msg-fields", "let tags below 5000 not in the message through (default off)"),
                        ("validate-fields-out-of-order", "header first, trailer last (default on)"),
                        ("validate-fields-have-values", "refuse empty values (default on)"),
                        ("check-latency", "refuse a SendingTime beyond --max-latency-s (default on)")):
        fe.add_argument(f"--{flag}", action=argparse.BooleanOptionalAction, default=None, help=help_)
    fe.add_argument("--max-latency-s", type=int, default=None, help="MaxLatency (default 120)")
    fe.add_argument("--logon-timeout-s", type=int, default=None, help="LogonTimeout (default 10)")
    fe.add_argument("--dictionary", default="", help="a JSON file: the counterparty's dictionary override "
                                                     "({\"fields\": ..., \"messages\": ...}, see the README)")
    fe.set_defaults(fn=cmd_fix_echo)

    rf = sub.add_parser("refdata", help="reference data files").add_subparsers(dest="rdcmd", required=True)
    r = rf.add_parser("sample", help="write a realistic sample reference data set")
    r.add_argument("--symbols", type=int, default=8)
    r.add_argument("--out", required=True)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--force", action="store_true", help="overwrite reference data already in --out")
    r.set_defaults(fn=cmd_refdata_sample)
    r = rf.add_parser("check", help="load and validate a reference data directory")
    r.add_argument("dir")
    r.set_defaults(fn=cmd_refdata_check)
    r = rf.add_parser("publish", help="publish the day's reference data onto the stream (safe to re-run)")
    r.add_argument("dir")
    r.add_argument("--config", required=True)
    r.add_argument("--name", default="refdata", help="the publisher's app name in the config")
    r.set_defaults(fn=cmd_refdata_publish)

    vn = sub.add_parser("venue", help="run a simulated venue (FIX order entry, market data feed, liquidity)")
    vn.add_argument("--id", required=True, help="the venue's id in venues.csv")
    vn.add_argument("--refdata", default="refdata/sample", help="reference data directory")
    vn.add_argument("--seed", type=int, default=1)
    vn.add_argument("--speed", type=float, default=1.0, help="simulated time runs this many times real time")
    vn.add_argument("--clock-start", default="09:30:00", help="simulated New York time at start")
    vn.add_argument("--clock-from", metavar="HOST:PORT", help="run on the sequencer's clock (speed and time) instead; "
                                                                "--clock-start is then where the steps start")
    vn.add_argument("--step-ms", type=int, default=1000, help="liquidity step, simulated milliseconds")
    vn.add_argument("--begin", choices=("FIX.4.2", "FIX.4.4"), default="FIX.4.2")
    vn.add_argument("--host", default="127.0.0.1")
    vn.add_argument("--fix-port", type=int, help="default: venues.csv fix_port (0 = any free port)")
    vn.add_argument("--md-port", type=int, help="default: venues.csv md_port (0 = any free port)")
    vn.add_argument("--admin-port", type=int, default=0)
    vn.add_argument("--no-liquidity", action="store_true", help="no background agents (tests)")
    vn.add_argument("--away", action="append", metavar="VENUE=HOST:PORT",
                    help="another venue's market data feed, for its protected quote (default: every other venue in "
                         "the reference data, at its md_port)")
    vn.add_argument("--no-away", action="store_true", help="protect no other venue's quote (a venue on its own)")
    vn.set_defaults(fn=cmd_venue)

    mg = sub.add_parser("mdgw", help="run the market data gateway (venue feeds to sequenced quotes and trades)")
    mg.add_argument("--config", required=True)
    mg.add_argument("--name", default="mdgw", help="the gateway's app name in the config")
    mg.add_argument("--refdata", default="refdata/sample", help="venue feed addresses (venues.csv md_port)")
    mg.add_argument("--feed", action="append", help="VENUE=HOST:PORT (instead of the reference data; repeatable)")
    mg.set_defaults(fn=cmd_mdgw)

    fg = sub.add_parser("fixgw", help="run a FIX gateway: client acceptor (with drop copy) or venue initiator")
    fg.add_argument("--config", required=True, help="the cluster TOML with [fixgw.NAME] and [apps.NAME]")
    fg.add_argument("--name", required=True, help="the gateway's name in the config")
    fg.set_defaults(fn=cmd_fixgw)

    wb = sub.add_parser("web", help="the desk's screen: a web gateway serving the blotter, positions and alerts")
    wb.add_argument("--config", required=True, help="the cluster TOML with [apps.NAME] (a reader's credentials)")
    wb.add_argument("--name", default="web", help="the gateway's [apps.NAME]")
    wb.add_argument("--users", required=True, help="the users file ([users.NAME] password_hash, clients, roles)")
    wb.add_argument("--listen", default="127.0.0.1:8080")
    wb.set_defaults(fn=cmd_web)

    rp = sub.add_parser("replay", help="replay a day's log through the current code of the deterministic apps")
    rp.add_argument("log")
    rp.add_argument("--apps", default="oms,algo",
                    help="comma-separated: oms, algo, positions, street (default oms,algo)")
    rp.add_argument("--verify", action="store_true", help="stop at the first output that differs from the log's, "
                                                          "show both side by side, exit 1")
    rp.add_argument("--until", type=int, help="stop after this seq and print each app's state as JSON")
    rp.add_argument("--until-time", help="stop at this New York time (HH:MM:SS) and print the state")
    rp.add_argument("--dump", help="write the state JSON to this file (also without --until: the end of the log)")
    rp.add_argument("--break-at", type=int, help="open the debugger (PYTHONBREAKPOINT) right before this seq")
    rp.add_argument("--explain", metavar="ORDER", help="the causal chain of one client order (O123 or a ClOrdID)")
    rp.add_argument("--street-seed", type=int, help="the simulated street's seed, to replay it too")
    rp.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                    help="replay the apps in up to this many processes (default: 2, or 1 on one core); "
                         "--break-at and snapshots use one")
    rp.add_argument("--snapshot-dir", default="snapshots", help="where snapshots are written and looked for")
    rp.add_argument("--snapshot-at", type=int, help="write a snapshot of the apps' state after this seq")
    rp.add_argument("--snapshot-every", type=int, default=0, help="write a snapshot every N seqs")
    rp.add_argument("--from-snapshot", default="", help="start from this snapshot and the log after its seq")
    rp.add_argument("--config", default="", help="the cluster file: to check a live app's snapshot with that app's "
                                                 "secret (a replay's own snapshots use SEQTRADE_SNAPSHOT_SECRET)")
    rp.add_argument("--compare-snapshot", metavar="FILE", default="",
                    help="a live app's snapshot: replay the log to its seq and compare the two states by hash "
                         "(with --config)")
    rp.add_argument("--from-latest-snapshot", action="store_true", help="start from the latest snapshot in "
                                                                        "--snapshot-dir (or the log's start)")
    rp.set_defaults(fn=cmd_replay)

    sc = sub.add_parser("secret", help="credentials for the sequencer link").add_subparsers(dest="secretcmd",
                                                                                         required=True)
    sh = sc.add_parser("hash", help="read a password on standard input, print the password_hash line for "
                                    "[apps.NAME] (the cluster file then holds no secret)")
    sh.set_defaults(fn=cmd_secret_hash)

    cl = sub.add_parser("cluster", help="run the day's cluster from its cluster file (deploy/*.sh wrap this)")
    cs = cl.add_subparsers(dest="clustercmd", required=True)
    for name, text in (("start", "start this host's processes in dependency order, waiting for each to be healthy"),
                       ("stop", "stop this host's processes: clients and gateways first, the sequencer last"),
                       ("status", "one line per process: pid, up since, the seq it has processed "
                                  "(apps say; others: the last sent), lag"),
                       ("exec", "run one process in the foreground (for systemd units)"),
                       ("check", "validate the whole cluster file and warn about exposed secrets and plain links"),
                       ("day", "the automated day: start, trade, close, stop, post-trade jobs, archive, summary")):
        x = cs.add_parser(name, help=text)
        x.add_argument("--config", required=True, help="the cluster file (TOML)")
        if name == "exec":
            x.add_argument("name", help="the process's name ([process.NAME])")
        else:
            x.add_argument("--host", help="this machine's name in [hosts] (default: [cluster] host)")
        x.set_defaults(fn=cmd_cluster)

    cm = sub.add_parser("client-sim", help="a FIX client sending a day of VWAP/TWAP/POV/limit orders and checking "
                                           "every execution report against the FIX state rules")
    cm.add_argument("--config", required=True, help="the cluster file")
    cm.add_argument("--name", required=True, help="its [process.NAME] (kind = \"client-sim\")")
    cm.add_argument("--report", default="", help="where to write the JSON report (default run/NAME.report.json)")
    cm.add_argument("--grace", type=float, default=60.0, help="real seconds after the close to wait for orders to end")
    cm.set_defaults(fn=cmd_client_sim)

    rp2 = sub.add_parser("report", help="post-trade jobs over a closed day's log: CAT, OATS (retired), activity, "
                                        "clock sync, Rule 606(b)(3), TCA")
    rp2.add_argument("kind", choices=("cat", "oats", "activity", "clock", "606", "tca"),
                     help="cat: CAT order events (.json.bz2 + .meta.json, validated); oats: the RETIRED OATS FORE "
                          "format (FINRA retired OATS on 1 Sept 2021; for archives only); activity: daily activity "
                          "and supervision flags; clock: clock synchronisation against 50 ms; 606: Rule 606(b)(3) "
                          "not-held report per client (XML); tca: execution quality per order with PNG charts")
    rp2.add_argument("--log", required=True)
    rp2.add_argument("--out", required=True, help="output directory")
    rp2.add_argument("--config", default="", help="the cluster file: the firm's identity from its [firm] table")
    rp2.add_argument("--cat-submitter", default="", help="CAT submitter id (overrides [firm] cat_submitter)")
    rp2.add_argument("--imid", default="", help="CAT reporter IMID, also the OATS MPID (overrides [firm] imid)")
    rp2.add_argument("--crd", default="", help="the firm's CRD (overrides [firm] crd)")
    rp2.add_argument("--firm-name", default="", help="the broker-dealer's name in the 606 report ([firm] name)")
    rp2.add_argument("--test-firm", action="store_true",
                     help="a test day: placeholders for whatever identity is not given")
    rp2.set_defaults(fn=cmd_report)

    dm = sub.add_parser("demo", help="run a whole simulated trading day end to end and print the summary")
    dm.add_argument("--dir", default="demo-data")
    dm.add_argument("--speed", type=float, default=60.0,
                    help="the sequenced clock runs this many times real time (default 60: at 100 the algo falls "
                         "behind on 2 cores, see the README's known gaps)")
    dm.add_argument("--close", default="16:00:00", help="the market close (New York), to shorten the day")
    dm.add_argument("--in-process", action="store_true", help="instead: the whole cluster in one process "
                                                                "(deterministic, on the seeded street)")
    dm.add_argument("--seed", type=int, default=7, help="the simulated street's seed")
    dm.add_argument("--spine", action="store_true", help="instead: the spine demo (sequencer and two app processes, "
                                                          "one killed and restarted)")
    dm.add_argument("--pings", type=int, default=2000, help="with --spine: how many pings")
    dm.set_defaults(fn=cmd_demo)
    return p


def main(argv=None) -> int:
    # every file a seqtrade process creates (the day's log, reports, configs, run files) is at most 0640, its
    # directories 0750: the log holds every client's orders. Snapshots and secrets are 0600 on their own.
    os.umask(0o027)
    a = build_parser().parse_args(argv)
    try:
        return a.fn(a)
    except (ConfigError, LogCorrupt, FileNotFoundError, ValueError) as e:
        print(f"seqtrade: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
