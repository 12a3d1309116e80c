"""Poor highs and lows: crafted candles with known answers, and a brute-force reference on real candles."""

import pytest

from ravebear.strategies.levels.model import EventKind, LevelKind, LevelSide
from ravebear.strategies.levels.poor_levels import PoorLevelConfig, PoorLevelDetector


def feed(detector, candles, start=1):
    """Feed (open, high, low, close[, volume]) candles with ts = 1, 2, ...; return the events of each."""
    out = []
    for ts, candle in enumerate(candles, start):
        o, h, low, c, *rest = candle
        out.append(list(detector.update(o, h, low, c, rest[0] if rest else 10.0, ts)))
    return out


def kinds(events):
    return [(e.kind, e.level.side, e.level.price) for e in events]


def test_two_equal_highs_make_one_poor_high_at_the_second_candle():
    detector = PoorLevelDetector(PoorLevelConfig(swing_bars=0))
    first, second = feed(detector, [(100.0, 101.0, 99.0, 100.5), (100.5, 101.0, 100.0, 100.2)])
    assert first == []
    (created,) = second
    assert (created.kind, created.level.kind, created.level.side) == (EventKind.CREATED, LevelKind.POOR, LevelSide.RESISTANCE)
    assert created.level.low == created.level.high == 101.0
    assert (created.ts, created.level.created_ts, created.level.created_index, created.age_bars) == (2, 2, 2, 0)
    assert 0.0 <= created.level.quality <= 1.0 and created.score == created.level.quality
    assert list(detector.active()) == [created.level]


def test_poor_low_mirrors_with_the_lower_of_two_lows_and_ends_at_its_first_touch():
    detector = PoorLevelDetector(PoorLevelConfig(swing_bars=0, tick_size=0.1, tolerance_ticks=1))
    candles = [(100.0, 100.5, 99.0, 99.5), (99.5, 100.0, 98.9, 100.0), (100.0, 100.8, 99.6, 100.1), (100.1, 100.3, 98.85, 99.2)]
    events = feed(detector, candles)
    assert kinds(events[1]) == [(EventKind.CREATED, LevelSide.SUPPORT, 98.9)]
    assert events[2] == []
    (touch,) = events[3]
    assert (touch.kind, touch.age_bars, touch.ts) == (EventKind.TOUCHED, 2, 4)
    assert touch.depth_bps == pytest.approx(0.05 / 98.9 * 1e4)
    assert list(detector.active()) == []


def test_near_miss_outside_the_tick_tolerance_makes_nothing_and_exactly_one_tick_counts():
    config = PoorLevelConfig(swing_bars=0, tick_size=0.1, tolerance_ticks=1)
    miss = PoorLevelDetector(config)
    assert feed(miss, [(65230.0, 65231.5, 65229.0, 65230.5), (65230.5, 65231.7, 65230.1, 65231.0)]) == [[], []]
    hit = PoorLevelDetector(config)
    events = feed(hit, [(65230.0, 65231.5, 65229.0, 65230.5), (65230.5, 65231.6, 65230.1, 65231.0)])
    assert kinds(events[1]) == [(EventKind.CREATED, LevelSide.RESISTANCE, 65231.6)]  # the higher of the two


def test_bps_tolerance_at_its_limit_and_the_larger_of_ticks_and_bps_applies():
    bps = PoorLevelConfig(swing_bars=0, tolerance_ticks=0, tolerance_bps=1.0)
    assert kinds(feed(PoorLevelDetector(bps), [(99.5, 100.0, 99.0, 99.8), (99.8, 100.01, 99.5, 99.9)])[1]) == [
        (EventKind.CREATED, LevelSide.RESISTANCE, 100.01)
    ]
    assert feed(PoorLevelDetector(bps), [(99.5, 100.0, 99.0, 99.8), (99.8, 100.0101, 99.5, 99.9)])[1] == []
    both = PoorLevelConfig(swing_bars=0, tick_size=0.1, tolerance_ticks=1, tolerance_bps=0.5)
    # at 100, 0.5 bps = 0.005 < one tick: the tick decides
    assert len(feed(PoorLevelDetector(both), [(99.5, 100.0, 99.0, 99.8), (99.8, 100.1, 99.5, 99.9)])[1]) == 1
    # at 10000, 0.5 bps = 0.5 > one tick: the bps decide
    assert len(feed(PoorLevelDetector(both), [(9990, 10000.0, 9980, 9995), (9995, 10000.5, 9985, 9990)])[1]) == 1
    assert feed(PoorLevelDetector(both), [(9990, 10000.0, 9980, 9995), (9995, 10000.51, 9985, 9990)])[1] == []


def test_exact_equality_by_default():
    detector = PoorLevelDetector(PoorLevelConfig(swing_bars=0))
    assert feed(detector, [(99.5, 100.0, 99.0, 99.8), (99.8, 100.000001, 99.5, 99.9)])[1] == []
    assert len(feed(detector, [(99.9, 100.000001, 99.6, 99.7)], start=3)[0]) == 1


