"""Credentials and transport on the sequencer link: hashed passwords and per-process secrets, TLS with client
certificates, file modes, and `seqtrade cluster check`'s warnings."""
from __future__ import annotations

import asyncio
import os
import shutil
import stat
import subprocess
import sys

import pytest

from sequencer import config, secrets, tls
from sequencer import messages as M
from sequencer.client import SequencerError, connect
from sequencer.server import SequencerServer


def cfg_text(tmp, extra_seq="", extra_app=""):
    return (f'[sequencer]\nport = 7700\ndata_dir = "{tmp / "data"}"\ntrading_day = "20260105"\nclock_sample_s = 0\n'
            f'{extra_seq}\n[apps.a]\nrole = "sample"\n{extra_app}\n')


def serve_and(cfg, fn):
    async def main():
        s = SequencerServer(cfg, notice=lambda m: None)
        cfg.port = 0
        await s.start()
        try:
            return await fn(s.port)
        finally:
            s.close()
    cfg.port = 0
    return asyncio.run(main())


def test_hashed_password_and_a_secret_file_read_only_by_its_process(tmp_path, monkeypatch):
    h = secrets.hash_password("s3cret")
    assert secrets.verify("s3cret", stored=h) and not secrets.verify("s3cre", stored=h)
    (tmp_path / "a.secret").write_text("s3cret\n")
    os.chmod(tmp_path / "a.secret", 0o600)
    p = tmp_path / "c.toml"
    p.write_text(cfg_text(tmp_path, extra_app=f'password_hash = "{h}"\nsecret_file = "a.secret"'))
    cfg = config.load(str(p))
    assert cfg.apps["a"].password == ""                     # the cluster file holds no secret
    own = config.app_config(cfg, "a")
    assert own.password == "s3cret"                         # the process finds its own

    async def go(port):
        c, _ = await connect("127.0.0.1", port, "a", own.password)
        c.close()
        with pytest.raises(SequencerError, match="wrong password"):
            await connect("127.0.0.1", port, "a", "guess")
        return True
    assert serve_and(cfg, go)
    monkeypatch.setenv("SEQTRADE_SECRET_A", "from-env")     # the environment comes first
    assert config.app_config(cfg, "a").password == "from-env"
    monkeypatch.delenv("SEQTRADE_SECRET_A")
    os.chmod(tmp_path / "a.secret", 0o644)                  # a secret others can read is refused
    with pytest.raises(config.ConfigError, match="readable by group or others"):
        config.app_config(cfg, "a")
    p.write_text(cfg_text(tmp_path, extra_app='password_hash = "md5:abc"'))
    with pytest.raises(config.ConfigError, match=r"c.toml:\d+: .*password_hash must look like"):
        config.load(str(p))


def test_secret_hash_command_prints_a_line_for_the_cluster_file():
    p = subprocess.run([sys.executable, "-m", "seqtrade", "secret", "hash"], input="pw1\n", capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0
    line = p.stdout.strip()
    assert line.startswith('password_hash = "scrypt$') and secrets.verify("pw1", stored=line.split('"')[1])


def _openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture()
def pki(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make certificates")
    d = tmp_path / "pki"
    d.mkdir()
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=seqtrade test CA",
             "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"))
    for name in ("server", "a", "rogue"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", str(d / f"{name}.key"),
                 "-out", str(d / f"{name}.csr"))
        if name == "rogue":   # signed by itself, not by the cluster's CA
            _openssl("x509", "-req", "-in", str(d / "rogue.csr"), "-signkey", str(d / "rogue.key"), "-days", "1",
                     "-out", str(d / "rogue.pem"))
        else:
            _openssl("x509", "-req", "-in", str(d / f"{name}.csr"), "-CA", str(d / "ca.pem"), "-CAkey",
                     str(d / "ca.key"), "-CAcreateserial", "-days", "1", "-out", str(d / f"{name}.pem"))
    return d


def test_tls_sequencer_link_with_client_certificates(tmp_path, pki):
    seq = (f'tls_cert = "{pki / "server.pem"}"\ntls_key = "{pki / "server.key"}"\ntls_ca = "{pki / "ca.pem"}"')
    p = tmp_path / "c.toml"
    p.write_text(cfg_text(tmp_path, seq, f'password = "pa"\ntls_cert = "{pki / "a.pem"}"\n'
                                         f'tls_key = "{pki / "a.key"}"'))
    cfg = config.load(str(p))

    async def go(port):
        own = config.app_config(cfg, "a")                   # sets this process's client context
        got = []
        c, w = await connect("127.0.0.1", port, "a", own.password, on_records=got.extend)
        c.submit(1, M.tag_of(M.Ping(1)), M.encode(M.Ping(1)))
        c.subscribe(1)
        c.flush()
        for _ in range(100):
            if len(got) >= 2:
                break
            await asyncio.sleep(0.02)
        c.close()
        results = {"records": [r.type for r in got]}
        # a plain TCP client gets nowhere
        r, wr = await asyncio.open_connection("127.0.0.1", port)
        wr.write(b"\x10\x00\x00\x00\x01" + b"x" * 15)
        try:
            results["plain"] = await asyncio.wait_for(r.read(100), 5)
        except (ConnectionError, asyncio.TimeoutError):
            results["plain"] = b""
        # a client certificate not from the cluster's CA is refused in the handshake
        import ssl
        rogue = ssl.create_default_context(cafile=str(pki / "ca.pem"))
        rogue.check_hostname = False
        rogue.load_cert_chain(str(pki / "rogue.pem"), str(pki / "rogue.key"))
        try:
            r, wr = await asyncio.open_connection("127.0.0.1", port, ssl=rogue)
            wr.write(b"\x00")
            results["rogue"] = await asyncio.wait_for(r.read(100), 5)
        except (ssl.SSLError, ConnectionError, asyncio.TimeoutError):
            results["rogue"] = b""
        return results
    out = serve_and(cfg, go)
    tls.use_client(config.SequencerConfig(), None)           # back to plain TCP for the other tests
    assert out["records"][:2] == [M.TAG_OF_CLASS[M.DayStart], M.TAG_OF_CLASS[M.Ping]]
    assert out["plain"] == b"" and out["rogue"] == b""


def test_files_are_not_readable_by_others_and_cluster_check_warns(tmp_path):
    from seqtrade import simcluster_files
    path = simcluster_files.write(str(tmp_path / "sim"), 60.0)
    os.chmod(path, 0o644)
    p = subprocess.run([sys.executable, "-m", "seqtrade", "cluster", "check", "--config", path], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "holds the clear passwords" in p.stdout and "readable by others" in p.stdout
    # a process's files: the day's log written by a real sequencer process is 0640 at most
    data = tmp_path / "data"
    cfgp = tmp_path / "c.toml"
    cfgp.write_text(cfg_text(tmp_path, extra_app='password = "pa"'))
    from seqtrade import procs
    port = procs.free_port()
    cfgp.write_text(cfgp.read_text().replace("port = 7700", f"port = {port}"))
    proc = procs.seqtrade("sequencer", "--config", str(cfgp), log_path=str(tmp_path / "seq.out"))
    try:
        procs.wait_port("127.0.0.1", port, proc=proc)
    finally:
        procs.stop(proc)
    log = data / "seq-20260105.log"
    assert stat.S_IMODE(os.stat(log).st_mode) & 0o027 == 0
