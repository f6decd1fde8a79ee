"""The chaos harness's short run in ``make test``: three sequencer hosts, an etcd host and an apps host (network
namespaces), four seeded faults; the longer runs are ``python -m tests.chaos.harness --runs N`` (README)."""
import shutil

import pytest

from tests.chaos.harness import netns_available, run_once


def test_a_short_chaos_run_loses_and_duplicates_nothing_and_the_logs_agree():
    why = netns_available()
    if why:
        pytest.skip(why)
    if shutil.which("etcd") is None:
        pytest.skip("needs etcd (Debian's etcd-server; make test installs it)")
    r = run_once(seed=7, n_faults=4, pings=600, etcd_members=1)
    print(f"\nchaos seed {r.seed}: {r.faults}; failovers {r.failover_s}; {r.records} records, {r.terms} terms")
    assert r.faults and r.records > 600 * 2
    assert r.problems == [], r.problems
