"""Gateway settings: errors name the file and line; TLS on the session transport; the session schedule."""
from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import ssl
import subprocess

import pytest

from fixgw import config
from fixgw.echo import EchoApp
from fixgw.fix_client import FixClient
from fixgw.gateway import NEW_YORK, in_schedule, parse_schedule
from fixgw.session import SessionConfig
from fixgw.tcp import Acceptor
from sequencer.config import ConfigError

BASE = """[sequencer]
port = 7700

[apps.gw]
password = "x"

[fixgw.gw]
kind = "client"
listen = "127.0.0.1:9001"
"""


def write(tmp_path, text: str) -> str:
    p = tmp_path / "cluster.toml"
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize("extra, line, words", [
    ('\n[[fixgw.gw.sessions]]\ntarget = "C1"\nsender = "S"\nbegin = "FIX.4.3"\n', 14, "begin must be one of"),
    ('\n[[fixgw.gw.sessions]]\ntarget = "C1"\nsender = "S"\n\n[[fixgw.gw.sessions]]\ntarget = "C2"\n'
     'sender = "S"\nrole = "watcher"\n', 18, "role must be"),
    ('\n[[fixgw.gw.sessions]]\ntarget = "C1"\nsender = "S"\nheartbeat_s = "30"\n', 14, "heartbeat_s must be a int"),
    ('\n[[fixgw.gw.sessions]]\ntarget = "C1"\nsender = "S"\nallowed = ["D", "X"]\n', 14, "not 'X'"),
    ('schedule = "18:00-07:00"\n[[fixgw.gw.sessions]]\ntarget = "C1"\nsender = "S"\n', 10, "start must come before"),
])
def test_config_errors_name_file_and_line(tmp_path, extra, line, words):
    path = write(tmp_path, BASE + extra)
    with pytest.raises(ConfigError) as e:
        config.build(path, "gw")
    assert str(e.value).startswith(f"{path}:{line}:") and words in str(e.value)


def test_missing_gateway_section_is_named(tmp_path):
    path = write(tmp_path, BASE)
    with pytest.raises(ConfigError, match=r"no \[fixgw.other\] section"):
        config.build(path, "other")


def test_schedule_window_in_new_york_time():
    sched = parse_schedule("09:00-17:00")
    at = lambda h, m: int(dt.datetime(2026, 11, 23, h, m, tzinfo=NEW_YORK).timestamp() * 1e9)  # noqa: E731
    assert in_schedule(sched, at(9, 0)) and in_schedule(sched, at(16, 59))
    assert not in_schedule(sched, at(8, 59)) and not in_schedule(sched, at(17, 0))
    assert in_schedule(None, at(3, 0))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_tls_session_end_to_end(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out",
                    str(cert)], check=True, capture_output=True)
    path = write(tmp_path, BASE + f'tls_cert = "{cert}"\ntls_key = "{key}"\n[[fixgw.gw.sessions]]\n'
                                  f'target = "C1"\nsender = "S"\n')
    gw = config.build(path, "gw")
    assert isinstance(gw.tls, ssl.SSLContext)

    async def scenario():
        acc = Acceptor([SessionConfig("FIX.4.4", "S", "C1")], EchoApp(), tls=gw.tls, log=lambda m: None)
        port = await acc.start("127.0.0.1", 0)
        client_tls = ssl.create_default_context(cafile=str(cert))
        cl = FixClient(SessionConfig("FIX.4.4", "C1", "S", initiator=True))
        await cl.connect("127.0.0.1", port, tls=client_tls)
        cl.send("D", [(11, "T1"), (21, "1"), (55, "AAPL"), (54, "1"), (60, "20261121-14:31:00"), (40, "1"),
                      (38, 100)])
        mt, v = await cl.wait(lambda mt, v: mt == "D")
        assert v[11] == "T1"
        await cl.close()
        acc.server.close()
    asyncio.run(scenario())
