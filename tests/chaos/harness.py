"""The chaos harness: a sequenced day on several hosts made with network namespaces, under seeded random faults.

Hosts (``ip netns``, each with a veth on one bridge, 10.77.N.0/24): one per sequencer node (a primary and two hot
standbys, ``[sequencer.ha]``), one per etcd member, one for the apps (the ping and pong sample apps: every ping must be
answered by exactly one pong, which names the seq of its ping). Faults, drawn from a seeded ``random.Random``:

* kill -9 of any process (a sequencer node, the primary included; an app; an etcd member), started again after a
  moment, as a supervisor would;
* SIGSTOP of the primary for longer than its lease, then SIGCONT;
* a cut of a host's link (its veth down) for a few seconds;
* a restart of etcd (every member).

After the run: every ping and pong once and each pong naming its ping's seq (nothing lost, nothing duplicated, nothing
an app acted on that the log does not hold), the log verified, every node's log byte-identical to the primary's over
their common prefix, and the terms in the log rising. The seed is printed; the same seed draws the same faults.

    python -m tests.chaos.harness --runs 5 --seed 42      (root, with etcd installed; about a minute a run)
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from sequencer import messages as M  # noqa: E402
from sequencer.log import LogReader, log_path, verify  # noqa: E402

DAY = "20260105"
LEASE_S = 2
SEQ_PORT, ETCD_PORT, PEER_PORT = 7700, 2379, 2380


def etcd_argv(name: str, data_dir: str, host: str, client_port: int, peer_port: int, cluster: str = "") -> list[str]:
    """An etcd member's command line (``cluster``: the whole --initial-cluster; default this member alone)."""
    peer = f"http://{host}:{peer_port}"
    return [shutil.which("etcd") or "etcd", "--name", name, "--data-dir", data_dir,
            "--listen-client-urls", f"http://{host}:{client_port}", "--advertise-client-urls",
            f"http://{host}:{client_port}", "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", cluster or f"{name}={peer}", "--initial-cluster-state", "new"]


def write_config(path: str, etcd: list[str], nodes: dict[str, tuple[str, int]], pings: int, lease_s: float,
                 key: str, clock_interval_ms: int = 5) -> str:
    """A cluster file for the HA tests: ``nodes`` (name -> host, port), each with its own ``data-NAME`` directory
    beside the file, one standby acknowledgement per batch, and the ping and pong sample apps."""
    first = next(iter(nodes.values()))
    text = f"""[sequencer]
host = "{first[0]}"
port = {first[1]}
data_dir = "data-{next(iter(nodes))}"
trading_day = "{DAY}"
fsync = "batch"
clock_interval_ms = {clock_interval_ms}

[sequencer.ha]
etcd = [{", ".join(f'"{e}"' for e in etcd)}]
key = "{key}"
lease_s = {lease_s}
sync_standbys = 1
"""
    for n, (host, port) in nodes.items():
        text += f'\n[sequencer.ha.nodes.{n}]\nhost = "{host}"\nport = {port}\ndata_dir = "data-{n}"\n'
    text += f"""
[apps.replication]
password = "r"
role = "standby"

[apps.ping]
password = "p1"
class = "apps.sample:PingApp"
params = {{ count = {pings}, interval_ms = 10 }}

[apps.pong]
password = "p2"
class = "apps.sample:PongApp"
"""
    with open(path, "w") as f:
        f.write(text)
    return path


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


def netns_available() -> str:
    """'' if this machine can make network namespaces, else why not."""
    if os.geteuid() != 0:
        return "needs root for ip netns"
    if shutil.which("ip") is None:
        return "needs iproute2 (ip)"
    name = f"seqt-probe-{os.getpid()}"
    try:
        _run("ip", "netns", "add", name)
        _run("ip", "netns", "del", name)
    except subprocess.CalledProcessError as e:
        return f"ip netns does not work here: {e.stderr.decode().strip()}"
    return ""


