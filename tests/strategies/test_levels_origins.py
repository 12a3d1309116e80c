"""Displacement origins: crafted candles with known answers, and a brute-force reference on real candles."""

import pytest

from ravebear.strategies.levels.model import EventKind, LevelKind, LevelSide
from ravebear.strategies.levels.origins import OriginConfig, OriginDetector

CONFIG = OriginConfig(lookback=5, min_range_multiple=3.0, min_move_bps=15.0, min_relative_volume=1.5, max_run=3)
DOJI = (100.0, 100.05, 99.95, 100.0, 10.0)  # range 0.1, volume 10, no direction
UP = (100.0, 100.45, 99.7, 100.4, 20.0)  # range 0.75 = 7.5x, volume 2x, body 0.4


def feed(detector, candles, start=1):
    """Feed (open, high, low, close, volume) candles with ts = start, start + 1, ...; return the events of each."""
    return [list(detector.update(*candle, ts)) for ts, candle in enumerate(candles, start)]


def origin(candle, config=CONFIG):
    detector = OriginDetector(config)
    events = feed(detector, [DOJI] * 5 + [candle])
    assert all(batch == [] for batch in events[:5])
    return detector, events[5]


def test_a_displacement_candle_leaves_a_support_zone_from_its_low_to_its_open():
    detector, (created,) = origin(UP)
    level = created.level
    assert (created.kind, level.kind, level.side) == (EventKind.CREATED, LevelKind.ORIGIN, LevelSide.SUPPORT)
    assert created.direction == 1
    assert (level.low, level.high, level.created_index, created.ts) == (99.7, 100.0, 6, 6)  # wick 0.3 >= half body 0.2
    # magnitude min(0.75 / (2 x 3 x 0.1), 1) = 1, volume min(2 / (2 x 1.5), 1)
    assert level.quality == pytest.approx((1.0 + 2.0 / 3.0) / 2)
    assert list(detector.active()) == [level]


def test_a_candle_opening_at_its_low_leaves_the_lower_half_of_its_body():
    _, (created,) = origin((100.0, 100.55, 100.0, 100.5, 20.0))
    assert (created.level.low, created.level.high) == (100.0, pytest.approx(100.25))


def test_a_down_move_leaves_a_resistance_zone_from_its_open_to_its_high():
    _, (created,) = origin((100.0, 100.3, 99.55, 99.6, 20.0))  # half body 0.2: high - 0.2 = 100.1 > open
    assert (created.level.side, created.direction) == (LevelSide.RESISTANCE, -1)
    assert (created.level.low, created.level.high) == (100.0, 100.3)


@pytest.mark.parametrize(
    "candle",
    [
        (100.0, 100.45, 99.7, 100.4, 14.0),  # volume 1.4x
        (100.0, 100.25, 99.96, 100.2, 20.0),  # range 0.29 < 3x the mean
        (100.0, 100.5, 99.75, 100.1, 20.0),  # body 0.1 < half the range
    ],
)
def test_near_misses_make_nothing(candle):
    assert origin(candle)[1] == []


def test_min_move_bps_binds_when_candles_are_tiny():
    tiny = (100.0, 100.005, 99.995, 100.0, 10.0)  # range 0.01
    detector = OriginDetector(CONFIG)
    assert feed(detector, [tiny] * 5 + [(100.0, 100.1, 99.99, 100.09, 20.0)])[5] == []  # 11x the mean but 11 bps


def test_range_multiple_exactly_at_the_limit_qualifies():
    config = OriginConfig(lookback=5, min_range_multiple=3.0, min_move_bps=0.0, min_relative_volume=1.5, max_run=1)
    base = [(1000.0, 1000.25, 999.75, 1000.0, 10.0)] * 5  # range 0.5 exactly
    assert len(feed(OriginDetector(config), [*base, (1000.0, 1001.25, 999.75, 1001.0, 20.0)])[5]) == 1  # 1.5 = 3 x 0.5
    assert feed(OriginDetector(config), [*base, (1000.0, 1001.24, 999.75, 1001.0, 20.0)])[5] == []


def test_a_run_of_three_candles_qualifies_together_with_the_zone_of_its_first_candle():
    run = [(100.0, 100.15, 99.95, 100.15, 25.0), (100.15, 100.3, 100.1, 100.3, 25.0), (100.3, 100.45, 100.25, 100.45, 25.0)]
    events = feed(OriginDetector(CONFIG), [DOJI] * 5 + run)
    assert [len(batch) for batch in events] == [0] * 7 + [1]  # alone each is 2x the mean; together 0.5 >= 3 x 0.14
    (created,) = events[7]
    assert (created.level.low, created.level.high) == (99.95, pytest.approx(100.025))  # from the run's first candle
    assert created.level.created_index == 8


def test_a_streak_makes_one_origin_and_none_before_the_lookback_is_full():
    detector, (created,) = origin(UP)
    assert feed(detector, [(100.4, 101.5, 100.35, 101.4, 40.0)], start=7) == [[]]  # same streak: spent
    assert feed(OriginDetector(CONFIG), [DOJI] * 4 + [UP])[4] == []


