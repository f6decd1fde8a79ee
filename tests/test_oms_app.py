"""The OMS as an app on the stream: same inputs, same log; a restarted OMS replays and verifies its outputs."""
import pytest

from apps.memory import MemoryCluster
from apps.oms import OmsApp
from sequencer import log as L
from oms.risk import open_limits
from sequencer import messages as M

PX = M.PRICE_SCALE
T0 = 1_790_000_000_000_000_000
MS = 1_000_000


def script():
    """A small day: ref data, two orders (O4, and O7 after A's report and its update to the algo), children, fills, a
    cancel, a replace, an expiry, end of day."""
    yield "refdata", M.Security("AAPL", lot_size=100, tick_px=PX // 100, prev_close_px=100 * PX)
    yield "refdata", M.RiskLimits("acme", max_order_qty=50_000, max_order_notional_px=M.UNLIMITED,
                                  credit_limit_px=M.UNLIMITED, collar_bp=1000, max_orders_per_sec=M.UNLIMITED)
    yield "clientgw", M.NewOrder("acme", "A", "AAPL", "1", 1000, "2", 100 * PX)
    yield "clientgw", M.NewOrder("acme", "B", "AAPL", "2", 500, "2", 99 * PX, expire_ns=T0 + 1000 * MS)
    yield "algo", M.ChildNewRequest("O4", "k1", "XNAS", "AAPL", "1", 600, "2", 100 * PX)
    yield "algo", M.ChildNewRequest("O4", "k2", "ARCX", "AAPL", "1", 400, "2", 99 * PX)
    yield "algo", M.ChildNewRequest("O7", "k3", "XNAS", "AAPL", "2", 500, "2", 99 * PX)
    yield "venuegw", M.VenueAck("k1")
    yield "venuegw", M.VenueFill("k1", "x1", 600, 100 * PX)
    yield "venuegw", M.VenueAck("k2")
    yield "clientgw", M.ReplaceRequest("acme", "A2", "A", "AAPL", "1", 800, "2", 100 * PX)
    yield "venuegw", M.VenueFill("k2", "x2", 100, 99 * PX)
    yield "venuegw", M.VenueCanceled("k2")
    yield "venuegw", M.VenueAck("k3")
    yield "venuegw", M.VenueFill("k3", "x3", 200, 99 * PX)
    yield "tick", None  # time passes: B expires
    yield "venuegw", M.VenueCanceled("k3")
    yield "admin", M.EndOfDay()


def run(data_dir, restart_at=None):
    c = MemoryCluster(str(data_dir), start_ns=T0)
    runner = c.add(OmsApp())
    t = T0
    for i, (source, msg) in enumerate(script()):
        if i == restart_at:
            c.runners.remove(runner)
            runner = c.add(OmsApp())  # a new process: replays the log, verifying every output it had made
            assert runner.verified > 0
        t += 10 * MS
        if msg is None:
            t = T0 + 2000 * MS
            c.advance(t)
            continue
        c.now = t
        c.inject(source, msg)
        c.run()
    c.close()
    return c.path, runner


def test_oms_day_is_deterministic_and_correct(tmp_path):
    a, runner = run(tmp_path / "a")
    b, _ = run(tmp_path / "b")
    assert open(a, "rb").read() == open(b, "rb").read()
    ers = [r.msg for r in L.read_all(a) if r.type == M.TAG_OF_CLASS[M.ExecReport]]
    by_order = {}
    for e in ers:
        by_order.setdefault(e.order_id, []).append((e.exec_type, e.ord_status, e.cum_qty, e.leaves_qty))
    assert by_order["O4"] == [("0", "0", 0, 1000), ("F", "1", 600, 400), ("E", "E", 600, 400),
                              ("F", "E", 700, 300), ("5", "1", 700, 100), ("C", "C", 700, 0)]   # DAY: expired
    assert by_order["O7"] == [("0", "0", 0, 500), ("F", "1", 200, 300), ("C", "C", 200, 0)]
    assert runner.app.om.risk.exposure["acme"] == 600 * 100 * PX + 100 * 99 * PX + 200 * 99 * PX


def test_restarted_oms_regenerates_identical_outputs(tmp_path):
    a, _ = run(tmp_path / "a")
    b, _ = run(tmp_path / "b", restart_at=12)
    assert open(a, "rb").read() == open(b, "rb").read()


def test_open_orders_are_cancelled_back_at_the_close_on_sequenced_time(tmp_path):
    close = T0 + 60 * 1_000 * MS
    c = MemoryCluster(str(tmp_path), start_ns=T0, close_ns=close)
    c.add(OmsApp())
    c.inject("refdata", M.Security("AAPL", lot_size=100, tick_px=PX // 100, prev_close_px=100 * PX))
    c.inject("refdata", open_limits())                    # set explicitly: the OMS fails closed without any
    c.inject("clientgw", M.NewOrder("acme", "A", "AAPL", "1", 1000, "2", 100 * PX))
    c.run()
    c.advance(close - 1)
    ers = lambda: [r.msg for r in L.read_all(c.path) if r.type == M.TAG_OF_CLASS[M.ExecReport]]  # noqa: E731
    assert [e.exec_type for e in ers()] == ["0"]                 # still working one ns before the close
    c.advance(close)
    c.close()
    last = ers()[-1]
    # a DAY order at the close ran out of its time in force: Expired, not Canceled (the audit's finding)
    assert (last.exec_type, last.ord_status, last.text) == ("C", "C", "market close")


ROLES = {"refdata": ["refdata"], "clientgw": ["client-gateway"], "mdgw": ["marketdata"], "oms": ["oms"]}


def test_the_sequencer_refuses_what_a_source_may_not_send(tmp_path):
    from sequencer.core import SubmitError
    c = MemoryCluster(str(tmp_path), start_ns=T0, roles=ROLES)
    c.add(OmsApp())
    c.inject("mdgw", M.NewOrder("acme", "A", "AAPL", "1", 1000, "2", 100 * PX))   # a stolen market data password
    with pytest.raises(SubmitError, match="mdgw may not submit NewOrder"):
        c.run()
    assert [r.type for r in L.read_all(c.path)] == [M.TAG_OF_CLASS[M.DayStart]]
    c.close()


def test_the_oms_checks_the_source_again_and_a_replay_does_the_same(tmp_path):
    # second line of defence: even with the sequencer's check off (a bug there), the OMS acts only on what the
    # rights table on the stream lets a source send, and says so
    c = MemoryCluster(str(tmp_path), start_ns=T0, roles=ROLES, enforce=False)
    c.add(OmsApp())
    c.inject("refdata", M.Security("AAPL", lot_size=100, tick_px=PX // 100, prev_close_px=100 * PX))
    c.inject("refdata", open_limits())                    # set explicitly: the OMS fails closed without any
    c.inject("mdgw", M.NewOrder("acme", "A", "AAPL", "1", 1000, "2", 100 * PX))
    c.inject("mdgw", M.KillSwitch("*", True, cancel_open=True))
    c.inject("clientgw", M.NewOrder("acme", "B", "AAPL", "1", 1000, "2", 100 * PX))
    c.run()
    c.close()
    recs = L.read_all(c.path)
    ers = [r.msg for r in recs if r.type == M.TAG_OF_CLASS[M.ExecReport]]
    alerts = [r.msg for r in recs if r.type == M.TAG_OF_CLASS[M.OmsAlert]]
    assert [(e.cl_ord_id, e.exec_type) for e in ers] == [("B", "0")]      # the kill switch did nothing either
    assert [a.code for a in alerts] == ["UNAUTHORIZED_SOURCE"] * 2 and "mdgw may not send NewOrder" in alerts[0].text
    c2 = MemoryCluster(str(tmp_path), start_ns=T0, roles=ROLES, enforce=False)   # the same log, replayed
    c2.add(OmsApp())                                                            # outputs checked byte for byte
    c2.close()


def test_the_algo_checks_the_source_too(tmp_path):
    from apps.algo import AlgoApp
    roles = {**ROLES, "algo": ["algo"], "venuegw": ["venue-gateway"]}
    c = MemoryCluster(str(tmp_path), start_ns=T0, roles=roles, enforce=False)
    algo = AlgoApp()
    c.add(algo)
    c.inject("mdgw", M.VenueSession("XNAS", "S1", True))       # only the venue gateway may say a session is up
    c.inject("mdgw", M.Quote("AAPL", "", 99 * PX, 100, 101 * PX, 100))   # the market data gateway's own: fine
    c.run()
    c.close()
    alerts = [r.msg for r in L.read_all(c.path) if r.type == M.TAG_OF_CLASS[M.OmsAlert]]
    assert [a.code for a in alerts] == ["UNAUTHORIZED_SOURCE"] and "VenueSession" in alerts[0].text