def test_three_equal_highs_are_one_level_and_the_run_does_not_touch_it():
    detector = PoorLevelDetector(PoorLevelConfig(swing_bars=0, tick_size=0.1, tolerance_ticks=1))
    events = feed(
        detector,
        [
            (100.0, 101.0, 99.0, 100.5),
            (100.5, 101.0, 100.0, 100.2),  # pair: poor high at 101.0
            (100.2, 101.1, 99.8, 100.3),  # within one tick: extends the run, no touch
            (100.3, 101.0, 100.1, 100.4),  # still the run
            (100.4, 100.5, 99.5, 99.9),  # run over
            (99.9, 101.05, 99.7, 100.8),  # trades back to 101.0 and closes below: touched
        ],
    )
    assert [len(e) for e in events] == [0, 1, 0, 0, 0, 1]
    assert events[1][0].level.price == 101.0
    touch = events[5][0]
    assert (touch.kind, touch.level, touch.age_bars) == (EventKind.TOUCHED, events[1][0].level, 4)
    assert touch.depth_bps == pytest.approx(0.05 / 101.0 * 1e4)


def test_a_candle_ending_a_run_does_not_pair_with_the_runs_last_candle():
    detector = PoorLevelDetector(PoorLevelConfig(swing_bars=0, tick_size=0.1, tolerance_ticks=1))
    candles = [
        (99.0, 100.0, 98.0, 99.5), (99.5, 100.0, 98.5, 99.6), (99.6, 99.9, 98.8, 99.7), (99.7, 99.8, 99.1, 99.75), (99.75, 99.8, 99.4, 99.7),
    ]  # fmt: skip
    events = feed(detector, candles)
    assert [len(e) for e in events] == [0, 1, 0, 0, 1]  # 99.9 extends; 99.8 ends the run and may not pair with 99.9
    assert [level.price for level in detector.resistances] == [100.0, 99.8]


def test_touch_invalidation_exactly_at_and_beyond_through_bps():
    def run(close):
        detector = PoorLevelDetector(PoorLevelConfig(swing_bars=0, through_bps=5))
        feed(detector, [(100.0, 101.0, 99.0, 100.5), (100.5, 101.0, 100.0, 100.2), (100.2, 100.5, 99.9, 100.1)])
        return feed(detector, [(100.1, 102.0, 100.0, close)], start=4)[0][0].kind

    assert run(101.0 * (1 + 5e-4)) is EventKind.TOUCHED
    assert run(101.0 * (1 + 5e-4) + 0.001) is EventKind.INVALIDATED
    assert run(100.9) is EventKind.TOUCHED


def test_expiry_at_exactly_max_age():
    def run(candles):
        detector = PoorLevelDetector(PoorLevelConfig(swing_bars=0, max_age_bars=3))
        feed(detector, [(100.0, 101.0, 99.0, 100.5), (100.5, 101.0, 100.0, 100.2)])  # created at index 2
        return [[e.kind for e in events] for events in feed(detector, candles, start=3)]

    quiet = [
        (100.2, 100.5, 99.89, 100.1), (100.2, 100.4, 99.8, 100.1), (100.2, 100.3, 99.7, 100.1), (100.15, 100.2, 99.6, 100.1),
    ]  # fmt: skip
    assert run(quiet) == [[], [], [], [EventKind.EXPIRED]]
    # touchable at age 3, expired (not touched) at age 4
    assert run([*quiet[:2], (100.2, 101.5, 99.7, 100.1)])[-1] == [EventKind.TOUCHED]
    assert run([*quiet[:3], (100.2, 101.5, 99.6, 100.1)])[-1] == [EventKind.EXPIRED]


def test_max_levels_evicts_the_oldest_per_side():
    detector = PoorLevelDetector(PoorLevelConfig(swing_bars=0, max_levels=2))
    candles = []
    for k, top in enumerate((105.0, 104.0, 103.0)):
        base = 90.0 - 3 * k
        candles += [(base + 1, top, base, base + 2), (base + 2, top, base - 0.5, base + 1)]  # a pair at `top`
        candles += [(base + 1, base + 3, base - 1, base + 2)]  # ends the run
    events = feed(detector, candles)
    created = [e.level.price for batch in events for e in batch if e.kind is EventKind.CREATED]
    assert created == [105.0, 104.0, 103.0]
    last = events[7]
    assert [(e.kind, e.level.price) for e in last] == [(EventKind.EXPIRED, 105.0), (EventKind.CREATED, 103.0)]
    assert [level.price for level in detector.resistances] == [104.0, 103.0]


def test_swing_rule_needs_the_bars_before_the_pair_below_the_level():
    config = PoorLevelConfig(swing_bars=2)
    above = [(100, 100.5, 99, 100), (101, 102, 100, 101), (100, 101, 99.0, 100.5), (100.5, 101, 99.5, 100)]
    assert feed(PoorLevelDetector(config), above)[3] == []  # 102 two candles before the pair
    assert feed(PoorLevelDetector(config), [(99.9, 101.0, 99.8, 100.5), (100.5, 101.0, 100.0, 100.2)])[1] == []  # warm-up
    below = [(99, 100, 98.0, 99.5), (99.5, 100.5, 98.5, 100), (100, 101, 99.0, 100.5), (100.5, 101, 99.5, 100)]
    ok = feed(PoorLevelDetector(config), below)
    assert kinds(ok[3]) == [(EventKind.CREATED, LevelSide.RESISTANCE, 101.0)]


