"""Post-trade jobs on a recorded sample day (the in-process cluster, seeded, so the day and hence every report is the
same on any machine): golden files, byte-identical output from the same log, every CAT record valid against the
schema, and deliberately broken records caught with the record and the field named.

Regenerate the golden files after an intended change with ``UPDATE_GOLDEN=1 pytest tests/test_posttrade.py``
and review the diff."""
from __future__ import annotations

import copy
import hashlib
import os
import subprocess
import sys

import pytest

from apps.simcluster import SimCluster
from posttrade import activity, cat, clocksync, oats, rule606, tca
from posttrade.catvalidate import CatInvalid, Validator
from posttrade.daylog import DayLog
from seqtrade import clientflow
from sequencer import messages as M
from sequencer.log import log_path

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "posttrade")


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    """09:29 to 09:50 with the demo's client flow squeezed into 09:30-09:45, the close at 09:45 (cancel-back),
    and clock samples: one host in tolerance all day but once."""
    d = str(tmp_path_factory.mktemp("posttrade"))
    c = SimCluster(d, "refdata/sample", seed=11, close_time="09:45")
    flow = clientflow.plan(c.open_ns, c.close_ns, {s: c.oms.om.market.securities[s].prev_close_px
                                                   for s in sorted(c.street.securities)})
    t, end = c.now, c.at("09:50")
    n = 0
    while t < end:
        t += 1_000_000_000
        while flow and flow[0][0] <= t:
            c.inject("client", flow.pop(0)[1])
        if t % 60_000_000_000 == 0:
            n += 1
            off = 80_000_000 if n == 7 else 1_000_000 + n * 10_000     # one breach of the 50 ms tolerance
            c.inject("sequencer-clock", M.ClockSample("seqhost", off, 3_000_000, True))
        c.advance(t)
    path = log_path(d, c.log.trading_day)
    c.close()
    return path


@pytest.fixture(scope="module")
def reports(day, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("reports"))
    log = DayLog(day)
    files = {"cat": cat.write(log, out), "oats": oats.write(log, out), "activity": activity.write(log, out),
             "clock": clocksync.write(log, out), "606": rule606.write(log, out), "tca": tca.write(log, out)}
    return log, out, files


def digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def golden(name: str, text: str) -> None:
    path = os.path.join(GOLDEN, name)
    if os.environ.get("UPDATE_GOLDEN"):
        with open(path, "w") as f:
            f.write(text)
    with open(path) as f:
        assert text == f.read(), f"{name} differs from the golden file (UPDATE_GOLDEN=1 to accept a change)"


def test_text_reports_match_the_golden_files(reports):
    log, out, files = reports
    for name in (os.path.basename(files["activity"]), os.path.basename(files["clock"]),
                 os.path.basename(files["tca"]), os.path.basename(files["606"][0]), os.path.basename(files["oats"])):
        with open(os.path.join(out, name)) as f:
            golden(name, f.read())
    meta = files["cat"][0].replace(".json.bz2", ".meta.json")
    with open(meta) as f:
        golden(os.path.basename(meta), f.read())


