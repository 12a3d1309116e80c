"""The entry filter's oi_change condition inside a real backtest: OKX BTC swap bars with real OKX open interest.

The strategy feeds every base candle's close to the filter, so the condition compares the OI change of the window
with the price move of the same window. (Until issue 12 the strategy never gave the filter a price: oi_change read
"no price" for every entry, and with `missing_data: block` nothing ever traded.)

Data: the bundled OKX BTC-USDT-SWAP candles (2026-07-27 ..) and the real OKX BTC-USDT-SWAP open interest of
../shared/data/funding_oi (2025-08-29 .. 2025-09-06: bursts every ~20 minutes, and the collector off ~8 h a day),
re-stamped with the same spacing to start at 08:00 of the candles' first day, so its daily pause falls outside the
hours the strategy trades most: real OI moves against real price moves, not of the same days.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ravebear.catalog.alt_data.store import AltDataStore
from ravebear.catalog.alt_data.types import OpenInterest
from ravebear.catalog.instruments import instrument_for
from ravebear.catalog.store import RaveCatalog
from ravebear.platform.nodes.backtest import run_backtest
from ravebear.platform.nodes.run_file import parse_run_file
from tests.shared_data import SHARED

REPO = Path(__file__).resolve().parents[2]
OI_FILE = SHARED / "funding_oi" / "okx_swap_open_interest_BTC_ETH_SOL_20250829_20250906.parquet"
BARS = REPO / "data" / "sample" / "okx_swap_BTC-USDT-SWAP_1m_20260727_20260822_gappy.parquet"
START = pd.Timestamp("2026-07-27 08:00", tz="UTC")  # the OI series' first row; the candles start at 12:20
LOOKBACK_H = 4.0
SURGE_PCT = 1.0  # OI up more than 1 % in 4 h: a surge (real BTC OI does it in ~20 % of 4-hour windows here)

pytestmark = pytest.mark.skipif(not OI_FILE.exists(), reason=f"shared data not found under {SHARED}")


def open_interest() -> pd.DataFrame:
    """The real BTC OI rows, re-stamped to start at START (ns), in time order."""
    frame = pd.read_parquet(OI_FILE)
    frame = frame[frame["inst_id"] == "BTC-USDT-SWAP"].sort_values("ts")
    ts_ns = (frame["ts"].to_numpy() - frame["ts"].iloc[0]) * 1_000_000 + START.value
    return pd.DataFrame({"ts_ns": ts_ns.astype("int64"), "oi": frame["oi_ccy"].to_numpy()})


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("oi")
    catalog = RaveCatalog(root / "catalog")
    catalog.import_file(BARS, instrument_for("BTC-USDT-SWAP"))
    rows = open_interest()
    instrument_id = instrument_for("BTC-USDT-SWAP").id
    AltDataStore(catalog).write([
        OpenInterest(instrument_id=instrument_id, symbol="BTC-USDT-SWAP", open=oi, high=oi, low=oi, close=oi, usd=False, interval_s=0,
                     ts_event=int(ts), ts_init=int(ts))
        for ts, oi in zip(rows["ts_ns"], rows["oi"], strict=True)
    ])  # fmt: skip
    raw = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    raw["run"].update(name="oi", tearsheet=False, risk_report=False)
    raw["data"] = [{"instrument_id": "BTC-USDT-SWAP.OKX", "start": "2026-07-27", "end": "2026-08-05"}]
    raw["alt_data"] = {"types": ["OpenInterest"]}  # the composer routes it to the strategy: no alt_data_client needed
    raw["risk"].update(daily_loss_limit_pct=0, max_drawdown_pct=0)  # keep trading the whole window
    strategy = raw["strategies"][0]
    strategy["instruments"] = {"BTC-USDT-SWAP.OKX": {}}
    strategy["config"]["entry_filter"] = {"conditions": ["oi_change"], "oi_lookback_h": LOOKBACK_H, "oi_max_change_pct": SURGE_PCT, "missing_data": "block"}
    text = yaml.safe_dump(raw)
    return run_backtest(parse_run_file(text, "oi.yaml"), text, catalog, root / "runs").run.path


def latest(ts: np.ndarray, values: np.ndarray, at_ns: int) -> float | None:
    index = np.searchsorted(ts, at_ns, side="right") - 1
    return float(values[index]) if index >= 0 else None


def test_oi_change_decides_on_real_figures_never_for_lack_of_a_price(run):
    events = pd.read_csv(run / "guard_events.csv")
    refused = events[events["guard"] == "entry_filter"]
    warmed_up = refused[pd.to_datetime(refused["ts"]) >= pd.Timestamp("2026-07-27 12:20", tz="UTC") + pd.Timedelta(hours=LOOKBACK_H)]
    assert len(warmed_up) >= 3 and not warmed_up["detail"].str.contains("no price").any()  # the strategy feeds its closes to the filter
    surges = refused[refused["detail"].str.contains("surge above")]
    assert len(surges) >= 3
    rows = open_interest()
    ts, oi = rows["ts_ns"].to_numpy(), rows["oi"].to_numpy()
    for _, event in surges.iterrows():
        at = pd.Timestamp(event["ts"]).value
        now, start = latest(ts, oi, at), latest(ts, oi, at - int(LOOKBACK_H * 3600e9))
        change = (now / start - 1) * 100
        shown = float(event["detail"].split("OI ")[1].split(" %")[0])
        price_move = float(event["detail"].split("with price ")[1].split(" %")[0])
        assert shown == pytest.approx(change, abs=0.006) and change > SURGE_PCT, event["detail"]
        long = "blocked long" in event["detail"]
        assert (price_move < 0) if long else (price_move > 0), event["detail"]  # a surge against the trade's side


def test_entries_go_through_where_oi_does_not_surge_against_them(run):
    orders = pd.read_csv(run / "orders.csv")
    entries = orders[(orders["type"] == "MARKET") & orders["order_list_id"].notna() & (orders["status"] == "FILLED")]
    assert len(entries) >= 3
    rows = open_interest()
    ts, oi = rows["ts_ns"].to_numpy(), rows["oi"].to_numpy()
    for _, entry in entries.iterrows():
        at = int(entry["ts_init"])
        now, start = latest(ts, oi, at), latest(ts, oi, at - int(LOOKBACK_H * 3600e9))
        assert now is not None and start is not None  # missing data blocks: an entry had both ends of the window