class Net:
    """Hosts as network namespaces on one bridge. ``ip(name)`` is a host's address."""

    def __init__(self, hosts: list[str]):
        self.tag = f"{os.getpid() % 10000}"
        self.bridge = f"sqb{self.tag}"
        self.subnet = 10 + os.getpid() % 200
        self.hosts = {h: i + 1 for i, h in enumerate(hosts)}
        _run("ip", "link", "add", self.bridge, "type", "bridge")
        _run("ip", "link", "set", self.bridge, "up")
        for h, i in self.hosts.items():
            ns, veth, peer = self.ns(h), f"sqv{self.tag}{i}", f"sqp{self.tag}{i}"
            _run("ip", "netns", "add", ns)
            _run("ip", "link", "add", veth, "type", "veth", "peer", "name", peer)
            _run("ip", "link", "set", veth, "netns", ns)
            _run("ip", "link", "set", peer, "master", self.bridge)
            _run("ip", "link", "set", peer, "up")
            _run("ip", "-n", ns, "addr", "add", f"{self.ip(h)}/24", "dev", veth)
            _run("ip", "-n", ns, "link", "set", veth, "up")
            _run("ip", "-n", ns, "link", "set", "lo", "up")

    def ns(self, host: str) -> str:
        return f"sqn{self.tag}-{host}"

    def ip(self, host: str) -> str:
        return f"10.77.{self.subnet}.{self.hosts[host]}"

    def link(self, host: str, up: bool) -> None:
        _run("ip", "-n", self.ns(host), "link", "set", f"sqv{self.tag}{self.hosts[host]}", "up" if up else "down")

    def close(self) -> None:
        for h in self.hosts:
            subprocess.run(["ip", "netns", "del", self.ns(h)], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)


