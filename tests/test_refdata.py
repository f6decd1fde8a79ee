"""Reference data: the shipped sample, the volume curve's shape, errors naming file/line/column, extra tables, and
publication with a content hash."""
from __future__ import annotations

import shutil

import pytest

from refdata.load import load_dir
from refdata.publish import messages
from refdata.sample import write_sample
from refdata.tables import RefDataError
from sequencer import messages as M


@pytest.fixture
def sample(tmp_path):
    d = tmp_path / "rd"
    shutil.copytree("refdata/sample", d)
    return d


def test_the_shipped_sample_is_what_the_generator_writes(tmp_path):
    write_sample(str(tmp_path))
    for f in ("securities.csv", "venues.csv", "symbol_stats.csv", "volume_curves.csv", "borrow.csv", "clients.csv"):
        assert (tmp_path / f).read_bytes() == open(f"refdata/sample/{f}", "rb").read(), f


def test_sample_never_overwrites_without_force_and_check_wants_the_clients_table(tmp_path):
    import subprocess
    import sys
    out = tmp_path / "rd"
    run = lambda *a: subprocess.run([sys.executable, "-m", "seqtrade", "refdata", *a], capture_output=True,  # noqa
                                    text=True, timeout=60)
    assert run("sample", "--out", str(out)).returncode == 0
    (out / "securities.csv").write_text((out / "securities.csv").read_text() + "# my edit\n")
    again = run("sample", "--out", str(out))
    assert again.returncode == 2 and "--force" in again.stderr and "my edit" in (out / "securities.csv").read_text()
    assert run("sample", "--out", str(out), "--force").returncode == 0
    assert run("check", str(out)).returncode == 0
    clients = (out / "clients.csv").read_text()
    (out / "clients.csv").write_text(clients.replace("123456:SIBK", "SIBK"))      # a broker-dealer without its CRD
    bad = run("check", str(out))
    assert bad.returncode == 2 and "line 3: client CLIENT2 is a broker-dealer: cat_imid must be its CRD:IMID" in \
        bad.stderr
    (out / "clients.csv").write_text(clients.replace("FDID-C1-0001", ""))          # a customer without its FDID
    bad = run("check", str(out))
    assert bad.returncode == 2 and "line 2: client CLIENT1 needs its fdid" in bad.stderr
    (out / "clients.csv").unlink()
    no_clients = run("check", str(out))
    assert no_clients.returncode == 2 and "clients.csv" in no_clients.stderr


def test_volume_curve_is_u_shaped_like_us_equities(sample):
    rd = load_dir(str(sample))
    for c in rd.curves.values():
        assert 1100 <= sum(c.weights_bp[:6]) <= 1200       # ~11-12% in the first 30 minutes
        assert c.close_auction_bp == 1000                   # ~10% in the closing auction
        mid = min(c.weights_bp)
        assert c.weights_bp[0] > 2 * mid and c.weights_bp[-1] > 1.3 * mid
        assert sum(c.weights_bp) + c.close_auction_bp == 10_000 and c.bin_s == 300


@pytest.mark.parametrize("file,find,replace,where", [
    ("securities.csv", ",1,0.01,", ",x,0.01,", "securities.csv:2: column 4 (lot_size): 'x' is not a whole number"),
    ("securities.csv", ",1,0.01,", ",1,0.0001234,", "securities.csv:2: column 5 (tick): '0.0001234' is not a decimal"),
    ("securities.csv", "symbol,name", "sym,name", "securities.csv:1: header must be symbol,name"),
    ("symbol_stats.csv", "AAPL,", "ZZZZ,", "symbol_stats.csv:2: column 1 (symbol): 'ZZZZ' is not in securities.csv"),
    ("venues.csv", "S1;S2", "", "venues.csv:2: column 7 (sessions): list at least one session"),
    ("volume_curves.csv", "*,09:30,", "*,09:31,", "volume_curves.csv:4: column 2 (bin_start): curve *: bins must "
                                                  "be 5 or 30 minutes wide, not 4"),
    ("volume_curves.csv", "*,10:00,", "*,10:01,", "volume_curves.csv:9: column 2 (bin_start): curve *: bin does "
                                                  "not follow"),
    ("borrow.csv", "borrow_rate_bp:int", "borrow_rate_bp:float", "borrow.csv:1: column 3 (borrow_rate_bp): unknown "
                                                                "type 'float'"),
])
def test_errors_name_file_line_and_column(sample, file, find, replace, where):
    p = sample / file
    p.write_text(p.read_text().replace(find, replace, 1))
    with pytest.raises(RefDataError) as e:
        load_dir(str(sample))
    assert str(e.value).startswith(str(sample / where.split(":")[0])) and where.split(":", 1)[1] in str(e.value)


def test_curve_weights_must_sum_to_the_whole_day(sample):
    p = sample / "volume_curves.csv"
    p.write_text(p.read_text().replace("*,CLOSE,1000", "*,CLOSE,999"))
    with pytest.raises(RefDataError, match=r"volume_curves.csv:3: column 3 \(weight_bp\): curve \*: weights sum to "
                                           r"9999 bp"):
        load_dir(str(sample))


def test_a_missing_required_file_is_named(sample):
    (sample / "venues.csv").unlink()
    with pytest.raises(RefDataError, match="venues.csv: required file is missing"):
        load_dir(str(sample))


def test_any_extra_table_loads_typed_and_is_published(sample):
    (sample / "desks.csv").write_text("desk:str,max_notional:px,active:bool,opens:time\nEQ1,1000000.50,Y,09:15\n")
    rd = load_dir(str(sample))
    msgs = messages(rd)
    (t,) = [m for m in msgs if isinstance(m, M.RefTable) and m.name == "desks"]
    assert t.rows == [["EQ1", 1_000_000_500_000, True, 33_300]]
    assert t.types == ["str", "px", "bool", "time"]


def test_publication_ends_with_the_content_hash_and_changes_with_any_file(sample):
    first = messages(load_dir(str(sample)))
    ready = first[-1]
    assert isinstance(ready, M.RefDataReady) and ready.securities == 8 and ready.venues == 3
    assert [type(m).__name__ for m in first[:8]] == ["Security"] * 8
    p = sample / "symbol_stats.csv"
    p.write_text(p.read_text() + "\n")
    assert messages(load_dir(str(sample)))[-1].content_hash != ready.content_hash
    for m in first:  # every message survives the wire format
        assert M.decode(M.encode(m)) == m