def test_cat_file_every_record_valid_and_what_an_agency_algo_reports(reports):
    log, out, files = reports
    [path] = files["cat"]
    assert os.path.basename(path) == f"99999_SEQT_{log.trading_day}_OrderEvents_000001.json.bz2"
    recs = cat.read(path)
    v = Validator("SEQT")
    for i, r in enumerate(recs, 1):
        v.check(r, i)
    by: dict[str, list] = {}
    for r in recs:
        by.setdefault(r["type"], []).append(r)
    assert len(by["MENO"]) == len(log.orders) == 32 - sum(1 for _ in log.rejected)
    assert len(by["MEOR"]) == len(log.children)
    replaced = sum(1 for o in log.orders.values() for _, er in o.reports if er.exec_type == "5")
    ended = sum(1 for o in log.orders.values() if o.last.exec_type in ("4", "C"))
    assert len(by.get("MEOM", [])) == replaced and len(by["MEOC"]) == ended > 1   # replaces, cancels, cancel-backs
    vwap = next(r for r in by["MENO"] if r["handlingInstructions"].get("ALG"))
    assert vwap["deptType"] == "A" and vwap["firmDesignatedID"] == "FDID-C1-0001" and vwap["timeInForce"] == {
        "DAY": int(log.trading_day)}
    route = by["MEOR"][0]
    assert route["destinationType"] == "E" and route["destination"] in ("NSDQ", "ARCA", "EDGX") and route["session"]
    assert route["orderID"] in {r["orderID"] for r in by["MENO"]}        # routes hang off the client order
    client_cancel = [r for r in by["MEOC"] if r["initiator"] == "C"]
    assert len(client_cancel) == 1 and "requestTimestamp" in client_cancel[0]
    assert all(r["eventTimestamp"][15] == "." and len(r["eventTimestamp"]) == 25 for r in recs)
    assert [int(r["firmROEID"].split("_")[1]) for r in recs] == list(range(1, len(recs) + 1))
    assert digest(path) == __import__("json").load(open(path.replace(".json.bz2", ".meta.json")))["files"][0][
        "compressedHash"]


def test_same_log_gives_byte_identical_reports_in_a_fresh_process(day, reports, tmp_path):
    _, out, _ = reports
    for kind in ("cat", "oats", "activity", "clock", "606", "tca"):
        r = subprocess.run([sys.executable, "-m", "seqtrade", "report", kind, "--log", day, "--out", str(tmp_path),
                            "--test-firm"], capture_output=True, text=True, env=dict(os.environ, PYTHONHASHSEED="99"))
        assert r.returncode == 0, r.stderr
    mine = sorted(os.listdir(out))
    assert mine == sorted(os.listdir(tmp_path))
    assert any(f.endswith(".png") for f in mine)
    for f in mine:
        assert digest(os.path.join(out, f)) == digest(os.path.join(tmp_path, f)), f


def test_clock_report_finds_the_breach(reports):
    log, _, _ = reports
    text, csv, breaches = clocksync.report(log)
    assert breaches == 1 and "offset 80.000 ms" in text
    assert csv.count("\n") == len(log.clock) + 1


GOOD = {"actionType": "NEW", "firmROEID": "20260102_1", "type": "MEOR", "orderKeyDate": "20260102 093000.000000000",
        "orderID": "O1", "symbol": "AAPL", "eventTimestamp": "20260102 093001.000000000", "manualFlag": False,
        "electronicDupFlag": False, "destination": "NSDQ", "destinationType": "E", "routedOrderID": "O1.1",
        "session": "S1", "side": "B", "price": 101.25, "quantity": 100, "orderType": "LMT",
        "timeInForce": {"DAY": 20260102}, "tradingSession": "REG", "affiliateFlag": False, "isoInd": "NA",
        "routeRejectedFlag": False, "dupROIDCond": False, "multiLegInd": False}


@pytest.mark.parametrize("change, field, text", [
    ({"price": None}, "price", "required for a limit order"),
    ({"session": None}, "session", "required for a route to an exchange"),
    ({"destination": "XNAS"}, "destination", "not a CAT Exchange ID"),
    ({"firmROEID": "20260103_1"}, "firmROEID", "eventTimestamp's date"),
    ({"side": "BUY"}, "side", "is not one of"),
    ({"quantity": "100"}, "quantity", "is not NUMBER"),
    ({"price": 101.123456789}, "price", "8 decimals"),
    ({"routedOrderID": "X" * 65}, "routedOrderID", "longer than 64"),
    ({"eventTimestamp": "20260102 093001"}, "eventTimestamp", "at least milliseconds"),
    ({"timeInForce": {"DAY": 20260102, "FOK": True}}, "timeInForce", "not a timeInForce name"),
    ({"colour": "red"}, "colour", "not a field of MEOR"),
    ({"isoInd": None}, "isoInd", "required in MEOR and missing"),
    ({"errorROEID": 5}, "errorROEID", "absent on a NEW record"),
])
def test_broken_records_are_caught_naming_record_and_field(change, field, text):
    rec = copy.deepcopy(GOOD)
    for k, v in change.items():
        if v is None:
            rec.pop(k)
        else:
            rec[k] = v
    Validator("SEQT").check(copy.deepcopy(GOOD), 1)      # the unbroken record passes
    with pytest.raises(CatInvalid) as e:
        Validator("SEQT").check(rec, 7)
    assert e.value.field == field and text in str(e.value)
    assert str(e.value).startswith("record 7 (MEOR firmROEID")


