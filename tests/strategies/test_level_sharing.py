"""A strategy and the LevelActor with equal levels configs share one engine, and neither's output changes.

Run on real OKX BTC bars with the shipped config/backtest.yaml (its strategy and LevelActor): the strategy's
orders and fills equal those of the strategy alone, and the actor's events equal those of the actor alone.
"""

import pytest

from tests.strategies.shipped_runs import INSTRUMENT, btc_catalog, level_run_edit, order_rows, run_shipped

ROWS = 12_000  # 2026-07-27 .. 2026-08-04: eight days of real bars


@pytest.fixture(scope="module")
def catalog(tmp_path_factory, okx_btc):
    return btc_catalog(tmp_path_factory.mktemp("sharing"), okx_btc, ROWS)


def run(catalog, actor: bool, strategy: bool, actor_levels: dict | None = None) -> dict:
    """Run the shipped file's LevelActor and/or strategy on BTC; return what each produced."""

    def read(engine) -> dict:
        out: dict = {}
        if actor:
            level_actor = engine.trader.actors()[0]
            out["events"] = level_actor.events
            out["actor_engine"] = level_actor.engine(INSTRUMENT)
        if strategy:
            level_strategy = engine.trader.strategies()[0]
            out["strategy_engine"] = level_strategy.engine
            out["orders"] = order_rows(engine)
            out["signals"] = level_strategy.signals
        return out

    return run_shipped(catalog, level_run_edit(actor, strategy, actor_levels), read)


@pytest.fixture(scope="module")
def shared(catalog):
    return run(catalog, actor=True, strategy=True)


def test_the_shipped_strategy_and_level_actor_share_one_engine(shared):
    assert shared["strategy_engine"] is shared["actor_engine"]
    assert shared["strategy_engine"].config.timeframes == ("1m", "5m", "15m", "1h")


def test_sharing_leaves_the_strategys_orders_unchanged(catalog, shared):
    alone = run(catalog, actor=False, strategy=True)
    assert alone["strategy_engine"] is not shared["strategy_engine"]
    assert len(shared["orders"]) >= 10  # it traded
    assert shared["orders"] == alone["orders"]
    assert shared["signals"] == alone["signals"] > 0


def test_sharing_leaves_the_actors_events_unchanged(catalog, shared):
    alone = run(catalog, actor=True, strategy=False)
    assert len(shared["events"]) > 1_000
    assert shared["events"] == alone["events"]
    assert {tf for _, tf, _ in shared["events"]} == {"1m", "5m", "15m", "1h"}


def test_an_actor_with_other_levels_keeps_its_own_engine(catalog, shared):
    other = run(catalog, actor=True, strategy=True, actor_levels={"detectors": ["wicks"], "wicks": {"min_wick_bps": 9.0}})
    assert other["strategy_engine"] is not other["actor_engine"]
    assert other["orders"] == shared["orders"]
    assert other["events"] != shared["events"]
    assert all(event.level.kind.value in ("wick", "confluence") for _, _, event in other["events"])
