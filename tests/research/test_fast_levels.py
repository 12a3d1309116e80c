"""Research's fast level replay (compiled kernels) emits exactly the pure replay's events.

The pure detectors are the one implementation; `ravebear.research.fast_levels` is the
vectorised twin allowed for speed, and this file is the proof that both agree: same events,
same order, exact fields, scores to 1e-12, on real series with the default config and with
configs that move every threshold, evict (small max_levels), and pick other timeframes and
detectors. The first run compiles the kernels (about 20 s; numba caches them afterwards).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ravebear.research import fast_kernels, fast_levels
from ravebear.research.fast_levels import fast_replay_levels
from ravebear.strategies.levels.engine import LevelEngineConfig
from ravebear.strategies.levels.model import EventKind
from ravebear.strategies.levels.replay import replay_levels
from tests.shared_data import SHARED

REPO = Path(__file__).resolve().parents[2]
SHARED_OHLCV = SHARED / "ohlcv_1m"
BINANCE_BTC = SHARED_OHLCV / "binance_usdm_BTCUSDT_1m_20250706_20250717.parquet"

TIGHT = {  # every threshold moved, books small enough to evict, stacks of 4 levels of 3 sorts
    "wicks": {"min_wick_bps": 4.0, "min_wick_body_ratio": 1.0, "min_relative_volume": 0.8, "volume_lookback": 10,
              "max_age_bars": 120, "max_levels": 4, "through_bps": 2.0, "half_life_bars": 30.0},
    "poor": {"tick_size": 0.1, "tolerance_ticks": 2.0, "tolerance_bps": 0.3, "swing_bars": 5, "tap_lookback": 40,
             "volume_lookback": 10, "max_age_bars": 90, "max_levels": 3, "through_bps": 2.0, "half_life_bars": 20.0},
    "boxes": {"min_bars": 10, "max_height_bps": 25.0, "breakout_bps": 1.0, "through_bps": 8.0, "max_age_bars": 120,
              "max_levels": 2, "half_life_bars": 40.0},
    "origins": {"lookback": 20, "min_range_multiple": 2.0, "min_move_bps": 8.0, "min_relative_volume": 1.0,
                "min_body_fraction": 0.4, "max_run": 5, "max_age_bars": 120, "max_levels": 3, "through_bps": 2.0},
    "confluence": {"band_bps": 25.0, "min_levels": 4, "min_diversity": 3},
}  # fmt: skip
SUBSET = {  # two detectors in the other order, other timeframes in no particular order, no freshness decay
    "timeframes": ["1m", "15m", "5m", "4h"],
    "detectors": ["origins", "wicks"],
    "wicks": {"min_wick_bps": 20.0, "max_age_bars": 1000, "half_life_bars": 0.0},
    "origins": {"min_relative_volume": 0.0, "max_run": 1, "half_life_bars": 0.0},
    "confluence": {"band_bps": 5.0, "min_levels": 2, "min_diversity": 1},
}
NO_STACKS = {"detectors": ["poor", "boxes"], "timeframes": ["1m", "30m"], "confluence_enabled": False,
             "poor": {"tolerance_bps": 1.0, "swing_bars": 0}, "boxes": {"min_bars": 5, "max_height_bps": 8.0}}  # fmt: skip
CONFIGS = {"default": {}, "tight": TIGHT, "subset": SUBSET, "no-stacks": NO_STACKS}


def assert_same_events(fast, pure):
    """Same events in the same order: every field exact, scores (level quality, event score) to 1e-12."""

    def rows(events):
        keys = [
            (tf, e.ts, e.kind, e.level.kind, e.level.side, e.level.timeframe, e.level.low, e.level.high,
             e.level.created_ts, e.level.created_index, e.depth_bps, e.age_bars, e.direction)
            for tf, e in events
        ]  # fmt: skip
        return keys, [s for _, e in events for s in (e.level.quality, e.score)]

    fast_keys, fast_scores = rows(fast)
    pure_keys, pure_scores = rows(pure)
    assert len(fast_keys) == len(pure_keys)
    mismatch = next((i for i, (a, b) in enumerate(zip(fast_keys, pure_keys, strict=True)) if a != b), None)
    assert mismatch is None, f"event {mismatch}: fast {fast[mismatch]} != pure {pure[mismatch]}"
    assert fast_scores == pytest.approx(pure_scores, rel=1e-12, abs=0.0)


@pytest.fixture(scope="module")
def okx(okx_btc):
    """The real OKX BTC-USDT-SWAP sample (with its gaps), volume in contracts as the catalog stores it."""
    return okx_btc.assign(volume=okx_btc["volume_contracts"])[["ts", "open", "high", "low", "close", "volume"]]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_fast_replay_equals_the_pure_replay_on_okx_btc(okx, name):
    config = LevelEngineConfig.from_dict(CONFIGS[name])
    pure = replay_levels(okx, config)
    fast = fast_replay_levels(okx, config)
    assert_same_events(fast, pure)
    sources = Counter((e.level.kind.value, e.kind) for _, e in pure)
    assert len(pure) > 1_000, sources
    for detector in config.detectors:  # every enabled detector took part
        kind = fast_levels.DETECTOR_KINDS[detector].value
        assert sources[(kind, EventKind.CREATED)] > 0 and sources[(kind, EventKind.TOUCHED)] > 0, (kind, sources)
    assert {tf for tf, _ in pure} == set(config.timeframes)
    if config.confluence_enabled:
        assert sources[("confluence", EventKind.CREATED)] > 0 and sources[("confluence", EventKind.EXPIRED)] > 0
    if "boxes" in config.detectors:
        assert sources[("box", EventKind.BREAKOUT)] > 0
    if name == "tight":  # books full: levels pushed out before their age ran out, on every detector
        max_age = {kind.value: getattr(config, name).max_age_bars for name, kind in fast_levels.DETECTOR_KINDS.items()}
        evicted = Counter(e.level.kind.value for _, e in pure
                          if e.kind is EventKind.EXPIRED and e.age_bars <= max_age.get(e.level.kind.value, -1))  # fmt: skip
        assert set(evicted) == {"wick", "poor", "box", "origin"}, evicted


@pytest.mark.skipif(not BINANCE_BTC.exists(), reason=f"shared data not found: {BINANCE_BTC}")
def test_fast_replay_equals_the_pure_replay_on_binance_btc():
    frame = pd.read_parquet(BINANCE_BTC, columns=["ts", "open", "high", "low", "close", "volume"])
    config = LevelEngineConfig()
    pure = replay_levels(frame, config)
    assert len(pure) > 5_000
    assert_same_events(fast_replay_levels(frame, config), pure)


def test_event_buffers_too_small_are_rerun_with_room_for_all(okx, monkeypatch):
    """The kernels count events past a full buffer and run again with the right size: same result."""
    frame = okx.iloc[:6_000]
    pure = replay_levels(frame, LevelEngineConfig())
    monkeypatch.setattr(fast_levels, "_first_capacity", lambda n: 1)
    assert_same_events(fast_replay_levels(frame, LevelEngineConfig()), pure)


@pytest.mark.parametrize(
    "raw",
    [
        {"timeframes": ["1m", "5m", "5m"]},  # a timeframe twice
        {"detectors": ["wicks", "wicks"]},  # a detector twice
        {"confluence": {"min_levels": 0}},  # every empty sweep is a stack: the pure path divides by zero (a run file may not say this)
    ],
)
def test_configs_the_kernels_do_not_model_go_to_the_pure_replay(okx, raw):
    frame = okx.iloc[:1_500]
    if "confluence" in raw:
        from ravebear.strategies.levels.confluence import ConfluenceConfig

        config = LevelEngineConfig(confluence=ConfluenceConfig(**raw["confluence"]))  # from_dict refuses min_levels 0
    else:
        config = LevelEngineConfig.from_dict(raw)
    try:
        pure = replay_levels(frame, config)
    except ZeroDivisionError:
        with pytest.raises(ZeroDivisionError):
            fast_replay_levels(frame, config)
        return
    assert_same_events(fast_replay_levels(frame, config), pure)


def test_the_kernels_sum_floats_as_python_does():
    """Python 3.12's sum() compensates rounding (Neumaier); the origin detector's means rely on it to the bit."""
    rng = np.random.default_rng(7)
    for values in (rng.normal(0, 1, 50), rng.normal(0, 1, 50) * 10.0 ** rng.integers(-8, 8, 50), np.array([1e16, 1.0, -1e16, 3.0]),
                   np.array([0.1] * 30), np.array([2.5]), np.array([])):  # fmt: skip
        assert fast_kernels._pysum(values, 0, len(values)) == sum(values.tolist())


def test_an_empty_frame_has_no_events(okx):
    assert fast_replay_levels(okx.iloc[:0], LevelEngineConfig()) == replay_levels(okx.iloc[:0], LevelEngineConfig()) == []