def test_the_job_refuses_to_write_an_invalid_file(reports, tmp_path, monkeypatch):
    log = reports[0]
    real = cat.Builder.build

    def broken(self):
        recs = real(self)
        recs[3].pop("side")
        return recs
    monkeypatch.setattr(cat.Builder, "build", broken)
    with pytest.raises(CatInvalid, match=r"record 4 \(.*\): side: required"):
        cat.write(log, str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_every_exchange_route_carries_its_linkage_key_and_rejected_changes_are_reported(reports):
    """From the IM Technical Specifications' text: the exchange route linkage key (date, senderIMID, destination,
    symbol, session, routedOrderID) on every MEOR/MEMR/MECR, and routeRejectedFlag when the venue refused a route
    cancel or modification. Counted against the log, not against the writer."""
    from posttrade import catcheck
    log, out, files = reports
    recs = cat.read(files["cat"][0])
    routes = [r for r in recs if r["type"] in ("MEOR", "MEMR", "MECR")]
    assert routes and all(r["senderIMID"] == "999999:SEQT" and r["session"] and r["routedOrderID"] for r in routes)
    refused = sum(1 for c in log.children.values() for _, m in c.events if type(m).__name__ == "VenueCancelReject")
    flagged = [r for r in routes if r["type"] in ("MEMR", "MECR") and r["routeRejectedFlag"]]
    assert refused > 0 and len(flagged) == refused
    assert catcheck.problems(recs) == []


def _rec(n, event, order="O1", **kw):
    base = {"type": event, "orderID": order, "symbol": "AAPL", "eventTimestamp": f"20260102 0930{n:02d}.000000000"}
    return {**base, **kw}


ROUTE = dict(senderIMID="999999:SEQT", destination="NSDQ", destinationType="E", session="S1", routedOrderID="K1")


@pytest.mark.parametrize("records, finding", [
    ([_rec(1, "MEOR", **ROUTE)], "before the order's new-order event"),
    ([_rec(1, "MENO"), _rec(2, "MEOR", **{**ROUTE, "senderIMID": ""})], "without senderIMID"),
    ([_rec(1, "MENO"), _rec(2, "MEOR", **{**ROUTE, "session": ""})], "without session"),
    ([_rec(1, "MENO"), _rec(2, "MEOR", **{**ROUTE, "senderIMID": "SEQT"})], "is not CRD:IMID"),
    ([_rec(1, "MENO"), _rec(2, "MEOR", **ROUTE), _rec(3, "MEOR", **ROUTE)], "is not unique"),
    ([_rec(1, "MENO"), _rec(2, "MECR", **{**ROUTE, "routedOrderID": "K9"})], "names no route"),
    ([_rec(1, "MENO"), _rec(2, "MEMR", **{**ROUTE, "routedOrderID": "K1.1", "priorRoutedOrderID": "K0"})],
     "priorRoutedOrderID"),
    ([_rec(1, "MENO"), _rec(2, "MEOC", leavesQty=0, cancelQty=100), _rec(3, "MEOR", **ROUTE)],
     "after the order was fully cancelled"),
    ([_rec(2, "MENO"), _rec(1, "MEOC", leavesQty=0, cancelQty=1)], "before the previous record"),
    ([_rec(1, "MENO"), _rec(2, "MEOC", leavesQty=0, cancelQty=-5)], "negative"),
])
def test_cat_lifecycle_and_linkage_rules_each_caught(records, finding):
    from posttrade import catcheck
    found = catcheck.problems(records)
    assert any(finding in f for f in found), found


def test_a_clean_route_life_passes_the_rules():
    from posttrade import catcheck
    recs = [_rec(1, "MENO"), _rec(2, "MEOR", **ROUTE),
            _rec(3, "MEMR", **{**ROUTE, "routedOrderID": "K1.1", "priorRoutedOrderID": "K1"}),
            _rec(4, "MEMR", **{**ROUTE, "routedOrderID": "K1.2", "priorRoutedOrderID": "K1.1", "routeRejectedFlag": True}),
            _rec(5, "MECR", **{**ROUTE, "routedOrderID": "K1.1", "routeRejectedFlag": False}),
            _rec(6, "MEOC", leavesQty=0, cancelQty=100)]
    assert catcheck.problems(recs) == []


def test_606_reports_are_valid_against_the_sec_schema(reports):
    """The SEC's own XSD (oh-20191231.xsd, beside this checkout in ../shared) is the judge, with a well-kept XML
    Schema validator, not our reading of it."""
    xmlschema = pytest.importorskip("xmlschema")
    xsd = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "reference", "regulatory", "sec606",
                       "oh-20191231.xsd")
    if not os.path.exists(xsd):
        pytest.skip("the SEC's 606 schema is not beside this checkout")
    schema = xmlschema.XMLSchema(xsd)
    log, out, files = reports
    assert files["606"]
    for path in files["606"]:
        errors = [str(e).splitlines()[0] for e in schema.iter_errors(path)]
        assert errors == [], (path, errors[:3])


