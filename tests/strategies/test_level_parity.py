"""The LevelActor in a BacktestNode and research's replay over the same real bars emit the same events."""

from collections import Counter

import pytest
import yaml

from ravebear.platform.nodes.backtest import prepare_backtest_process
from ravebear.platform.nodes.composer import backtest_run_config
from ravebear.platform.nodes.run_file import parse_run_file
from ravebear.strategies.levels.engine import LevelEngineConfig
from ravebear.strategies.levels.replay import replay_levels

INSTRUMENT = "BTC-USDT-SWAP.OKX"
BAR_TYPE = f"{INSTRUMENT}-1-MINUTE-LAST-EXTERNAL"
LEVELS = {"wicks": {"min_wick_bps": 6.0}}  # everything else at its defaults
ROWS = 9_000  # 2026-07-27 11:20 .. 2026-08-02: six days with the series' real gaps


def comparable(events):
    """Events as (exact fields, scores), ordered by time then content (higher timeframes closing together may arrive in any order).

    Scores are compared to 1e-12: nautilus sums aggregated volumes as exact decimals and
    research as floats, so a volume-based quality can differ in the last bit.
    """
    rows = [
        ((e.ts, tf, e.kind.value, e.level.kind.value, e.level.side.value, e.level.timeframe, e.level.low, e.level.high,
          e.level.created_ts, e.depth_bps, e.age_bars, e.direction), (e.level.quality, e.score))
        for tf, e in events
    ]  # fmt: skip
    rows.sort(key=lambda row: row[0])
    return [row[0] for row in rows], [row[1] for row in rows]


@pytest.fixture(scope="module")
def catalog_with_bars(tmp_path_factory, okx_btc):
    from ravebear.catalog.store import RaveCatalog

    catalog = RaveCatalog(tmp_path_factory.mktemp("parity") / "catalog")
    catalog.import_candles(okx_btc.iloc[:ROWS], "BTC-USDT-SWAP")
    return catalog


@pytest.fixture(scope="module")
def node_events(catalog_with_bars):
    from nautilus_trader.backtest.node import BacktestNode

    config = {
        "run": {"name": "parity", "log_level": "ERROR", "tearsheet": False},
        "data": [{"instrument_id": INSTRUMENT}],
        "actors": [
            {
                "actor_path": "ravebear.strategies.level_actor:LevelActor",
                "config": {
                    "instrument_ids": [INSTRUMENT], "levels": LEVELS, "record": True, "publish": True,
                    "catalog_path": str(catalog_with_bars.path / "levels"), "flush_every": 5_000,
                },  # fmt: skip
            },
        ],
    }
    prepare_backtest_process()
    run_config = backtest_run_config(parse_run_file(yaml.safe_dump(config)), catalog_with_bars.path.resolve())
    node = BacktestNode(configs=[run_config])
    node.build()
    engine = node.get_engine(run_config.id)
    node.run()
    actor = engine.trader.actors()[0]
    events = [(tf, event) for _, tf, event in actor.events]
    pressure = actor.engine(INSTRUMENT).pressure()
    node.dispose()
    return events, pressure


def test_node_and_research_emit_identical_level_events(catalog_with_bars, node_events):
    from ravebear.research.data import load_candles

    events, _ = node_events
    frame = load_candles(catalog_with_bars, BAR_TYPE)
    research = replay_levels(frame, LevelEngineConfig.from_dict(LEVELS))
    assert len(events) > 1_000
    node_keys, node_scores = comparable(events)
    research_keys, research_scores = comparable(research)
    assert node_keys == research_keys
    assert [s for pair in node_scores for s in pair] == pytest.approx([s for pair in research_scores for s in pair], rel=1e-12)
    by_source = Counter((e.level.kind.value, e.level.timeframe) for _, e in events)
    for kind in ("wick", "poor", "box", "origin", "confluence"):
        assert any(k == kind for k, _ in by_source), f"no {kind} events in the node run"
    assert {tf for _, tf in by_source} == {"1m", "5m", "15m", "1h"}


def test_the_actor_keeps_a_pressure_map_around_the_last_close(node_events, okx_btc):
    _, pressure = node_events
    assert pressure.price == okx_btc["close"].iloc[ROWS - 1]
    counted = sum(b.support_count + b.resistance_count for b in pressure.bands)
    assert counted > 0


def test_the_actor_writes_its_events_to_the_catalog_in_order(node_events, catalog_with_bars):
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    from ravebear.catalog.level_data import LevelEventData
    from ravebear.strategies.level_actor import from_data

    events, _ = node_events
    stored = [item.data for item in ParquetDataCatalog(str(catalog_with_bars.path / "levels")).query(LevelEventData)]
    assert len(stored) == len(events)
    assert all(data.instrument_id.value == INSTRUMENT for data in stored)
    assert sorted(map(from_data, stored), key=repr) == sorted((event for _, event in events), key=repr)


def test_every_research_event_survives_the_trip_through_level_event_data(catalog_with_bars):
    from nautilus_trader.model.identifiers import InstrumentId

    from ravebear.research.data import load_candles
    from ravebear.strategies.level_actor import from_data, to_data

    frame = load_candles(catalog_with_bars, BAR_TYPE)
    events = [event for _, event in replay_levels(frame, LevelEngineConfig.from_dict(LEVELS))]
    instrument = InstrumentId.from_str(INSTRUMENT)
    datas = [to_data(instrument, event) for event in events]
    assert [from_data(data) for data in datas] == events
    assert all(data.ts_event == data.ts_init == event.ts and data.instrument_id == instrument for data, event in zip(datas, events, strict=True))
    assert {data.direction for data in datas} >= {-1, 0, 1} and {data.side for data in datas} == {"support", "resistance", "range"}