def test_first_touch_at_bar_n_and_invalidation():
    detector, (created,) = origin(UP)
    above = (100.3, 100.45, 100.2, 100.35, 10.0)
    events = feed(detector, [above] * 3 + [(100.35, 100.4, 99.9, 100.2, 10.0)], start=7)
    assert events[:3] == [[], [], []]
    (touch,) = events[3]
    assert (touch.kind, touch.level, touch.age_bars, touch.ts, touch.direction) == (EventKind.TOUCHED, created.level, 4, 10, 1)
    assert touch.depth_bps == pytest.approx(10.0)
    detector, _ = origin(UP)
    (broken,) = feed(detector, [(100.3, 100.35, 99.5, 99.6, 10.0)], start=7)[0]  # closes below 99.7 x (1 - 5 bps)
    assert broken.kind is EventKind.INVALIDATED


def test_expiry_at_exactly_max_age_and_max_levels_eviction():
    config = OriginConfig(lookback=5, max_age_bars=3)
    detector, _ = origin(UP, config)
    above = (100.3, 100.45, 100.2, 100.35, 10.0)
    events = feed(detector, [above, above, above, (100.35, 100.4, 99.9, 100.2, 10.0)], start=7)
    assert [[e.kind for e in batch] for batch in events] == [[], [], [], [EventKind.EXPIRED]]  # age 4 expires, not touches

    detector, (first,) = origin(UP, OriginConfig(lookback=5, max_levels=1))
    events = feed(detector, [(100.4, 100.45, 100.35, 100.4, 10.0), (100.4, 101.5, 100.35, 101.4, 30.0)], start=7)
    assert [e.kind for e in events[1]] == [EventKind.EXPIRED, EventKind.CREATED]
    assert events[1][0].level == first.level and list(detector.active()) == [events[1][1].level]


def test_config_rejects_impossible_values():
    for bad in ({"lookback": 0}, {"max_run": 0}, {"max_levels": 0}, {"min_move_bps": -1.0}):
        with pytest.raises(ValueError):
            OriginConfig(**bad)


def brute_force(o, h, low, c, v, cfg):
    """Re-run the origin rules with plain slices: {created position: (side, zone low, zone high, end position, end kind)}."""
    n, out = len(o), {}
    direction = length = 0
    spent = True
    for i in range(n):
        d = (c[i] > o[i]) - (c[i] < o[i])
        if d == direction and d:
            length += 1
        else:
            direction, length, spent = d, 1, not d
        if spent or i < cfg.lookback:
            continue
        mean_range = sum(h[k] - low[k] for k in range(i - cfg.lookback, i)) / cfg.lookback
        mean_volume = sum(v[i - cfg.lookback : i]) / cfg.lookback
        for size in range(min(length, cfg.max_run), 0, -1):
            s = i - size + 1
            extent = max(h[s : i + 1]) - min(low[s : i + 1])
            relative = sum(v[k] for k in range(i, s - 1, -1)) / size / mean_volume
            if (
                extent >= cfg.min_range_multiple * mean_range
                and extent >= cfg.min_move_bps * 1e-4 * o[s]
                and relative >= cfg.min_relative_volume
                and abs(c[i] - o[s]) >= cfg.min_body_fraction * extent
            ):
                half = abs(c[s] - o[s]) / 2
                zl, zh = (low[s], max(o[s], low[s] + half)) if d > 0 else (min(o[s], h[s] - half), h[s])
                last = min(n, i + cfg.max_age_bars + 1)
                k = next((k for k in range(i + 1, last) if (low[k] <= zh if d > 0 else h[k] >= zl)), None)
                if k is None:
                    end = (last, EventKind.EXPIRED) if last < n else (None, None)
                else:
                    through = c[k] < zl * (1 - cfg.through_bps * 1e-4) if d > 0 else c[k] > zh * (1 + cfg.through_bps * 1e-4)
                    end = (k, EventKind.INVALIDATED if through else EventKind.TOUCHED)
                out[i] = (LevelSide.SUPPORT if d > 0 else LevelSide.RESISTANCE, zl, zh, *end)
                spent = True
                break
    return out


def test_real_candles_match_a_brute_force_reference(okx_btc):
    frame = okx_btc.reset_index(drop=True)
    config = OriginConfig(max_levels=100_000)
    detector = OriginDetector(config)
    found = {}
    for i, row in enumerate(frame.itertuples(index=False)):
        for event in detector.update(row.open, row.high, row.low, row.close, row.volume, i):
            level, start = event.level, event.level.created_index - 1
            if event.kind is EventKind.CREATED:
                found[start] = (level.side, level.low, level.high, None, None)
            else:
                found[start] = (*found[start][:3], i, event.kind)
                if event.kind is not EventKind.EXPIRED:  # the candle really came back into the zone
                    assert row.low <= level.high if level.side is LevelSide.SUPPORT else row.high >= level.low
        assert [z.high for z in detector.supports] == sorted(z.high for z in detector.supports)
        assert [z.low for z in detector.resistances] == sorted((z.low for z in detector.resistances), reverse=True)
    columns = [frame[name].tolist() for name in ("open", "high", "low", "close", "volume")]
    assert found == brute_force(*columns, config)
    assert len(found) > 100 and {side for side, *_ in found.values()} == {LevelSide.SUPPORT, LevelSide.RESISTANCE}
    assert {kind for *_, kind in found.values()} >= {EventKind.TOUCHED, EventKind.INVALIDATED, EventKind.EXPIRED}
