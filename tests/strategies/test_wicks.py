"""The untouched-wick detector against a brute-force reference on real candles."""

import pandas as pd

from ravebear.strategies.levels.model import EventKind
from ravebear.strategies.levels.model import LevelSide
from ravebear.strategies.levels.wicks import UntouchedWickDetector, WickConfig


def replay(frame: pd.DataFrame, config: WickConfig):
    detector = UntouchedWickDetector(config)
    events = []
    for i, row in enumerate(frame.itertuples(index=False)):
        for event in detector.update(row.open, row.high, row.low, row.close, row.volume, i):
            events.append((i, event))
    return events


def brute_force_first_touches(frame: pd.DataFrame, config: WickConfig) -> dict[int, int | None]:
    """For each qualifying lower wick, the index of the first later candle whose low reaches it."""
    lows, opens, closes = frame["low"].to_numpy(), frame["open"].to_numpy(), frame["close"].to_numpy()
    touches = {}
    for i in range(len(frame)):
        body = max(abs(closes[i] - opens[i]), 1e-9)
        wick = min(opens[i], closes[i]) - lows[i]
        if wick / lows[i] * 1e4 >= config.min_wick_bps and wick / body >= config.min_wick_body_ratio:
            later = [j for j in range(i + 1, min(len(frame), i + 1 + config.max_age_bars + 1)) if lows[j] <= lows[i]]
            touches[i] = later[0] if later and later[0] - (i + 1) + 1 <= config.max_age_bars else None
    return touches


def test_first_touch_of_each_real_lower_wick_matches_brute_force(okx_btc):
    frame = okx_btc.iloc[:4_000].reset_index(drop=True)
    config = WickConfig(min_wick_bps=4.0, min_wick_body_ratio=1.0, max_age_bars=120, max_levels=10_000)
    events = replay(frame, config)
    created = {e.level.created_ts for _, e in events if e.kind is EventKind.CREATED and e.level.side is LevelSide.SUPPORT}
    ended = {
        e.level.created_ts: i
        for i, e in events
        if e.level.side is LevelSide.SUPPORT and e.kind in (EventKind.TOUCHED, EventKind.INVALIDATED)
    }
    expected = brute_force_first_touches(frame, config)
    assert created == set(expected)
    assert len(created) > 50
    assert ended == {i: j for i, j in expected.items() if j is not None}


def test_touch_depth_and_invalidation_on_crafted_candles():
    detector = UntouchedWickDetector(WickConfig(min_wick_bps=10, min_wick_body_ratio=1.0, through_bps=5))
    # a hammer: body 100.0-100.1, low 99.0 -> support at 99.0
    events = detector.update(100.0, 100.2, 99.0, 100.1, 10, 1)
    assert [(e.kind, e.level.side, e.level.price) for e in events] == [(EventKind.CREATED, LevelSide.SUPPORT, 99.0)]
    # dips 10 bps through and closes back above: touched, depth 10 bps
    (touch,) = [e for e in detector.update(99.5, 99.6, 98.901, 99.4, 10, 2) if e.kind is not EventKind.CREATED]
    assert touch.kind is EventKind.TOUCHED and round(touch.depth_bps, 1) == 10.0 and touch.age_bars == 1
    assert [level.price for level in detector.supports] == [98.901]  # the touching candle left its own wick
    # a second support, then a candle closing 20 bps below it: invalidated
    detector.update(100.0, 100.2, 99.0, 100.1, 10, 3)
    events = detector.update(99.3, 99.3, 98.7, 98.8, 10, 4)
    assert [e.kind for e in events if e.level.side is LevelSide.SUPPORT][0] is EventKind.INVALIDATED


def test_untouched_levels_expire_after_max_age():
    detector = UntouchedWickDetector(WickConfig(min_wick_bps=10, min_wick_body_ratio=1.0, max_age_bars=3))
    detector.update(100.0, 100.2, 99.0, 100.1, 10, 1)
    kinds = [[e.kind for e in detector.update(100.1, 100.15, 100.05, 100.1, 10, t)] for t in range(2, 6)]
    assert kinds == [[], [], [], [EventKind.EXPIRED]]
