"""Real Binance USD-M BTCUSDT 1-minute bars and their settled 8-hourly funding in a catalog (FundingRate custom data)."""

from pathlib import Path

import pandas as pd

from ravebear.catalog.alt_data.store import AltDataStore
from ravebear.catalog.alt_data.types import FundingRate
from ravebear.catalog.instruments import instrument_for
from ravebear.catalog.store import RaveCatalog
from tests.shared_data import SHARED

BARS = SHARED / "ohlcv_1m" / "binance_usdm_BTCUSDT_1m_20250504_20250624.parquet"
RATES = SHARED / "funding_oi" / "binance_usdm_BTCUSDT_funding_8h.parquet"
BTC = "BTCUSDT-PERP.BINANCE"
AVAILABLE = BARS.exists() and RATES.exists()


def settled_rates() -> pd.DataFrame:
    """The settled rates by `ts_ns` (Binance's few ms of settlement jitter dropped)."""
    frame = pd.read_parquet(RATES)
    frame["ts_ns"] = (frame["ts"] // 1000 * 1000).astype("int64") * 1_000_000
    return frame.sort_values("ts_ns")[["ts_ns", "funding_rate"]]


def funding_catalog(folder: Path) -> tuple[RaveCatalog, pd.DataFrame]:
    """A catalog in `folder` holding the BTC bars and every settled rate as FundingRate; returns it and the rates."""
    catalog = RaveCatalog(folder / "catalog")
    catalog.import_file(BARS, instrument_for(BTC))
    rates = settled_rates()
    instrument_id = instrument_for(BTC).id
    AltDataStore(catalog).write([
        FundingRate(instrument_id=instrument_id, symbol="BTCUSDT", open=r, high=r, low=r, close=r, predicted=False, interval_s=0, ts_event=int(ts), ts_init=int(ts))
        for ts, r in zip(rates["ts_ns"], rates["funding_rate"], strict=True)
    ])  # fmt: skip
    return catalog, rates