@dataclass
class Proc:
    name: str
    host: str
    argv: list[str]
    out: str
    p: subprocess.Popen | None = None
    runs: int = 0

    def start(self, net: Net) -> None:
        self.runs += 1
        with open(self.out, "ab") as f:
            f.write(f"--- start {self.runs} ---\n".encode())
            f.flush()
            env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=ROOT)
            self.p = subprocess.Popen(["ip", "netns", "exec", net.ns(self.host), *self.argv], stdout=f,
                                      stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def alive(self) -> bool:
        return self.p is not None and self.p.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            os.killpg(self.p.pid, sig)

    def kill(self) -> None:
        if self.p is not None:
            self.signal(signal.SIGCONT)
            self.signal(signal.SIGKILL)
            self.p.wait()

    def text(self) -> str:
        with open(self.out, errors="replace") as f:
            return f.read()


@dataclass
class Run:
    seed: int
    faults: list[str] = field(default_factory=list)
    failover_s: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    records: int = 0
    terms: int = 0
    seconds: float = 0.0


def run_once(seed: int, n_faults: int = 6, pings: int = 1500, etcd_members: int = 1, workdir: str | None = None,
             keep: bool = False) -> Run:
    rng = random.Random(seed)
    result = Run(seed)
    etcd_hosts = [f"etcd{i}" for i in range(1, etcd_members + 1)]
    nodes = ["a", "b", "c"]
    net = Net([*(f"seq{n}" for n in nodes), *etcd_hosts, "apps"])
    work = workdir or tempfile.mkdtemp(prefix=f"chaos-{seed}-")
    procs: dict[str, Proc] = {}
    t_start = time.monotonic()
    try:
        cluster = ",".join(f"{h}=http://{net.ip(h)}:{PEER_PORT}" for h in etcd_hosts)
        for h in etcd_hosts:
            procs[h] = Proc(h, h, etcd_argv(h, f"{work}/{h}", net.ip(h), ETCD_PORT, PEER_PORT, cluster),
                            f"{work}/{h}.out")
        cfg = write_config(f"{work}/cluster.toml", [f"{net.ip(h)}:{ETCD_PORT}" for h in etcd_hosts],
                           {n: (net.ip("seq" + n), SEQ_PORT) for n in nodes}, pings, LEASE_S, "/seqtrade/chaos/leader",
                           clock_interval_ms=10)
        py = [sys.executable, "-m", "seqtrade"]
        for n in nodes:
            procs[n] = Proc(n, f"seq{n}", [*py, "sequencer", "--config", cfg, "--node", n], f"{work}/node-{n}.out")
        for a in ("pong", "ping"):
            procs[a] = Proc(a, "apps", [*py, "app", "run", a, "--config", cfg], f"{work}/{a}.out")
        logs = {n: log_path(f"{work}/data-{n}", DAY) for n in nodes}
        for h in etcd_hosts:
            procs[h].start(net)
        time.sleep(1.0)
        procs["a"].start(net)
        time.sleep(1.5)
        for n in ("b", "c", "pong", "ping"):
            procs[n].start(net)

        def term(n: str) -> int:
            """The term node ``n`` leads in now, from its output since it last started (0: it does not lead)."""
            txt = procs[n].text()
            run = txt[txt.rfind("--- start"):]
            at = run.rfind("primary in term")
            if not procs[n].alive() or at < 0 or "no longer the primary" in run[at:]:
                return 0
            return int(run[at:].split()[3])

        def primary() -> str | None:
            lead = max(nodes, key=term)
            return lead if term(lead) else None

        def pongs(n: str) -> int:
            try:
                return sum(1 for r in LogReader(logs[n]).records() if type(r.msg) is M.Pong)
            except Exception:
                return 0
        time.sleep(3.0)
        for i in range(n_faults):
            time.sleep(rng.uniform(1.0, 3.0))
            lead = primary()
            kind = rng.choice(["kill-primary", "kill-standby", "kill-app", "stop-primary", "cut-link", "etcd"])
            if kind in ("kill-primary", "stop-primary") and lead is None:
                kind = "kill-standby"
            t0 = time.monotonic()
            if kind == "kill-primary":
                victim = procs[lead]
                victim.kill()
                result.faults.append(f"kill -9 primary {lead}")
                _wait(lambda: primary() not in (None, lead), 20)
                result.failover_s.append(time.monotonic() - t0)
                time.sleep(rng.uniform(0.5, 2.0))
                victim.start(net)
            elif kind == "kill-standby":
                n = rng.choice([n for n in nodes if n != lead])
                procs[n].kill()
                result.faults.append(f"kill -9 standby {n}")
                time.sleep(rng.uniform(0.5, 2.0))
                procs[n].start(net)
            elif kind == "kill-app":
                a = rng.choice(["ping", "pong"])
                procs[a].kill()
                result.faults.append(f"kill -9 app {a}")
                time.sleep(rng.uniform(0.2, 1.5))
                procs[a].start(net)
            elif kind == "stop-primary":
                pause = rng.uniform(1.5, 2.5) * LEASE_S
                procs[lead].signal(signal.SIGSTOP)
                result.faults.append(f"SIGSTOP primary {lead} for {pause:.1f} s")
                time.sleep(pause)
                procs[lead].signal(signal.SIGCONT)
                _wait(lambda: not procs[lead].alive(), 10)     # it finds its lease gone and stops
                if procs[lead].alive():
                    result.problems.append(f"{lead} still running after a pause past its lease")
                procs[lead].kill()
                procs[lead].start(net)
            elif kind == "cut-link":
                h = rng.choice(nodes)
                secs = rng.uniform(1.0, 3.0) * LEASE_S
                net.link(f"seq{h}", False)
                result.faults.append(f"cut the link of host seq{h} ({'primary' if h == lead else 'standby'}) "
                                     f"for {secs:.1f} s")
                time.sleep(secs)
                net.link(f"seq{h}", True)
                if h == lead:              # cut off, it stops when its lease runs out: its supervisor starts it
                    _wait(lambda: not procs[h].alive(), 10)
                if not procs[h].alive():
                    procs[h].kill()
                    procs[h].start(net)
            else:
                for h in etcd_hosts:
                    procs[h].kill()
                result.faults.append("restart etcd")
                time.sleep(rng.uniform(0.5, 1.5))
                for h in etcd_hosts:
                    procs[h].start(net)
            # a node that stopped on its own (lost its lease to an etcd outage) is started again, as by systemd
            for n in nodes:
                if not procs[n].alive():
                    procs[n].kill()
                    procs[n].start(net)
        # the day ends: every pong, on whichever node leads; a node that stopped during the last fault is started
        # again, as its supervisor would, and cuts what its term never committed
        for n in nodes:
            if not procs[n].alive():
                procs[n].kill()
                procs[n].start(net)
        done = _wait(lambda: (lambda p: p is not None and pongs(p) >= pings)(primary()), 180)
        lead = primary()
        if not done or lead is None:
            result.problems.append(f"the day did not finish: primary {lead}, pongs "
                                   f"{ {n: pongs(n) for n in nodes} }")
        else:
            for n in nodes:                          # let the standbys catch up, then stop everything
                _wait(lambda: procs[n].text().rfind("caught up") > procs[n].text().rfind("--- start")
                      or n == lead, 30)
                _wait(lambda: os.path.getsize(logs[n]) >= os.path.getsize(logs[lead]) - 4096, 20)
            time.sleep(1.0)
            for p in procs.values():
                p.kill()
            result.problems += check(logs, lead, pings)
            result.records = verify(logs[lead]).count
            result.terms = sum(1 for r in LogReader(logs[lead]).records() if type(r.msg) is M.TermStart)
    finally:
        for p in procs.values():
            p.kill()
        net.close()
        result.seconds = time.monotonic() - t_start
        if not keep and not result.problems:
            shutil.rmtree(work, ignore_errors=True)
        elif result.problems:
            result.problems.append(f"the run's files are in {work}")
    return result


def _wait(pred, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


def check(logs: dict[str, str], lead: str, pings: int) -> list[str]:
    """What must hold after any run, from the logs alone."""
    problems = []
    try:
        res = verify(logs[lead])
    except Exception as e:
        return [f"the primary's log does not verify: {e}"]
    recs = list(LogReader(logs[lead]).records())[:res.count]
    ping_seq = {}
    for r in recs:
        if type(r.msg) is M.Ping:
            if r.msg.n in ping_seq:
                problems.append(f"ping {r.msg.n} twice (seq {ping_seq[r.msg.n]} and {r.seq})")
            ping_seq[r.msg.n] = r.seq
    pong_n = [r.msg for r in recs if type(r.msg) is M.Pong]
    if sorted(ping_seq) != list(range(1, pings + 1)):
        problems.append(f"pings: {len(ping_seq)} distinct of {pings}")
    if sorted(p.n for p in pong_n) != list(range(1, pings + 1)):
        problems.append(f"pongs: {len(pong_n)} ({len({p.n for p in pong_n})} distinct) of {pings}")
    wrong = [p for p in pong_n if ping_seq.get(p.n) != p.ping_seq]
    if wrong:
        problems.append(f"{len(wrong)} pongs answer a ping at a seq the log does not have there (first: pong "
                        f"{wrong[0].n} names seq {wrong[0].ping_seq}, the log has {ping_seq.get(wrong[0].n)})")
    terms = [r.msg.term for r in recs if type(r.msg) is M.TermStart]
    if terms != sorted(terms) or len(set(terms)) != len(terms):
        problems.append(f"terms do not rise: {terms}")
    with open(logs[lead], "rb") as f:
        mine = f.read()
    for n, path in logs.items():
        if n != lead and os.path.exists(path):
            with open(path, "rb") as f:
                theirs = f.read()
            k = min(len(mine), len(theirs))
            if mine[:k] != theirs[:k]:
                problems.append(f"node {n}'s log differs from the primary's within their common {k} bytes")
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=None, help="the first run's seed (default: from the clock)")
    ap.add_argument("--faults", type=int, default=8, help="faults per run")
    ap.add_argument("--pings", type=int, default=2000)
    ap.add_argument("--etcd", type=int, default=3, help="etcd members")
    ap.add_argument("--keep", action="store_true", help="keep each run's files")
    a = ap.parse_args(argv)
    # SIGTERM unwinds like ^C, so the namespaces, the bridge and the processes of the run are removed
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    why = netns_available()
    if why or shutil.which("etcd") is None:
        print(f"chaos: cannot run here: {why or 'needs etcd'}")
        return 2
    seed = a.seed if a.seed is not None else int(time.time()) % 100_000
    bad = 0
    for i in range(a.runs):
        r = run_once(seed + i, a.faults, a.pings, a.etcd, keep=a.keep)
        fo = ", ".join(f"{x:.1f}" for x in r.failover_s) or "none"
        print(f"seed {r.seed}: {'OK' if not r.problems else 'FAILED'} in {r.seconds:.0f} s; {r.records:,} records, "
              f"{r.terms} terms; failovers {fo} s; faults: {'; '.join(r.faults)}", flush=True)
        for p in r.problems:
            print(f"    {p}", flush=True)
        bad += bool(r.problems)
    print(f"{a.runs - bad} of {a.runs} runs passed (reproduce one: --runs 1 --seed SEED)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