def test_reports_use_the_fills_that_stand_after_a_bust_and_a_correction(tmp_path):
    """A venue busts one fill and corrects another: every job reads the day's fills as they stand (the DayLog applies
    the Trade Cancel / Trade Correct), so what the reports say was executed is what the OMS says."""
    c = SimCluster(str(tmp_path / "bust"), "refdata/sample", seed=4)
    c.inject("client", M.NewOrder("CLIENT1", "S0", "AAPL", "1", 100, "2", 1_000_000))   # gets AAPL's quotes
    c.run_until(c.at("09:31"))
    _, ask = c.oms.om.market.nbbo["AAPL"]
    c.inject("client", M.NewOrder("CLIENT1", "B1", "AAPL", "1", 2_000, "2", ask + 20 * 10_000))
    c.run_until(c.at("09:31:10"))
    p = next(p for p in c.oms.om.parents.values() if p.cl_ord_id == "B1")
    fills = [(ch.child_id, e, q) for ch in map(c.oms.om.children.get, p.children) for e, q in ch.fills.items() if q]
    assert len(fills) >= 2, fills
    (k1, e1, q1), (k2, e2, q2) = fills[:2]
    source = "venuegw"                  # as the venue gateway would put a venue's bust on the stream
    c.inject(source, M.VenueTradeCorrection(k1, "BUST1", e1, "bust"))
    px2 = c.oms.om.children[k2].fill_px[e2] - 10_000
    c.inject(source, M.VenueTradeCorrection(k2, "CORR1", e2, "correct", max(q2 - 1, 1), px2))
    c.run_until(c.at("09:31:20"))
    path = log_path(str(tmp_path / "bust"), c.log.trading_day)
    stands = (p.cum_qty, p.cum_notional)
    c.close()
    log = DayLog(path)
    o = next(o for o in log.orders.values() if o.new.cl_ord_id == "B1")
    client_fills = [er for _, er in o.reports if er.exec_type == "F"]
    assert (sum(er.last_qty for er in client_fills), sum(er.last_qty * er.last_px for er in client_fills)) == stands
    assert [er.exec_type for _, er in o.corrections] == ["H", "G"]
    venue_fills = [m for ch in log.children.values() if ch.order.parent_id == o.order_id
                   for _, m in ch.events if type(m) is M.VenueFill]
    assert e1 not in {m.exec_id for m in venue_fills}
    assert (sum(m.last_qty for m in venue_fills), sum(m.last_qty * m.last_px for m in venue_fills)) == stands
    out = str(tmp_path / "reports")
    activity.write(log, out)
    tca.write(log, out)
    recs = cat.read(cat.write(log, out)[0])
    from posttrade import catcheck
    assert catcheck.problems(recs) == []


