"""The SwarmActor reads funding from the node's alternative data: real Binance BTCUSDT 8-hourly funding in the catalog
(FundingRate), served by `alt_data:` in a backtest, reaches FundArb, whose vote at each bar is checked by hand against
the latest settled rate; whale transfers are signed by their exchange flow (stablecoins the other way)."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from ravebear.catalog.alt_data.types import WhaleTransaction
from ravebear.catalog.swarm_data import parse_votes
from ravebear.strategies.swarm_actor import whale_direction
from tests.shared_data import SHARED
from tests.strategies.binance_funding import AVAILABLE, BTC, funding_catalog
from tests.strategies.swarm_runs import backtest

EXTREME = 0.00005  # fraction per 8 h: BTC funding in May 2025 sits on both sides of it
FULL = 0.0002

pytestmark = pytest.mark.skipif(not AVAILABLE, reason=f"shared data not found under {SHARED}")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    catalog, rates = funding_catalog(tmp_path_factory.mktemp("funding"))
    raw = {
        "run": {"catalog_path": str(catalog.path), "tearsheet": False, "risk_report": False, "log_level": "ERROR"},
        "venue": {"name": "BINANCE"},
        "data": [{"instrument_id": BTC, "start": "2025-05-05", "end": "2025-05-09"}],
        "alt_data": {"types": ["FundingRate"], "client_id": "ALTDATA"},
        "actors": [
            {"actor_path": "ravebear.strategies.swarm_actor:SwarmActor",
             "config": {"record": True, "swarm": {"settings": {"FundArb": {"extreme_rate": EXTREME, "full_rate": FULL}}}}},
            {"actor_path": "tests.strategies.swarm_recorder:SwarmRecorder", "config": {}},
        ],
    }  # fmt: skip
    return backtest(yaml.safe_load(yaml.safe_dump(raw)), catalog.path), rates


def test_fundarb_votes_against_the_latest_settled_funding_in_a_backtest(run):
    result, rates = run
    times, values = rates["ts_ns"].to_numpy(), rates["funding_rate"].to_numpy()
    fired = 0
    for signal in result.signals:
        # the latest rate before the candle's close: a rate stamped at the close itself reaches the node after the bar
        # (the data: entries come before alt_data on a tie)
        index = np.searchsorted(times, signal.ts_event, side="left") - 1
        vote = parse_votes(signal.votes).get("FundArb", 0.0)
        rate = values[index] if index >= 0 else float("nan")
        if abs(rate) >= EXTREME:
            fired += 1
            assert np.sign(vote) == -np.sign(rate), (signal, rate)  # fades the side that pays
        else:
            assert vote == 0.0, (signal, rate)
    assert fired > 100 and fired < len(result.signals)  # both sides of the threshold in these days


def _whale(flow: str, symbol: str) -> WhaleTransaction:
    return WhaleTransaction(symbol=symbol, amount_usd=5e6, flow=flow, ts_event=1, ts_init=1)


@pytest.mark.parametrize(("flow", "symbol", "direction"), [
    ("exchange_outflow", "btc", 1), ("exchange_inflow", "btc", -1), ("exchange_inflow", "usdt", 1), ("exchange_outflow", "USDC", -1),
    ("exchange_internal", "btc", 0), ("", "eth", 0),
])  # fmt: skip
def test_a_whale_transfer_is_signed_by_its_exchange_flow(flow, symbol, direction):
    assert whale_direction(_whale(flow, symbol)) == direction