def test_quality_from_taps_volume_and_cleanliness():
    detector = PoorLevelDetector(PoorLevelConfig(swing_bars=0, tap_lookback=5, volume_lookback=1))
    events = feed(
        detector,
        [
            (100.0, 101.0, 99.0, 100.5, 10.0),  # an earlier tap of 101
            (100.5, 100.8, 99.5, 100.0, 10.0),
            (100.0, 101.0, 99.8, 101.0, 10.0),  # pair, no upper wick
            (101.0, 101.0, 100.0, 100.5, 20.0),  # pair, no upper wick, volume 1.5x the last candle's
        ],
    )
    (created,) = events[3]
    # taps 3 -> 0.75, relative volume 1.5 -> 0.75, cleanliness 1
    assert created.level.quality == pytest.approx((0.75 + 0.75 + 1.0) / 3)
    wicked = PoorLevelDetector(PoorLevelConfig(swing_bars=0, tap_lookback=0, volume_lookback=1))
    (created, _low) = feed(wicked, [(100.0, 101.0, 99.0, 100.0, 10.0), (100.0, 101.0, 99.0, 100.0, 10.0)])[1]
    # taps 2 -> 0.5, volume 1 -> 0.5, each candle's upper wick is half its range -> 0.5
    assert created.level.quality == pytest.approx(0.5)


def test_config_rejects_impossible_values():
    with pytest.raises(ValueError, match="max_levels"):
        PoorLevelConfig(max_levels=0)
    with pytest.raises(ValueError):
        PoorLevelConfig(tolerance_bps=-1)


def brute_force(high, close, cfg, side_sign):
    """Poor highs (side_sign 1) or lows (-1 on negated prices): [(created index, price, end index or None, end kind)]."""
    h = [side_sign * x for x in high]
    c = [side_sign * x for x in close]
    n = len(h)

    def tol(p):
        return max(cfg.tolerance_ticks * cfg.tick_size * (1 + 1e-6), (cfg.tolerance_bps * 1e-4 + 1e-9) * abs(p))

    levels = []
    i = 1
    while i < n:
        t = tol(h[i - 1])
        if abs(h[i] - h[i - 1]) <= t:
            p = max(h[i - 1], h[i])
            if i - 1 >= cfg.swing_bars and all(h[k] - p <= t for k in range(i - 1 - cfg.swing_bars, i - 1)):
                j = i + 1
                while j < n and abs(h[j] - p) <= tol(p):
                    j += 1
                touch = next((k for k in range(j, min(n, i + cfg.max_age_bars + 1)) if h[k] >= p), None)
                if touch is not None:
                    through = c[touch] > p + abs(p) * cfg.through_bps * 1e-4
                    levels.append((i, side_sign * p, touch, EventKind.INVALIDATED if through else EventKind.TOUCHED))
                else:
                    expiry = i + cfg.max_age_bars + 1
                    levels.append((i, side_sign * p, expiry if expiry < n else None, EventKind.EXPIRED))
                i = j + 1
                continue
        i += 1
    return levels


def test_real_candles_match_a_brute_force_reference(okx_btc):
    frame = okx_btc.iloc[:8_000].reset_index(drop=True)
    config = PoorLevelConfig(tick_size=0.1, tolerance_ticks=1, swing_bars=5, max_age_bars=120, max_levels=100_000)
    detector = PoorLevelDetector(config)
    seen = {LevelSide.RESISTANCE: [], LevelSide.SUPPORT: []}
    ends = {}
    for i, row in enumerate(frame.itertuples(index=False)):
        for event in detector.update(row.open, row.high, row.low, row.close, row.volume, i):
            key = (event.level.side, event.level.created_index - 1)
            if event.kind is EventKind.CREATED:
                seen[event.level.side].append((i, event.level.price))
            else:
                assert key not in ends
                ends[key] = (i, event.kind)
                if event.kind is not EventKind.EXPIRED:  # the candle really reached the level
                    price = event.level.price
                    assert row.high >= price if event.level.side is LevelSide.RESISTANCE else row.low <= price
        prices = [level.price for level in detector.resistances]
        assert prices == sorted(prices, reverse=True)  # the ordering the touch test relies on
        prices = [level.price for level in detector.supports]
        assert prices == sorted(prices)
    for side, sign, column in ((LevelSide.RESISTANCE, 1, "high"), (LevelSide.SUPPORT, -1, "low")):
        expected = brute_force(frame[column].tolist(), frame["close"].tolist(), config, sign)
        assert seen[side] == [(i, p) for i, p, _, _ in expected]
        ended = {i: (j, kind) for i, _, j, kind in expected if j is not None}
        assert {k: v for (s, k), v in ends.items() if s is side} == ended
        assert len(expected) > 100
