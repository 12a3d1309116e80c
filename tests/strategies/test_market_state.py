"""EntryFilter.market_state: the figures the data conditions read, as the ledger records them at a touch,
checked against a brute-force reading of real funding and open-interest rows and hand-built whale flows."""

from __future__ import annotations

import pandas as pd
import pytest
from nautilus_trader.model.identifiers import InstrumentId

from ravebear.catalog.alt_data.types import FundingRate, OpenInterest
from ravebear.strategies.entry_filter import EntryFilter, EntryFilterConfig
from tests.shared_data import SHARED
from tests.strategies.test_entry_filter import BTC, H, ratio, whale

ALL_DATA = ("usdt_dominance", "whale_flow", "oi_change", "funding", "crowding")
FUNDING = SHARED / "funding_oi" / "binance_usdm_BTCUSDT_funding_8h.parquet"
OI = SHARED / "funding_oi" / "okx_swap_open_interest_BTC_ETH_SOL_20250829_20250906.parquet"


def _filter(**changes) -> EntryFilter:
    return EntryFilter(EntryFilterConfig(conditions=ALL_DATA, missing_data="pass", **{"max_data_age_h": 0, **changes}))


@pytest.mark.skipif(not FUNDING.exists() or not OI.exists(), reason="shared funding/OI data not found")
def test_funding_and_open_interest_equal_a_brute_force_reading_of_the_real_rows() -> None:
    entry_filter = _filter(oi_lookback_h=4.0)
    instrument = InstrumentId.from_str(BTC)
    rates = pd.read_parquet(FUNDING).sort_values("ts").head(200)
    oi = pd.read_parquet(OI)
    oi = oi[oi["inst_id"] == "BTC-USDT-SWAP"].sort_values("ts")
    for row in rates.itertuples():
        ts = int(row.ts) * 1_000_000
        entry_filter.on_data(FundingRate(instrument_id=instrument, open=row.funding_rate, high=row.funding_rate, low=row.funding_rate,
                                         close=row.funding_rate, interval_s=28_800, ts_event=ts, ts_init=ts))
    last_funding_ts = int(rates["ts"].iloc[-1]) * 1_000_000
    assert entry_filter.market_state(last_funding_ts + 1, BTC)["funding_rate"] == rates["funding_rate"].iloc[-1]
    checked = 0
    for row in oi.itertuples():
        ts = int(row.ts) * 1_000_000
        entry_filter.on_data(OpenInterest(instrument_id=instrument, open=row.oi_ccy, high=row.oi_ccy, low=row.oi_ccy, close=row.oi_ccy,
                                          usd=False, ts_event=ts, ts_init=ts))
        state = entry_filter.market_state(ts, BTC)
        before = oi[(oi["ts"] * 1_000_000) <= ts - 4 * H]
        assert state["open_interest"] == row.oi_ccy
        if before.empty:
            assert state["open_interest_change_pct"] is None
        else:
            assert state["open_interest_change_pct"] == pytest.approx((row.oi_ccy / before["oi_ccy"].iloc[-1] - 1) * 100)
            checked += 1
    assert checked > 1000


def test_whale_flow_ratio_and_stale_data() -> None:
    entry_filter = _filter(whale_window_h=6.0, max_data_age_h=24.0)
    assert set(entry_filter.market_state(0, BTC).values()) == {None}
    for item in (whale(1, 3e6, "exchange_inflow"), whale(2, 1e6, "exchange_outflow"), whale(3, 2e6, "exchange_inflow", symbol="usdt"), ratio(3, 1.8)):
        entry_filter.on_data(item)
    state = entry_filter.market_state(int(4 * H), BTC)
    assert state["whale_flow_usd"] == 3e6 - 1e6 - 2e6 and state["long_short_ratio"] == 1.8  # stablecoins toward exchanges: buying power
    assert entry_filter.market_state(int(7.5 * H), BTC)["whale_flow_usd"] == -1e6 - 2e6  # the 1 h inflow left the 6 h window
    assert entry_filter.market_state(int(28 * H), BTC)["long_short_ratio"] is None  # older than max_data_age_h