def test_a_client_replace_that_takes_effect_is_an_meom_and_the_new_terms_are_routed_after_it(reports):
    """IM Technical Specifications 4.1.0: a customer's modification that is accepted is an MEOM on the order (the same
    orderID: it keeps its id, so no priorOrderID); the re-slice that follows routes with MEOR events after it."""
    log, out, files = reports
    recs = cat.read(files["cat"][0])
    [meom] = [r for r in recs if r["type"] == "MEOM"]
    order = next(o for o in log.orders.values() if o.new.cl_ord_id == "V02")
    assert meom["orderID"] == order.order_id and "priorOrderID" not in meom
    assert meom["quantity"] == 50_000 and meom["side"] == "B" and meom["initiator"] == "C"
    routes_after = [r for r in recs if r["type"] == "MEOR" and r["eventTimestamp"] > meom["eventTimestamp"]
                    and r["orderID"] == meom["orderID"]]
    assert routes_after, "the replaced order's new terms were never routed"
    replaced = [er for _, er in order.reports if er.exec_type == "5"]
    assert [er.order_qty for er in replaced] == [50_000]


def test_regulatory_reports_refuse_placeholder_identity_and_take_the_firm_from_the_cluster_file(day, tmp_path):
    def report(kind, *extra):
        return subprocess.run([sys.executable, "-m", "seqtrade", "report", kind, "--log", day, "--out",
                               str(tmp_path / "out"), *extra], capture_output=True, text=True)
    for kind, needs in (("cat", "cat_submitter, imid, crd"), ("oats", "imid"), ("606", "name")):
        r = report(kind)
        assert r.returncode == 2 and f"needs the firm's {needs}" in r.stderr and "--test-firm" in r.stderr
    assert not (tmp_path / "out").exists()
    cluster = tmp_path / "cluster.toml"
    deploy = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "deploy",
                          "cluster.example.toml")
    text = open(deploy).read()
    firm = text[text.index("[firm]"):text.index("[hosts.")]
    cluster.write_text(text.replace(firm, '[firm]\nname = "Example Securities LLC"\nimid = "EXSC"\ncrd = "123456"\n'
                                          'cat_submitter = "140000"\n\n'))
    assert report("cat", "--config", str(cluster)).returncode == 0
    assert report("606", "--config", str(cluster)).returncode == 0
    files = sorted(os.listdir(tmp_path / "out"))
    assert any(f.startswith("140000_EXSC_") and f.endswith(".json.bz2") for f in files)
    xml = next(f for f in files if f.startswith("606b3-"))
    assert "<bd>Example Securities LLC</bd>" in (tmp_path / "out" / xml).read_text()


