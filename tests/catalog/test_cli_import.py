"""What `ravebear catalog import` and `import-sample` tell a user about bad files, odd time formats and bad catalog folders."""

import os
import stat

import pandas as pd
import pytest

from ravebear.catalog.store import RaveCatalog
from tests.conftest import OKX_BTC
from tests.platform.test_backtest import ravebear

BAR_TYPE = "BTC-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL"


@pytest.fixture(scope="module")
def source() -> pd.DataFrame:
    """The first 300 real OKX candles of the sample."""
    return pd.read_parquet(OKX_BTC).iloc[:300].reset_index(drop=True)


def stored_times(catalog) -> list[int]:
    return RaveCatalog(catalog).stored_open_times(BAR_TYPE).tolist()


def test_empty_and_binary_files_are_named_and_the_later_files_still_import(tmp_path, source):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    binary = tmp_path / "binary.parquet"
    binary.write_bytes(os.urandom(4096))
    first, second = tmp_path / "first.csv", tmp_path / "second.parquet"
    source.iloc[:100].to_csv(first, index=False)
    source.iloc[100:].to_parquet(second)
    catalog = tmp_path / "cat"
    done = ravebear("catalog", "import", str(empty), str(first), str(binary), str(second), "-i", "BTC-USDT-SWAP", "--catalog", str(catalog))
    assert done.returncode == 1
    errors = done.stderr.strip().splitlines()
    assert errors[0] == f"error: {empty}: empty file (0 bytes)"
    assert errors[1].startswith(f"error: {binary}: not a readable Parquet file (")
    assert errors[2] == f"error: nothing valid imported from {empty}, {binary} (2 other file(s) imported)"
    assert len(errors) == 3 and "Traceback" not in done.stderr
    assert f"{first}: 100 rows, 100 valid, 0 rejected; 100 bars written" in done.stdout
    assert f"{second}: 200 rows, 200 valid, 0 rejected; 200 bars written" in done.stdout
    assert stored_times(catalog) == source["ts"].tolist()


def test_a_newest_first_file_is_sorted_and_fully_imported(tmp_path, source):
    path = tmp_path / "newest_first.csv"
    source.iloc[::-1].to_csv(path, index=False)
    catalog = tmp_path / "cat"
    done = ravebear("catalog", "import", str(path), "-i", "BTC-USDT-SWAP", "--catalog", str(catalog))
    assert done.returncode == 0, done.stderr
    assert "300 rows, 300 valid, 0 rejected; 300 bars written" in done.stdout
    assert "  rows were not in time order (newest first); sorted by time" in done.stdout
    assert stored_times(catalog) == source["ts"].tolist()


def test_seconds_and_iso_text_times_are_read_and_said(tmp_path, source):
    seconds = tmp_path / "seconds.csv"
    source.iloc[:150].assign(ts=source["ts"].iloc[:150] // 1000).to_csv(seconds, index=False)
    iso = tmp_path / "iso.csv"
    stamps = pd.to_datetime(source["ts"].iloc[150:], unit="ms", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    source.iloc[150:].assign(ts=stamps).to_csv(iso, index=False)
    catalog = tmp_path / "cat"
    done = ravebear("catalog", "import", str(seconds), str(iso), "-i", "BTC-USDT-SWAP", "--catalog", str(catalog))
    assert done.returncode == 0, done.stderr
    assert "  ts read as epoch seconds (by magnitude) and converted to milliseconds" in done.stdout
    assert "  ts read as ISO-8601 text in 150 rows (UTC unless they carry an offset)" in done.stdout
    assert "off the grid" not in done.stdout and "rejected row" not in done.stdout
    assert stored_times(catalog) == source["ts"].tolist()
    first = RaveCatalog(catalog).bars(BAR_TYPE)[0]
    assert first.ts_event == (int(source["ts"].iloc[0]) + 60_000) * 1_000_000  # stamped at the close, in 2026
    assert first.close.as_double() == source["close"].iloc[0]


def test_nothing_valid_imported_exits_1(tmp_path, source):
    path = tmp_path / "all_bad.csv"
    source.iloc[:5].assign(high=1.0).to_csv(path, index=False)
    done = ravebear("catalog", "import", str(path), "-i", "BTC-USDT-SWAP", "--catalog", str(tmp_path / "cat"))
    assert done.returncode == 1
    assert "5 rows, 0 valid, 5 rejected; 0 bars written" in done.stdout
    assert done.stderr.strip() == f"error: nothing valid imported from {path}"


def test_a_header_only_file_exits_1_and_names_the_file(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("ts,open,high,low,close,volume\n")
    done = ravebear("catalog", "import", str(path), "-i", "BTC-USDT-SWAP", "--catalog", str(tmp_path / "cat"))
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: nothing valid imported from {path}"


def unwritable_catalogs(tmp_path):
    """Catalog folders that cannot be written: under a file (fails even for root), and a read-only folder (not for root)."""
    a_file = tmp_path / "notes.txt"
    a_file.write_text("a file, not a folder")
    cases = [(a_file / "sub", f"{a_file} is a file, not a folder")]
    if os.geteuid() != 0:  # root ignores permission bits
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(stat.S_IRUSR | stat.S_IXUSR)  # 0o500
        cases.append((locked / "catalog", "Permission denied"))
        cases.append((locked, "Permission denied"))
    return cases


@pytest.mark.parametrize("verb", ["import", "import-sample"])
def test_an_unwritable_catalog_is_refused_before_any_work(tmp_path, source, verb):
    candles = tmp_path / "candles.csv"
    source.to_csv(candles, index=False)
    for catalog, reason in unwritable_catalogs(tmp_path):
        args = ["catalog", verb, *([str(candles), "-i", "BTC-USDT-SWAP"] if verb == "import" else []), "--catalog", str(catalog)]
        done = ravebear(*args)
        assert done.returncode == 2, (catalog, done.stderr)
        assert done.stderr.strip() == f"error: --catalog: cannot write to the catalog folder {catalog}: {reason}"
        assert done.stdout == ""  # nothing was read or imported first


# Every other verb that stores into the catalog checks the folder first too. The URLs point at a port
# where nothing listens: a verb that reached the network before checking would print a fetch error instead.
STORING_VERBS = {
    "download": ["catalog", "download", "BTC-USDT-SWAP", "--since", "2026-08-01", "--url", "http://127.0.0.1:9", "--no-progress"],
    "instrument add": ["catalog", "instrument", "add", "OKX:DOGE-USDT-SWAP", "--url", "http://127.0.0.1:9"],
    "download stablecoins": ["catalog", "download", "stablecoins", "--url", "http://127.0.0.1:9", "--no-dominance", "--no-progress"],
}


@pytest.mark.parametrize("verb", sorted(STORING_VERBS))
def test_verbs_that_store_refuse_an_unwritable_catalog_before_fetching(tmp_path, verb):
    for catalog, reason in unwritable_catalogs(tmp_path):
        done = ravebear(*STORING_VERBS[verb], "--catalog", str(catalog))
        assert done.returncode == 2, (catalog, done.stdout, done.stderr)
        assert done.stderr.strip() == f"error: --catalog: cannot write to the catalog folder {catalog}: {reason}"


def test_download_with_a_date_it_cannot_read_names_the_option(tmp_path):
    done = ravebear("catalog", "download", "BTC-USDT-SWAP", "--since", "yesterday", "--catalog", str(tmp_path / "cat"))
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: --since 'yesterday': expected an ISO date")
