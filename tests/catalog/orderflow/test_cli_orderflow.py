"""What `ravebear catalog import-orderflow` and `catalog list` tell a user, and their exit codes."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.catalog.orderflow.captures import slice_capture
from tests.platform.test_backtest import ravebear


@pytest.fixture(scope="module")
def spot(tmp_path_factory) -> dict:
    return slice_capture("spot", tmp_path_factory.mktemp("spot") / "src", seconds=5)


def test_a_whole_capture_imports_with_one_line_per_file_and_lists(tmp_path, spot):
    catalog = tmp_path / "cat"
    files = [str(spot[kind]) for kind in ("trades", "bookticker", "depthdiff", "depthsnap")]
    done = ravebear("catalog", "import-orderflow", *files, "--catalog", str(catalog))
    assert done.returncode == 0, done.stderr
    trades, quotes = pd.read_parquet(spot["trades"]), pd.read_parquet(spot["bookticker"])
    assert f"{spot['trades']}: trades, {len(trades)} rows, {len(trades)} valid, 0 rejected; {len(trades)} trades written, 0 already stored -> BTCUSDT.BINANCE" in done.stdout
    assert f"{spot['bookticker']}: bookticker, {len(quotes)} rows, {len(quotes)} valid, 0 rejected; {len(quotes)} quotes written" in done.stdout
    assert "  synced on snapshot lastUpdateId 50093239218 (spot: U = previous u + 1): " in done.stdout
    assert "depthsnap" not in done.stdout  # read with its diffs, no line of its own
    again = ravebear("catalog", "import-orderflow", *files, "--catalog", str(catalog))
    assert again.returncode == 0 and f"0 trades written, {len(trades)} already stored" in again.stdout
    listed = ravebear("catalog", "list", "--catalog", str(catalog))
    assert listed.returncode == 0, listed.stderr
    assert f"trades BTCUSDT.BINANCE: {len(trades):,} rows, " in listed.stdout
    assert f"quotes BTCUSDT.BINANCE: {len(quotes):,} rows, " in listed.stdout
    assert "book deltas BTCUSDT.BINANCE: " in listed.stdout


def test_a_file_that_is_not_a_capture_is_named_and_the_others_still_import(tmp_path, spot):
    other = tmp_path / "binance_spot_BTCUSDT_20240808T2354Z_x.parquet"
    pd.DataFrame({"ts": [1], "open": [1.0]}).to_parquet(other)
    done = ravebear("catalog", "import-orderflow", str(other), str(spot["trades"]), "--catalog", str(tmp_path / "cat"))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"error: {other}: not a Binance, Tardis (trades, incremental_book_L2, book_snapshot_*) or Hyperliquid capture (columns: ts, open)",
        f"error: nothing valid imported from {other} (1 other file(s) imported)",
    ]
    assert "trades written" in done.stdout


def test_an_unknown_instrument_is_bad_usage(tmp_path, spot):
    renamed = tmp_path / "trades.parquet"
    renamed.write_bytes(spot["trades"].read_bytes())
    done = ravebear("catalog", "import-orderflow", str(renamed), "--catalog", str(tmp_path / "cat"))
    assert (done.returncode, done.stderr.strip()) == (2, f"error: {renamed}: cannot tell the instrument from the file name; give it with -i (e.g. -i BTCUSDT.BINANCE)")
    given = ravebear("catalog", "import-orderflow", str(renamed), "-i", "BTCUSDT.BINANCE", "--catalog", str(tmp_path / "cat"))
    assert given.returncode == 0, given.stderr


def test_depth_diffs_without_their_snapshot_fail_with_one_line(tmp_path, spot):
    alone = tmp_path / spot["depthdiff"].name
    alone.write_bytes(spot["depthdiff"].read_bytes())
    done = ravebear("catalog", "import-orderflow", str(alone), "--catalog", str(tmp_path / "cat"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        f"error: {alone}: a depth-diff capture needs its REST snapshot "
        f"({alone.name.replace('_depthdiff', '_depthsnap')} beside it or on the command line) to rebuild the book"
    )
