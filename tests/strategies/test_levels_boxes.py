"""Consolidation boxes: crafted candles with known answers, and a brute-force reference on real candles."""

import pytest

from ravebear.strategies.levels.boxes import BoxConfig, BoxDetector
from ravebear.strategies.levels.model import EventKind, LevelKind, LevelSide

CONFIG = BoxConfig(min_bars=5, max_height_bps=10.0, breakout_bps=5.0, through_bps=5.0)
# five candles inside [99.95, 100.05]: 10 bps of the middle, exactly the limit
BOX = [
    (100.0, 100.05, 99.97, 100.01),
    (100.01, 100.03, 99.95, 99.98),
    (99.98, 100.02, 99.96, 100.0),
    (100.0, 100.04, 99.97, 100.02),
    (100.02, 100.03, 99.99, 100.0),
]
INSIDE = (100.0, 100.02, 99.98, 100.01)


def feed(detector, candles, start=1):
    """Feed (open, high, low, close) candles with ts = start, start + 1, ...; return the events of each."""
    return [list(detector.update(o, h, low, c, 10.0, ts)) for ts, (o, h, low, c) in enumerate(candles, start)]


def boxed(config=CONFIG):
    detector = BoxDetector(config)
    events = feed(detector, BOX)
    assert [len(e) for e in events] == [0, 0, 0, 0, 1]
    return detector, events[-1][0]


def test_a_box_of_exactly_min_bars_candles_at_the_height_limit():
    detector, created = boxed()
    assert (created.kind, created.level.kind, created.level.side) == (EventKind.CREATED, LevelKind.BOX, LevelSide.RANGE)
    assert (created.level.low, created.level.high, created.ts, created.level.created_index) == (99.95, 100.05, 5, 5)
    # tightness 0 (at the limit), duration 5 / (2 x 5)
    assert created.level.quality == pytest.approx(0.25, abs=1e-6)
    assert detector.box == created.level and list(detector.active()) == [created.level]


def test_a_hair_too_tall_is_no_box():
    candles = [*BOX[:1], (100.01, 100.03, 99.9499, 99.98), *BOX[2:]]
    assert feed(BoxDetector(CONFIG), candles) == [[]] * 5


def test_upward_breakout_needs_a_close_beyond_breakout_bps_then_a_retest_touches():
    detector, created = boxed()
    limit = 100.05 * (1 + 5.0 * 1e-4)
    sweep, shallow = (100.0, 100.3, 99.97, 100.04), (100.0, 100.2, 99.98, limit)
    assert feed(detector, [sweep, shallow], start=6) == [[], []]
    (breakout,) = feed(detector, [(100.1, 100.2, 100.0, 100.15)], start=8)[0]
    assert (breakout.kind, breakout.direction, breakout.level, breakout.age_bars) == (EventKind.BREAKOUT, 1, created.level, 3)
    assert breakout.depth_bps == pytest.approx(0.1 / 100.05 * 1e4)
    assert detector.box is None and detector.supports == [created.level]
    events = feed(detector, [(100.15, 100.25, 100.08, 100.2), (100.2, 100.21, 100.04, 100.1)], start=9)
    assert events[0] == []
    (touch,) = events[1]
    assert (touch.kind, touch.direction, touch.level, touch.age_bars) == (EventKind.TOUCHED, 1, created.level, 5)
    assert touch.depth_bps == pytest.approx(0.01 / 100.05 * 1e4)
    assert list(detector.active()) == []


def test_downward_breakout_and_a_retest_closing_back_through_the_far_edge():
    detector, created = boxed()
    (breakout,) = feed(detector, [(99.96, 99.97, 99.8, 99.85)], start=6)[0]
    assert (breakout.kind, breakout.direction) == (EventKind.BREAKOUT, -1)
    assert detector.resistances == [created.level]
    (retest,) = feed(detector, [(99.85, 100.2, 99.84, 100.11)], start=7)[0]  # closes above 100.05 x (1 + 5 bps)
    assert (retest.kind, retest.direction) == (EventKind.INVALIDATED, -1)


def test_the_search_restarts_after_the_breakout_candle():
    detector, _ = boxed()
    assert feed(detector, [(100.12, 100.2, 100.12, 100.16)], start=6)[0][0].kind is EventKind.BREAKOUT  # fits with the next
    above = [(100.15, 100.2, 100.12, 100.18)] * 5
    events = feed(detector, above, start=7)
    assert [len(e) for e in events] == [0, 0, 0, 0, 1]  # five candles after the breakout, not four
    assert (events[-1][0].level.low, events[-1][0].level.high) == (100.12, 100.2)


def test_live_box_expires_at_exactly_max_age_and_the_search_restarts_after_that_candle():
    detector, created = boxed(BoxConfig(min_bars=5, max_height_bps=10.0, breakout_bps=5.0, max_age_bars=3))
    events = feed(detector, [INSIDE, INSIDE, INSIDE, (100.0, 100.5, 99.98, 100.5)], start=6)  # the last would break out
    assert [[e.kind for e in batch] for batch in events] == [[], [], [], [EventKind.EXPIRED]]
    assert events[-1][0].level == created.level and detector.box is None
    events = feed(detector, [INSIDE] * 5, start=10)
    assert [len(e) for e in events] == [0, 0, 0, 0, 1]


