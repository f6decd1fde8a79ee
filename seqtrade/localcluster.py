"""A cluster on loopback built from real processes, for the integration tests and the benchmarks: a config file,
reference data with free ports, and start/stop of each process the way a user starts it (``seqtrade ...``)."""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys

from sequencer.client import connect

from . import procs

SAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "refdata", "sample")


def refdata_with_ports(out: str, venues: dict[str, list[str]]) -> dict[str, tuple[int, int]]:
    """Copy the shipped sample reference data to ``out`` keeping only ``venues`` (venue -> session names), each on
    free FIX and market data ports. Returns venue -> (fix_port, md_port)."""
    shutil.copytree(SAMPLE, out, dirs_exist_ok=True)
    path = os.path.join(out, "venues.csv")
    with open(path) as f:
        header, *rows = f.read().splitlines()
    ports, kept = {}, [header]
    for row in rows:
        c = row.split(",")
        if c[0] in venues:
            ports[c[0]] = (procs.free_port(), procs.free_port())
            c[3], c[4], c[5], c[6] = "127.0.0.1", str(ports[c[0]][0]), str(ports[c[0]][1]), ";".join(venues[c[0]])
            kept.append(",".join(c))
    with open(path, "w") as f:
        f.write("\n".join(kept) + "\n")
    return ports


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def toml_table(header: str, kv: dict) -> str:
    return "\n".join([header] + [f"{k} = {toml_value(v)}" for k, v in kv.items()]) + "\n\n"


class LocalCluster:
    """Processes of one cluster in ``dir``; each process's output goes to ``dir/NAME.out``."""

    def __init__(self, dir: str, port: int | None = None, seq: dict | None = None):
        self.dir = dir
        os.makedirs(dir, exist_ok=True)
        self.port = port or procs.free_port()
        self.config = os.path.join(dir, "cluster.toml")
        self.seq = {"port": self.port, "data_dir": os.path.join(dir, "data"), "clock_interval_ms": 50,
                    **(seq or {})}
        self.apps: dict[str, dict] = {}
        self.extra = ""
        self.procs: dict[str, subprocess.Popen] = {}

    def app(self, name: str, **kv) -> None:
        self.apps[name] = {"password": f"pw-{name}", **kv}

    def write(self) -> str:
        text = toml_table("[sequencer]", self.seq)
        for name, kv in self.apps.items():
            text += toml_table(f"[apps.{name}]", kv)
        with open(self.config, "w") as f:
            f.write(text + self.extra)
        return self.config

    def start(self, name: str, *args: str, wait_port: int | None = None) -> subprocess.Popen:
        p = procs.seqtrade(*args, log_path=os.path.join(self.dir, f"{name}.out"))
        self.procs[name] = p
        if wait_port:
            procs.wait_port("127.0.0.1", wait_port, proc=p)
        return p

    def start_sequencer(self) -> None:
        self.write()
        self.start("sequencer", "sequencer", "--config", self.config, wait_port=self.port)

    def run(self, *args: str) -> str:
        out = subprocess.run([sys.executable, "-m", "seqtrade", *args], capture_output=True, text=True,
                             timeout=60)
        if out.returncode:
            raise RuntimeError(f"seqtrade {' '.join(args)} failed: {out.stderr or out.stdout}")
        return out.stdout

    def submit(self, app: str, *msgs) -> None:
        """Submit messages as ``app`` (its credentials from this cluster), e.g. the day's risk limits as the
        reference data publisher, and return once the last one is sequenced."""
        from sequencer import messages as M

        async def go():
            seen = asyncio.Event()
            last = {}

            def on_records(recs):
                if any(r.source == app and r.source_seq >= last.get("n", 1 << 62) for r in recs):
                    seen.set()
            conn, welcome = await connect("127.0.0.1", self.port, app, self.apps[app]["password"],
                                          on_records=on_records)
            conn.subscribe(welcome.head_seq + 1)
            n = welcome.last_source_seq
            for m in msgs:
                n += 1
                conn.submit(n, M.tag_of(m), M.encode(m))
            last["n"] = n
            conn.flush()
            await asyncio.wait_for(seen.wait(), 10)
            conn.close()
        asyncio.run(go())

    def stop(self, name: str) -> int:
        return procs.stop(self.procs.pop(name))

    def kill9(self, name: str) -> None:
        procs.kill9(self.procs.pop(name))

    def stop_all(self) -> None:
        for name in [n for n in self.procs if n != "sequencer"] + ["sequencer"]:
            if name in self.procs:
                self.stop(name)

    def output(self, name: str) -> str:
        with open(os.path.join(self.dir, f"{name}.out"), errors="replace") as f:
            return f.read()


class StreamWatch:
    """A subscriber that keeps every record, for tests and benches to wait on what the cluster sequenced."""

    def __init__(self):
        self.recs: list = []
        self._changed = asyncio.Event()
        self.conn = None

    async def open(self, port: int, name: str, password: str, from_seq: int = 1):
        self.conn, welcome = await connect("127.0.0.1", port, name, password, on_records=self._on)
        self.conn.subscribe(from_seq)
        return welcome

    def _on(self, recs) -> None:
        self.recs.extend(recs)
        self._changed.set()

    async def wait(self, pred, timeout: float = 15.0, what: str = "a record"):
        """The first record (from the start) matching ``pred``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        i = 0
        while True:
            for r in self.recs[i:]:
                if pred(r):
                    return r
            i = len(self.recs)
            self._changed.clear()
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"no {what} on the stream after {timeout}s")
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except asyncio.TimeoutError:
                pass

    def of(self, cls, source: str | None = None) -> list:
        return [r.msg for r in self.recs if type(r.msg) is cls and (source is None or r.source == source)]

    def close(self) -> None:
        if self.conn:
            self.conn.close()
