"""Level book, pressure map, confluence stacks, and the engine: node and research emit the same events."""

import pandas as pd
import pytest

from ravebear.strategies.levels.book import LevelBook, PressureConfig
from ravebear.strategies.levels.confluence import ConfluenceConfig, ConfluenceTracker
from ravebear.strategies.levels.model import EventKind, Level, LevelEvent, LevelKind, LevelSide
from ravebear.strategies.levels.timeframes import resample_candles


def level(kind, side, price, timeframe="1m", created=1, quality=1.0, high=None):
    return Level(kind, side, price, price if high is None else high, timeframe, created, created, quality)


def created(lv):
    return LevelEvent(EventKind.CREATED, lv, lv.created_ts)


def test_pressure_counts_and_weighs_levels_by_side_and_band():
    book = LevelBook()
    levels = [
        level(LevelKind.WICK, LevelSide.SUPPORT, 99.9, quality=0.5),  # 10 bps below 100
        level(LevelKind.POOR, LevelSide.SUPPORT, 99.6, quality=1.0),  # 40 bps below
        level(LevelKind.WICK, LevelSide.RESISTANCE, 100.2, quality=0.25),  # 20 bps above
        level(LevelKind.BOX, LevelSide.RANGE, 101.0, high=101.5, quality=0.8),  # a box above: resistance, 100 bps
        level(LevelKind.WICK, LevelSide.RESISTANCE, 105.0, quality=1.0),  # beyond the last band
    ]
    book.apply_all(created(lv) for lv in levels)
    pressure = book.pressure(100.0, PressureConfig(band_edges_bps=(25.0, 50.0, 100.0, 200.0)))
    as_rows = [(b.support_count, b.support_weight, b.resistance_count, b.resistance_weight) for b in pressure.bands]
    assert as_rows == [(1, 0.5, 1, 0.25), (1, 1.0, 0, 0.0), (0, 0.0, 1, 0.8), (0, 0.0, 0, 0.0)]
    assert pressure.imbalance == pytest.approx((1.5 - 1.05) / (1.5 + 1.05))
    book.apply(LevelEvent(EventKind.TOUCHED, levels[0], 2))
    assert pressure != book.pressure(100.0) and len(book.active()) == 4


def test_a_stack_needs_enough_levels_of_enough_kinds_within_the_band():
    tracker = ConfluenceTracker(ConfluenceConfig(band_bps=10.0, min_levels=3, min_diversity=2))
    same_kind = [level(LevelKind.WICK, LevelSide.SUPPORT, p, created=i) for i, p in enumerate((100.0, 100.05, 100.08))]
    assert tracker.rebuild(same_kind, ts=10, index=10) == []  # three wicks on one timeframe: no diversity
    mixed = [*same_kind[:2], level(LevelKind.POOR, LevelSide.SUPPORT, 100.09, "5m", created=5)]
    (event,) = tracker.rebuild(mixed, ts=11, index=11)
    assert event.kind is EventKind.CREATED and event.level.kind is LevelKind.CONFLUENCE
    assert (event.level.low, event.level.high, event.level.side) == (100.0, 100.09, LevelSide.SUPPORT)
    assert event.level.quality == pytest.approx(0.5 * 3 / 6 + 0.5 * 2 / 4)
    wide = [*mixed[:2], level(LevelKind.POOR, LevelSide.SUPPORT, 100.2, "5m", created=5)]  # 20 bps: outside
    kinds = [e.kind for e in tracker.rebuild(wide, ts=12, index=12)]
    assert kinds == [EventKind.EXPIRED]
    tracker.rebuild(mixed, ts=13, index=13)
    assert [e.kind for e in tracker.touches(high=101.0, low=100.05, ts=14, index=14)] == [EventKind.TOUCHED]
    assert tracker.touches(high=101.0, low=100.05, ts=15, index=15) == []  # once


def test_resampling_drops_the_unfinished_trailing_bucket(okx_btc):
    frame = okx_btc.iloc[:12]  # 11:20 .. 11:31: buckets 11:20, 11:25 complete, 11:30 not
    five = resample_candles(frame, 5)
    assert list(pd.to_datetime(five["ts"], unit="ms").dt.strftime("%H:%M")) == ["11:20", "11:25"]
    assert five["high"].iloc[0] == okx_btc["high"].iloc[:5].max()
    assert five["volume"].iloc[1] == pytest.approx(okx_btc["volume"].iloc[5:10].sum())


def test_scored_levels_decay_each_level_with_its_own_detectors_half_life():
    from ravebear.strategies.levels.engine import LevelEngine, LevelEngineConfig

    engine = LevelEngine(LevelEngineConfig.from_dict({
        "timeframes": ["1m", "5m"], "wicks": {"half_life_bars": 10.0}, "boxes": {"half_life_bars": 40.0}, "pressure": {"half_life_bars": 5.0},
    }))  # fmt: skip
    wick = level(LevelKind.WICK, LevelSide.SUPPORT, 99.0, created=0, quality=0.8)
    box = level(LevelKind.BOX, LevelSide.RANGE, 101.0, high=101.5, timeframe="5m", created=2, quality=0.6)
    stack = level(LevelKind.CONFLUENCE, LevelSide.SUPPORT, 98.0, created=0, quality=1.0)
    engine.book.apply_all(created(lv) for lv in (wick, box, stack))
    engine.index.update({"1m": 20, "5m": 22})  # 20 candles of each timeframe since the levels were made
    scores = {scored.level.kind: scored.score for scored in engine.scored_levels()}
    assert scores[LevelKind.WICK] == pytest.approx(0.8 * 0.25)  # two half-lives of 10
    assert scores[LevelKind.BOX] == pytest.approx(0.6 * 0.5 ** 0.5)  # half a half-life of 40
    assert scores[LevelKind.CONFLUENCE] == pytest.approx(1.0 * 0.5 ** 4)  # stacks decay with the pressure half-life
