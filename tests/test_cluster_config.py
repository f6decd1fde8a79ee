"""The cluster file: the shipped examples load, and mistakes are refused with the file and the line."""
from __future__ import annotations

import os

import pytest

from seqtrade import clusterconfig
from sequencer import messages as M
from sequencer.config import ConfigError

DEPLOY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "deploy")
BASE = """[cluster]
name = "t"
host = "a"

[hosts.a]
address = "127.0.0.1"

[sequencer]
port = 7799

[apps.oms]
password = "x"

[apps.clientgw]
password = "y"

[fixgw.clientgw]
kind = "client"
listen = "127.0.0.1:9001"

[process.sequencer]
kind = "sequencer"

[process.oms]
kind = "app"

[process.clientgw]
kind = "fixgw"
"""


def load(tmp_path, extra: str):
    p = tmp_path / "cluster.toml"
    p.write_text(BASE + extra)
    return clusterconfig.load(str(p))


def test_shipped_examples_load_in_dependency_order():
    one = clusterconfig.load(os.path.join(DEPLOY, "cluster.example.toml"))
    assert [p.kind for p in one.processes] == ["sequencer", "app", "app", "venue", "venue", "venue", "mdgw", "fixgw",
                                               "fixgw", "fixgw", "client-sim", "client-sim"]
    assert one.processes[7].name == "venuegw"                  # the venue gateway before the client-facing ones
    assert [m.client for m in one.limits] == ["CLIENT2", "*"]
    two = clusterconfig.load(os.path.join(DEPLOY, "two-host.example.toml"))
    assert {p.name: p.host for p in two.processes} == {"sequencer": "seq1", "oms": "seq1", "algo": "algo1",
                                                       "mdgw": "algo1", "venuegw": "seq1", "clientgw": "seq1"}
    assert two.limits[0].max_order_notional_px == 25_000_000 * 1_000_000


def test_a_cluster_file_named_relative_to_where_the_operator_stands_reaches_every_process(monkeypatch):
    """Processes start in the cluster's directory: the config path they are given must not depend on the cwd."""
    from seqtrade import cluster
    monkeypatch.chdir(os.path.dirname(DEPLOY))
    c = clusterconfig.load("deploy/cluster.example.toml")   # as in: deploy/start-day.sh deploy/cluster.example.toml
    for p in c.processes:
        cmd = cluster.command(c, p)
        files = [cmd[i + 1] for i, x in enumerate(cmd) if x in ("--config", "--refdata")]
        assert files and all(os.path.isabs(f) and os.path.exists(f) for f in files), (p.name, files)


@pytest.mark.parametrize("extra, at, text", [   # at: the line the error must name
    ('\n[process.algo]\nkind = "ap"\n', 'kind = "ap"', "kind must be one of"),
    ("\n[process.algo]\nkind = 'app'\n", "kind = 'app'", "needs its sequencer credentials in [apps.algo]"),
    ('\n[process.v]\nkind = "venue"\nhost = "b"\nvenue = "XNAS"\n', 'host = "b"', "host 'b' is not in [hosts]"),
    ('\n[process.v]\nkind = "venue"\n', "[process.v]", "needs venue ="),
    ('\n[process.cs]\nkind = "client-sim"\ngateway = "clientgw"\nsender = "C1"\npart = "3/2"\n', 'part = "3/2"',
     "part must be"),
    ('\n[process.cs]\nkind = "client-sim"\ngateway = "nope"\nsender = "C1"\n', 'gateway = "nope"',
     "gateway must name"),
    ('\n[risk.firm]\nmax_order_qty = "lots"\n', 'max_order_qty = "lots"', 'must be a number or "unlimited"'),
    ('\n[risk.firm]\ncollar_bp = 0\n', 'collar_bp = 0', 'collar_bp must be positive (or "unlimited")'),
    ('\n[process.x]\nkind = "mdgw"\nseeed = 3\n', "seeed = 3", "unknown setting 'seeed'"),
])
def test_mistakes_name_file_and_line(tmp_path, extra, at, text):
    with pytest.raises(ConfigError) as e:
        load(tmp_path, extra)
    line = (BASE + extra).splitlines().index(at) + 1
    assert e.value.line == line, str(e.value)
    assert text in str(e.value) and "cluster.toml" in str(e.value)


def test_cluster_section_mistakes(tmp_path):
    p = tmp_path / "cluster.toml"
    p.write_text(BASE.replace('host = "a"', 'host = "a"\npost_trade = ["verify", "taxes"]'))
    with pytest.raises(ConfigError, match=r"cluster.toml:4: unknown post_trade job 'taxes'"):
        clusterconfig.load(str(p))
    p.write_text(BASE.replace('[process.sequencer]\nkind = "sequencer"\n', ""))
    with pytest.raises(ConfigError, match="exactly one"):
        clusterconfig.load(str(p))


def test_risk_limits_unlimited_only_when_said_and_cluster_check_warns_of_a_limit_the_firm_leaves_unset(tmp_path, capsys):
    from oms.risk import REQUIRED
    from seqtrade import clustercheck
    c = load(tmp_path, '\n[risk.firm]\nmax_order_qty = 1000\ncredit_limit = "unlimited"\nmax_order_notional = 5.5\n')
    [firm] = c.limits
    assert (firm.client, firm.max_order_qty, firm.credit_limit_px, firm.max_order_notional_px, firm.collar_bp) == \
        ("*", 1000, M.UNLIMITED, 5 * M.PRICE_SCALE + M.PRICE_SCALE // 2, 0)      # collar left out: not set
    [w] = [w for w in clustercheck.warnings(c) if "[risk.firm]" in w]
    assert "collar_bp, max_orders_per_sec" in w and "NO_LIMITS" in w
    assert len(REQUIRED) == 5
