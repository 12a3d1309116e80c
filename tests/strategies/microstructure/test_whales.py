"""Whale trades and same-side clusters: hand-built answers and a pandas recount of the real captures."""

import pytest

from ravebear.strategies.microstructure.types import Trade
from ravebear.strategies.microstructure.whales import WhaleConfig, WhaleDetector
from ravebear.time_units import NS_PER_SECOND
from tests.strategies.microstructure.real_data import COINM_CONTRACT_USD, trade_objects, trades

S = NS_PER_SECOND


def test_default_threshold_is_one_million_quote_and_clusters_chain_on_one_side():
    detector = WhaleDetector()
    assert detector.update(Trade(0, 60_000.0, 16.0, 1)) is None  # 960,000 USD
    first = detector.update(Trade(1 * S, 60_000.0, 17.0, 1))  # 1,020,000 USD
    assert (first.notional, first.run_trades, first.cluster) == (1_020_000.0, 1, False)
    sell = detector.update(Trade(2 * S, 60_000.0, 20.0, -1))  # the other side: its own run
    assert (sell.run_trades, sell.cluster) == (1, False)
    second = detector.update(Trade(61 * S, 60_000.0, 20.0, 1))  # 60 s after the first buy whale: same run
    assert (second.run_trades, second.run_notional, second.cluster, second.run_start_ns) == (2, 2_220_000.0, True, 1 * S)
    late = detector.update(Trade(122 * S, 60_000.0, 20.0, 1))  # 61 s later: a new run
    assert (late.run_trades, late.cluster) == (1, False)


def test_inverse_contracts_are_worth_their_multiplier_in_quote():
    detector = WhaleDetector(WhaleConfig(min_notional=1_000_000, contract_multiplier=100, inverse=True))
    assert detector.update(Trade(0, 60_000.0, 9_999, 1)) is None
    assert detector.update(Trade(0, 60_000.0, 10_000, -1)).notional == 1_000_000.0


@pytest.mark.parametrize(("market", "min_notional"), [("usdm", 1_000_000.0), ("usdm", 100_000.0), ("spot", 50_000.0), ("coinm", 100_000.0)])
def test_whales_and_clusters_over_real_trades_match_pandas(market, min_notional):
    frame = trades(market)
    inverse = market == "coinm"
    config = WhaleConfig(min_notional=min_notional, contract_multiplier=COINM_CONTRACT_USD if inverse else 1.0, inverse=inverse, cluster_window_s=5, cluster_min_trades=3)
    detector = WhaleDetector(config)
    got = [(i, w.notional, w.run_trades, w.cluster) for i, t in enumerate(trade_objects(frame)) if (w := detector.update(t)) is not None]

    notional = frame["size"] * COINM_CONTRACT_USD if inverse else frame["price"] * frame["size"]
    whales = frame[notional >= min_notional].assign(notional=notional)
    new_run = whales.groupby("aggressor")["ts_ns"].diff().isna() | (whales.groupby("aggressor")["ts_ns"].diff() > 5 * S)
    run_id = new_run.astype(int).groupby(whales["aggressor"]).cumsum()
    run_trades = whales.groupby([whales["aggressor"], run_id]).cumcount() + 1
    expected = list(zip(whales.index, whales["notional"], run_trades, run_trades >= 3))
    assert len(got) == len(expected) > 5
    assert [(i, n, r, c) for i, n, r, c in got] == [(i, pytest.approx(n), r, bool(c)) for i, n, r, c in expected]
    if min_notional == 1_000_000.0:
        assert len(got) == 6  # the USD-M capture's six prints of 1M+ USD
