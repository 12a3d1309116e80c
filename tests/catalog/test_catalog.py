"""Catalog round trip on real OKX data, idempotent re-import, appends and hole filling."""

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from ravebear.catalog.store import RaveCatalog
from tests.conftest import FIXTURES, OKX_BTC

BAR_TYPE = "BTC-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL"


def snapshot(root: Path) -> dict[str, str]:
    """Hash every file under the catalog."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_round_trip_keeps_every_real_value_and_stamps_bars_at_close(catalog, okx_btc_raw):
    result = catalog.import_file(OKX_BTC, "BTC-USDT-SWAP")
    assert result.written == len(okx_btc_raw) == 26_408
    bars = catalog.bars(BAR_TYPE)
    assert len(bars) == len(okx_btc_raw)
    stored = pd.DataFrame(
        {
            "ts_event": [b.ts_event for b in bars],
            "open": [b.open.as_double() for b in bars],
            "high": [b.high.as_double() for b in bars],
            "low": [b.low.as_double() for b in bars],
            "close": [b.close.as_double() for b in bars],
            "volume": [b.volume.as_double() for b in bars],
        },
    )
    # ts is the candle open; a bar is stamped one minute later, when the candle has closed
    assert (stored["ts_event"].to_numpy() == (okx_btc_raw["ts"].to_numpy() + 60_000) * 1_000_000).all()
    for column in ("open", "high", "low", "close"):
        assert np.allclose(stored[column], okx_btc_raw[column], rtol=0, atol=1e-9)
    assert np.allclose(stored["volume"], okx_btc_raw["volume_contracts"], atol=1e-9)  # contracts
    assert catalog.instrument_ids() == ["BTC-USDT-SWAP.OKX"]


def test_importing_the_same_file_twice_leaves_the_catalog_unchanged(catalog):
    catalog.import_file(OKX_BTC, "BTC-USDT-SWAP")
    before = snapshot(catalog.path)
    again = catalog.import_file(OKX_BTC, "BTC-USDT-SWAP")
    assert again.written == 0 and again.already_stored == 26_408 and again.conflicts == []
    assert snapshot(catalog.path) == before


def test_later_range_appends_and_a_middle_range_fills_the_hole(catalog, okx_btc):
    first, middle, last = okx_btc.iloc[:5_000], okx_btc.iloc[5_000:9_000], okx_btc.iloc[9_000:]
    assert catalog.import_candles(first, "BTC-USDT-SWAP").written == 5_000
    assert catalog.import_candles(last, "BTC-USDT-SWAP").written == len(last)
    summary = catalog.summary()[0]
    assert summary.rows == len(first) + len(last)
    hole = [g for g in summary.gaps if g.first_missing == middle["ts"].iloc[0]]
    assert hole, "the unimported middle shows up as a gap"

    # an import overlapping both ends writes only the missing middle
    overlapping = okx_btc.iloc[4_000:10_000]
    result = catalog.import_candles(overlapping, "BTC-USDT-SWAP")
    assert result.written == 4_000 and result.already_stored == 2_000
    summary = catalog.summary()[0]
    assert summary.rows == len(okx_btc)
    assert len(summary.gaps) == 62  # exactly the source's own gaps again
    times = catalog.stored_open_times(BAR_TYPE)
    assert (times == okx_btc["ts"].to_numpy()).all()


def test_conflicting_values_keep_the_stored_bar_and_are_reported(catalog, okx_btc):
    catalog.import_candles(okx_btc.iloc[:100], "BTC-USDT-SWAP")
    changed = okx_btc.iloc[:100].copy()
    changed.loc[10, ["close", "high"]] = changed.loc[10, "high"] + 50.0
    changed.loc[20, "low"] = changed.loc[20, "low"] - 0.1  # one tick: still a different candle
    result = catalog.import_candles(changed, "BTC-USDT-SWAP")
    assert result.written == 0
    assert result.conflicts == [int(okx_btc["ts"].iloc[10]), int(okx_btc["ts"].iloc[20])]
    assert str(catalog.bars(BAR_TYPE)[10].close) == f"{okx_btc['close'].iloc[10]:.1f}"


def test_okx_json_import_stores_contract_volume(catalog):
    result = catalog.import_file(FIXTURES / "okx_http_get_candlesticks_full.json", "BTC-USDT-SWAP")
    assert result.written == 2
    bars = catalog.bars(BAR_TYPE)
    assert [b.volume.as_double() for b in bars] == [7164.04, 1040.37]
    assert bars[0].ts_event == (1747093980000 + 60_000) * 1_000_000


def test_base_volume_without_contracts_is_converted_by_the_multiplier(catalog, okx_btc):
    frame = okx_btc.iloc[:20].drop(columns=["volume_contracts"])
    catalog.import_candles(frame, "BTC-USDT-SWAP")
    volumes = [b.volume.as_double() for b in catalog.bars(BAR_TYPE)]
    assert np.allclose(volumes, frame["volume"].to_numpy() / 0.01, atol=0.006)


def test_rejected_rows_do_not_reach_the_catalog(catalog, okx_btc):
    frame = okx_btc.iloc[:300].copy()
    frame.loc[100, "high"] = 1.0
    result = catalog.import_candles(frame, "BTC-USDT-SWAP")
    assert result.written == 299 and len(result.report.rejections) == 1
    assert int(okx_btc["ts"].iloc[100]) not in set(catalog.stored_open_times(BAR_TYPE))


def test_default_catalog_path_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RAVEBEAR_CATALOG", str(tmp_path / "elsewhere"))
    assert RaveCatalog().path == tmp_path / "elsewhere"
    monkeypatch.delenv("RAVEBEAR_CATALOG")
    assert RaveCatalog().path == Path("var/catalog")


def test_filling_a_hole_inside_one_file_rewrites_it_under_the_same_name(catalog, okx_btc):
    holed = okx_btc.drop(index=range(1_000, 1_200))
    catalog.import_candles(holed, "BTC-USDT-SWAP")
    (before,) = catalog._bar_dir(BAR_TYPE).glob("*.parquet")
    result = catalog.import_candles(okx_btc.iloc[900:1_300], "BTC-USDT-SWAP")
    assert result.written == 200 and result.already_stored == 200
    assert list(catalog._bar_dir(BAR_TYPE).glob("*.parquet")) == [before]  # same interval, same name, replaced in place
    assert (catalog.stored_open_times(BAR_TYPE) == okx_btc["ts"].to_numpy()).all()
    assert not list((catalog.path / ".staging").iterdir())