def test_zones_expire_with_age_from_the_box_creation_and_max_levels_evicts_the_oldest():
    detector, created = boxed(BoxConfig(min_bars=5, max_height_bps=10.0, breakout_bps=5.0, max_age_bars=4))
    feed(detector, [(100.1, 100.2, 100.0, 100.15)], start=6)
    events = feed(detector, [(100.15, 100.2, 100.12, 100.18)] * 4, start=7)
    assert [[e.kind for e in batch] for batch in events] == [[], [], [], [EventKind.EXPIRED]]  # index 10 is age 4 + 1

    detector = BoxDetector(BoxConfig(min_bars=2, max_height_bps=10.0, breakout_bps=5.0, max_levels=1))
    step = [(100.0, 100.02, 99.98, 100.0), (100.0, 100.02, 99.98, 100.01), (100.0, 100.3, 99.99, 100.2)]
    first = feed(detector, step)
    second = feed(detector, [tuple(x + 1.0 for x in candle) for candle in step], start=4)
    assert [e.kind for e in first[2]] == [EventKind.BREAKOUT]
    assert [(e.kind, e.level.low) for e in second[2]] == [(EventKind.BREAKOUT, 99.98 + 1.0), (EventKind.EXPIRED, 99.98)]
    assert [zone.low for zone in detector.supports] == [99.98 + 1.0]


def test_duration_counts_earlier_candles_that_closed_inside_the_box():
    detector = BoxDetector(CONFIG)
    window = [(100.0, 100.03, 99.97, 100.0)] * 5
    events = feed(detector, [(100.1, 100.2, 99.97, 100.0), *window])  # the first pokes out but closes inside
    (created,) = events[-1]
    assert (created.level.low, created.level.high, created.level.created_index) == (99.97, 100.03, 6)
    # tightness 1 - 6 / 10, duration 6 / (2 x 5)
    assert created.level.quality == pytest.approx((0.4 + 0.6) / 2)


def test_config_rejects_impossible_values():
    with pytest.raises(ValueError):
        BoxConfig(min_bars=0)
    with pytest.raises(ValueError):
        BoxConfig(breakout_bps=-1)


def brute_force(high, low, close, cfg):
    """Re-run the box rules with plain window maxima: (created, breakouts, zone ends) keyed by candle position."""
    created, breakouts, ends = {}, {}, {}
    box, search_from = None, 0
    for i in range(len(high)):
        if box is not None:
            start, lo, hi = box
            if i - start > cfg.max_age_bars:
                box, search_from = None, i + 1
            elif close[i] > hi * (1 + cfg.breakout_bps * 1e-4) or close[i] < lo * (1 - cfg.breakout_bps * 1e-4):
                direction = 1 if close[i] > hi else -1
                breakouts[start] = (i, direction)
                for k in range(i + 1, min(len(high), start + cfg.max_age_bars + 1)):
                    if (low[k] <= hi) if direction > 0 else (high[k] >= lo):
                        margin = cfg.through_bps * 1e-4
                        through = close[k] < lo * (1 - margin) if direction > 0 else close[k] > hi * (1 + margin)
                        ends[start] = (k, EventKind.INVALIDATED if through else EventKind.TOUCHED)
                        break
                else:
                    if start + cfg.max_age_bars + 1 < len(high):
                        ends[start] = (start + cfg.max_age_bars + 1, EventKind.EXPIRED)
                box, search_from = None, i + 1
            continue
        if i - search_from + 1 >= cfg.min_bars:
            hi, lo = max(high[i - cfg.min_bars + 1 : i + 1]), min(low[i - cfg.min_bars + 1 : i + 1])
            if hi - lo <= cfg.max_height_bps * 1e-4 * (hi + lo) / 2:
                box = (i, lo, hi)
                created[i] = (lo, hi)
    return created, breakouts, ends


def test_real_candles_match_a_brute_force_reference(okx_btc):
    frame = okx_btc.reset_index(drop=True)
    config = BoxConfig(max_levels=100_000)
    detector = BoxDetector(config)
    created, breakouts, ends = {}, {}, {}
    for i, row in enumerate(frame.itertuples(index=False)):
        for event in detector.update(row.open, row.high, row.low, row.close, row.volume, i):
            start = event.level.created_index - 1
            if event.kind is EventKind.CREATED:
                created[start] = (event.level.low, event.level.high)
            elif event.kind is EventKind.BREAKOUT:
                breakouts[start] = (i, event.direction)
            elif start in breakouts:
                ends[start] = (i, event.kind)
                if event.kind is not EventKind.EXPIRED:  # the candle really came back into the zone
                    assert row.low <= event.level.high if event.direction > 0 else row.high >= event.level.low
        assert [z.high for z in detector.supports] == sorted(z.high for z in detector.supports)
        assert [z.low for z in detector.resistances] == sorted((z.low for z in detector.resistances), reverse=True)
    expected = brute_force(frame["high"].tolist(), frame["low"].tolist(), frame["close"].tolist(), config)
    assert (created, breakouts, ends) == expected
    assert len(created) > 100 and len(breakouts) > 100 and {1, -1} <= {d for _, d in breakouts.values()}
    assert {kind for _, kind in ends.values()} >= {EventKind.TOUCHED, EventKind.EXPIRED}
