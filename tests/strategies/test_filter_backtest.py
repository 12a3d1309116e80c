"""The entry filter and funding inside a real backtest: Binance USD-M BTC bars with Binance's real funding rates.

Funding rates go into the catalog as FundingRate custom data; the backtest replays them to the
strategy (alt_data) and charges them (funding.from_catalog). Every entry the funding condition
refused must have had a latest settled rate beyond the threshold, every trade that went through
must not have, and the funding paid must follow the positions.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ravebear.platform.nodes.backtest import run_backtest
from ravebear.platform.nodes.run_file import parse_run_file
from tests.shared_data import SHARED
from tests.strategies.binance_funding import AVAILABLE, BTC, funding_catalog, settled_rates

REPO = Path(__file__).resolve().parents[2]
THRESHOLD = 0.00005  # 0.005 % per 8 h: BTC funding in May 2025 sits on both sides of it

pytestmark = pytest.mark.skipif(not AVAILABLE, reason=f"shared data not found under {SHARED}")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("filter")
    catalog, rates = funding_catalog(root)
    raw = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    raw["run"].update(name="filter", tearsheet=False, risk_report=True)
    raw["venue"]["name"] = "BINANCE"
    raw["data"] = [{"instrument_id": BTC, "start": "2025-05-05", "end": "2025-05-19"}]
    raw["alt_data"] = {"types": ["FundingRate"], "client_id": "ALTDATA"}
    raw["funding"] = {"from_catalog": True}
    raw["risk"].update(daily_loss_limit_pct=0, max_drawdown_pct=0)  # keep trading the whole window
    strategy = raw["strategies"][0]
    strategy["instruments"] = {BTC: {}}
    strategy["config"].update(
        alt_data_client="ALTDATA",
        entry_filter={"conditions": ["funding"], "funding_max_abs": THRESHOLD, "missing_data": "block", "max_data_age_h": 9},
    )
    text = yaml.safe_dump(raw)
    return run_backtest(parse_run_file(text, "filter.yaml"), text, catalog, root / "runs").run.path


def latest_rate(rates: pd.DataFrame, ts_ns: int) -> float:
    index = np.searchsorted(rates["ts_ns"].to_numpy(), ts_ns, side="right") - 1
    return float(rates["funding_rate"].iloc[index])


def test_every_refusal_by_the_funding_condition_had_funding_beyond_the_threshold(run):
    rates = settled_rates()
    events = pd.read_csv(run / "guard_events.csv")
    refused = events[events["guard"] == "entry_filter"]
    assert len(refused) >= 5
    for _, event in refused.iterrows():
        ts = pd.Timestamp(event["ts"]).value
        rate = latest_rate(rates, ts)
        long = "support" in event["detail"]  # the wick strategy's long signals come from supports
        assert (rate > THRESHOLD) if long else (rate < -THRESHOLD), (event["detail"], rate)


def test_no_trade_went_through_against_crowded_funding(run):
    rates = settled_rates()
    orders = pd.read_csv(run / "orders.csv")
    entries = orders[(orders["type"] == "MARKET") & orders["order_list_id"].notna() & (orders["status"] == "FILLED")]
    assert len(entries) >= 3
    for _, entry in entries.iterrows():
        rate = latest_rate(rates, int(entry["ts_init"]))
        assert (rate <= THRESHOLD) if entry["side"] == "BUY" else (rate >= -THRESHOLD)


def test_funding_charged_follows_the_positions_and_lands_in_the_account(run):
    funding = pd.read_csv(run / "funding.csv")
    rates = settled_rates()
    assert len(funding) >= 1
    for _, row in funding.iterrows():
        assert row["rate"] == pytest.approx(latest_rate(rates, int(row["ts"])))
        assert row["amount"] == pytest.approx(-row["position_qty"] * row["price"] * row["rate"], abs=1e-8)  # multiplier 1; money has 8 decimals
    summary = json.loads((run / "summary.json").read_text())
    account = pd.read_csv(run / "account.csv")
    assert account["total"].iloc[-1] == pytest.approx(10_000 + summary["pnl"] + funding["amount"].sum(), abs=1e-6)
    report = json.loads((run / "risk_report.json").read_text())
    assert json.dumps(report).count("entry_filter") >= 1  # the refusals reach the risk report