def test_orders_from_a_broker_dealer_client_are_meoa_and_fill_or_kill_is_ioc_with_the_fok_instruction(tmp_path):
    """IM Technical Specifications 4.1.0: an order received from another Industry Member is an MEOA (receiverIMID,
    senderIMID, senderType F, routedOrderID: what the sender routed); FOK is timeInForce IOC with the FOK handling
    instruction. The sample reference data's CLIENT2 is an introducing broker (clients.csv broker_dealer, cat_imid)."""
    c = SimCluster(str(tmp_path / "meoa"), "refdata/sample", seed=6)
    c.inject("client", M.NewOrder("CLIENT1", "S0", "AAPL", "1", 100, "2", 1_000_000))
    c.run_until(c.at("09:31"))
    _, ask = c.oms.om.market.nbbo["AAPL"]
    c.inject("client", M.NewOrder("CLIENT2", "BD-1", "AAPL", "1", 500, "2", ask + 10 * 10_000))
    c.inject("client", M.NewOrder("CLIENT1", "FOK-1", "AAPL", "1", 10_000_000, "2", ask, "4"))
    c.inject("client", M.NewOrder("CLIENT1", "GTC-1", "AAPL", "1", 100, "2", ask, "1"))     # refused: GTC
    c.run_until(c.at("09:31:10"))
    path = log_path(str(tmp_path / "meoa"), c.log.trading_day)
    c.close()
    recs = cat.read(cat.write(DayLog(path), str(tmp_path / "out"), cat.CatFirm("140000", "EXSC", "123456"))[0])
    [meoa] = [r for r in recs if r["type"] == "MEOA"]
    assert (meoa["receiverIMID"], meoa["senderIMID"], meoa["senderType"], meoa["routedOrderID"]) == \
        ("123456:EXSC", "123456:SIBK", "F", "BD-1")
    assert "firmDesignatedID" not in meoa and meoa["deptType"] == "A"
    assert any(r["type"] == "MEOR" and r["orderID"] == meoa["orderID"] for r in recs)
    fok = next(r for r in recs if r["type"] == "MENO" and r["quantity"] == 10_000_000)
    assert fok["timeInForce"] == {"IOC": True} and fok["handlingInstructions"] == {"FOK": True}
    # the order the OMS refused on receipt was received: its MENO, and the firm's MEOC for all of it at once
    gtc = next(r for r in recs if r["type"] == "MENO" and r["timeInForce"] == {"GTC": True})
    [gone] = [r for r in recs if r["orderID"] == gtc["orderID"] and r["type"] != "MENO"]
    assert (gone["type"], gone["initiator"], gone["cancelQty"], gone["leavesQty"]) == ("MEOC", "F", 100, 0)
    assert gone["eventTimestamp"] == gtc["eventTimestamp"]
    from posttrade import catcheck
    assert catcheck.problems(recs) == []


def test_every_trade_through_is_in_the_csv_with_its_cause_and_the_desk_gets_orders_and_fills(reports):
    import csv
    log, out, files = reports
    from posttrade.activity import CAUSES, SWEEP, trade_throughs
    t = trade_throughs(log)
    rows = list(csv.DictReader(open(os.path.join(out, f"activity-outside-nbbo-{log.trading_day}.csv"))))
    assert len(rows) == len(t.found) and {r["cause"] for r in rows} <= set(CAUSES)
    for r in rows:                   # each really is worse than the other venues' quote it names, by what it says
        px, bid, ask = (float(r[k]) for k in ("px", "away_bid", "away_ask"))
        assert (bid and px < bid) or (ask and px > ask)
        assert abs(float(r["through_by"]) - (bid - px if bid and px < bid else px - ask)) < 1e-9
    # one process, every venue sees the others' quotes at once: nothing trades through but an order's own sweep
    assert t.checked > 1000 and {r["cause"] for r in rows} <= {SWEEP}
    text = open(files["activity"]).read()
    assert f"{len(t.found)} of {t.checked:,} venue fills" in text
    orders = list(csv.DictReader(open(os.path.join(out, f"orders-{log.trading_day}.csv"))))
    fills = list(csv.DictReader(open(os.path.join(out, f"fills-{log.trading_day}.csv"))))
    assert len(orders) == len(log.orders) and len(fills) == t.checked
    by_order = {}
    for f in fills:
        by_order[f["order_id"]] = by_order.get(f["order_id"], 0) + int(f["qty"])
    assert all(by_order.get(o["order_id"], 0) == int(o["cum_qty"]) for o in orders)

