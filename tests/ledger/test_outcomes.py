"""Touch outcomes (markouts, MFE/MAE, held or broken) from bars fed one at a time: hand-built cases, a brute-force
reference over the bundled real OKX candles (gaps included), and the module docstring's definitions read literally
over two gappy instruments with touches at random times, float for float."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pandas as pd
import pytest

from ravebear.catalog.candles import read_ohlcv_file
from ravebear.ledger.models import MARKOUT_MINUTES
from ravebear.ledger.outcomes import OutcomeSettings, OutcomeTracker
from ravebear.time_units import NS_PER_MINUTE
from tests.conftest import SAMPLE

T0 = 1_785_000_000 * 1_000_000_000  # a whole minute, ns
BTC = "BTC-USDT-SWAP.OKX"


def feed(tracker: OutcomeTracker, closes: list[float], start: int = T0, highs=None, lows=None) -> list:
    """Bars closing at start + 1, 2, ... minutes."""
    out = []
    for i, close in enumerate(closes, start=1):
        high = highs[i - 1] if highs else close
        low = lows[i - 1] if lows else close
        out += tracker.on_bar(BTC, start + i * NS_PER_MINUTE, high, low, close)
    return out


def test_a_support_that_holds_gets_its_markouts_in_its_direction():
    tracker = OutcomeTracker(OutcomeSettings(break_bps=10, break_window_min=60, excursion_window_min=60))
    tracker.track("t1", BTC, T0, touch_price=100.0, level_price=99.9, direction=1)
    closes = [100.0 + 0.01 * i for i in range(1, 61)]  # 100.01 ... 100.60
    assert feed(tracker, closes[:59]) == []  # the 60-minute markout is not known before the 60th bar
    (update,) = feed(tracker, closes[59:], start=T0 + 59 * NS_PER_MINUTE)
    assert update.touch_id == "t1" and update.outcome == "held"
    assert update.markouts_bps[1] == pytest.approx(1.0)  # +0.01 on 100 = 1 bps
    assert update.markouts_bps[5] == pytest.approx(5.0)
    assert update.markouts_bps[15] == pytest.approx(15.0)
    assert update.markouts_bps[60] == pytest.approx(60.0)
    assert update.mfe_bps == pytest.approx(60.0) and update.mae_bps == 0.0
    assert update.filled_at == datetime.fromtimestamp((T0 + 60 * NS_PER_MINUTE) / 1e9, UTC)
    assert tracker.pending == 0


def test_a_resistance_markout_is_positive_when_price_falls_and_a_close_beyond_it_breaks_it():
    tracker = OutcomeTracker(OutcomeSettings(break_bps=10, break_window_min=30, excursion_window_min=60))
    tracker.track("r1", BTC, T0, touch_price=200.0, level_price=200.0, direction=-1)
    closes = [199.0] * 10 + [200.1] + [200.3] * 49  # minute 11: 200.1 is 5 bps above: not yet; minute 12: 15 bps: broken
    highs = [c + 0.5 for c in closes]
    lows = [c - 1.0 for c in closes]
    (update,) = feed(tracker, closes, highs=highs, lows=lows)
    assert update.markouts_bps[1] == pytest.approx(50.0)  # (200 - 199) / 200
    assert update.markouts_bps[60] == pytest.approx(-15.0)
    assert update.outcome == "broken"
    assert update.mfe_bps == pytest.approx((200 - 198) / 200 * 1e4)  # the lowest low, 198
    assert update.mae_bps == pytest.approx((200.8 - 200) / 200 * 1e4)  # the highest high, 200.8


def test_a_close_just_inside_the_break_distance_does_not_break_it():
    tracker = OutcomeTracker(OutcomeSettings(break_bps=10, break_window_min=5, excursion_window_min=5))
    tracker.track("s", BTC, T0, touch_price=100.0, level_price=100.0, direction=1)
    tracker.track("s2", BTC, T0, touch_price=100.0, level_price=100.0, direction=1)
    updates = feed(tracker, [99.91, 99.95, 99.90, 100.0] + [100.0] * 56)  # 99.90 is exactly 10 bps: not below it
    assert {u.touch_id: u.outcome for u in updates} == {"s": "held", "s2": "held"}


def test_a_gap_gives_the_last_close_before_the_horizon_and_none_when_nothing_closed_in_it():
    tracker = OutcomeTracker(OutcomeSettings(break_window_min=1, excursion_window_min=1))
    tracker.track("g", BTC, T0, touch_price=100.0, level_price=99.0, direction=1)
    assert tracker.on_bar(BTC, T0 + 3 * NS_PER_MINUTE, 101, 100, 101.0) == []  # nothing closed in (t, t+1]: 1m is None
    assert tracker.on_bar(BTC, T0 + 4 * NS_PER_MINUTE, 102, 101, 102.0) == []
    (update,) = tracker.on_bar(BTC, T0 + 80 * NS_PER_MINUTE, 90, 80, 85.0)  # a gap past 5, 15 and 60 minutes
    assert update.markouts_bps == {1: None, 5: pytest.approx(200.0), 15: pytest.approx(200.0), 60: pytest.approx(200.0)}
    assert update.outcome == "held"  # nothing closed in the 1-minute window beyond the level


def test_bars_at_or_before_the_touch_and_of_other_instruments_do_not_count():
    tracker = OutcomeTracker()
    tracker.track("x", BTC, T0, touch_price=100.0, level_price=100.0, direction=1)
    assert tracker.on_bar(BTC, T0, 1000, 1, 1.0) == []
    assert tracker.on_bar("ETH-USDT-SWAP.OKX", T0 + NS_PER_MINUTE, 1000, 1, 1.0) == []
    (partial,) = tracker.finish(T0 + 2 * NS_PER_MINUTE)
    assert partial.markouts_bps == dict.fromkeys(MARKOUT_MINUTES) and partial.mfe_bps is None and partial.outcome is None


def test_thresholds_outside_their_range_are_one_line_errors_with_units():
    with pytest.raises(ValueError, match=r"^ledger.outcomes.break_bps must be between 0 and 10,000 bps, got -1$"):
        OutcomeSettings(break_bps=-1)
    with pytest.raises(ValueError, match=r"^ledger.outcomes.break_window_min must be between 1 and 1,440 minutes, got 0$"):
        OutcomeSettings(break_window_min=0)
    with pytest.raises(ValueError, match="direction must be"):
        OutcomeTracker().track("x", BTC, T0, 100.0, 100.0, 0)


def reference(frame: pd.DataFrame, t: int, price: float, level: float, d: int, s: OutcomeSettings) -> dict:
    """The same definitions computed from slices of the whole series (no streaming)."""
    close_ns = frame["close_ns"]
    out = {}
    for h in MARKOUT_MINUTES:
        end = t + h * NS_PER_MINUTE
        if not (close_ns >= end).any():
            out[h] = None
            continue
        inside = frame[(close_ns > t) & (close_ns <= end)]
        out[h] = None if inside.empty else d * (inside["close"].iloc[-1] - price) / price * 1e4
    window = frame[(close_ns > t) & (close_ns <= t + s.excursion_window_min * NS_PER_MINUTE)]
    up, down = (window["high"].max() - price) / price * 1e4, (price - window["low"].min()) / price * 1e4
    mfe, mae = (up, down) if d == 1 else (down, up)
    breaks = frame[(close_ns > t) & (close_ns <= t + s.break_window_min * NS_PER_MINUTE)]["close"]
    beyond = level * (1 - d * s.break_bps / 1e4)
    broken = bool((breaks < beyond).any() if d == 1 else (breaks > beyond).any())
    if window.empty:  # a gap covers the whole window: no excursion to measure
        mfe = mae = None
    else:
        mfe, mae = max(0.0, mfe), max(0.0, mae)
    return {"markouts": out, "mfe": mfe, "mae": mae, "outcome": "broken" if broken else "held"}


def test_streaming_outcomes_equal_a_brute_force_reference_on_real_candles(okx_btc):
    frame = okx_btc.head(6000).copy()
    frame["close_ns"] = (frame["ts"].astype("int64") + 60_000) * 1_000_000  # OKX stamps the open; a bar closes a minute later
    settings = OutcomeSettings(break_bps=15, break_window_min=30, excursion_window_min=45)
    tracker = OutcomeTracker(settings)
    touches, updates = {}, {}
    rows = list(frame[["close_ns", "high", "low", "close"]].itertuples(index=False))
    for i, (ts, high, low, close) in enumerate(rows):
        for update in tracker.on_bar(BTC, ts, high, low, close):
            updates[update.touch_id] = update
        if i % 37 == 0 and i < len(rows) - 200:  # a touch at this bar's close; alternate supports and resistances
            d = 1 if i % 2 == 0 else -1
            level = low if d == 1 else high
            touches[f"t{i}"] = (ts, close, level, d)
            tracker.track(f"t{i}", BTC, ts, close, level, d)
    assert tracker.pending == 0 and set(updates) == set(touches)
    gaps = 0
    outcomes = set()
    for touch_id, (ts, price, level, d) in touches.items():
        want = reference(frame, ts, price, level, d, settings)
        got = updates[touch_id]
        for h in MARKOUT_MINUTES:
            if want["markouts"][h] is None:
                gaps += 1
                assert got.markouts_bps[h] is None, (touch_id, h)
            else:
                assert got.markouts_bps[h] == pytest.approx(want["markouts"][h], abs=1e-9), (touch_id, h)
        if want["mfe"] is None:
            gaps += 1
            assert got.mfe_bps is None and got.mae_bps is None, touch_id
        else:
            assert got.mfe_bps == pytest.approx(want["mfe"], abs=1e-9) and got.mae_bps == pytest.approx(want["mae"], abs=1e-9)
        assert got.outcome == want["outcome"], touch_id
        outcomes.add(got.outcome)
    assert outcomes == {"held", "broken"}  # the real series exercises both
    assert len(touches) > 150 and gaps > 0  # the gappy sample puts some horizons in gaps


def definitions(fed: list[tuple[int, float, float, float]], t: int, price: float, level: float, d: int, s: OutcomeSettings) -> tuple:
    """The module docstring's definitions, read literally, over the bars fed after the touch was tracked:
    (markouts, mfe, mae, outcome, the close time of the bar that made all of them known or None)."""
    minute = NS_PER_MINUTE
    longest = max(60, s.excursion_window_min, s.break_window_min) * minute
    after = []  # (close_ns, high, low, close) closing after t; later than the first at or past t + longest cannot matter
    for bar in fed:
        if bar[0] > t:
            after.append(bar)
            if bar[0] >= t + longest:
                break

    def first_at_or_after(end: int) -> int | None:  # the bar from which something ending at `end` is known
        return next((i for i, bar in enumerate(after) if bar[0] >= end), None)

    markouts, known = {}, []
    for h in MARKOUT_MINUTES:
        at = first_at_or_after(t + h * minute)
        inside = [bar for bar in after if bar[0] <= t + h * minute]
        markouts[h] = d * (inside[-1][3] - price) / price * 10_000 if at is not None and inside else None
        known.append(at)
    window = [bar for bar in after if bar[0] <= t + s.excursion_window_min * minute]
    mfe = mae = None
    if window:
        up = max((high - price) / price * 10_000 for _, high, _, _ in window)  # the highest high, in bps
        down = max((price - low) / price * 10_000 for _, _, low, _ in window)  # the lowest low
        mfe, mae = (max(0.0, up), max(0.0, down)) if d == 1 else (max(0.0, down), max(0.0, up))
    known.append(first_at_or_after(t + s.excursion_window_min * minute))
    beyond = level * (1 - d * s.break_bps / 10_000)
    breaks = [i for i, (ts, _, _, close) in enumerate(after) if ts <= t + s.break_window_min * minute and (close < beyond if d == 1 else close > beyond)]
    passed = first_at_or_after(t + s.break_window_min * minute)
    outcome, decided = ("broken", breaks[0]) if breaks else ("held", passed) if passed is not None else (None, None)
    known.append(decided)
    done = None if None in known else after[max(known)][0]
    return markouts, mfe, mae, outcome, done


@pytest.mark.parametrize("settings", [OutcomeSettings(), OutcomeSettings(break_bps=3, break_window_min=90, excursion_window_min=20)],
                         ids=["shipped", "break-window-longest"])
def test_outcomes_equal_the_definitions_on_gappy_bars_of_two_instruments_with_touches_at_random_times(settings):
    """Real BTC and ETH candles with a sixth of the bars and some whole hours dropped, fed in time order; touches at
    random (also off-minute) times of either instrument and direction, each checked float for float against the
    definitions, at the bar that completes it; finish() mid-way gives the exact partial outcomes of the open ones."""
    rnd = random.Random(16)
    bars = []  # (close_ns, instrument, high, low, close)
    for name in ("BTC", "ETH"):
        frame = read_ohlcv_file(SAMPLE / f"okx_swap_{name}-USDT-SWAP_1m_20260727_20260822_gappy.parquet").head(5000)
        holes = {rnd.randrange(len(frame)) for _ in range(6)}  # where 30 to 150 bars in a row go missing
        skip = 0
        for i, (ts, high, low, close) in enumerate(frame[["ts", "high", "low", "close"]].itertuples(index=False)):
            skip = rnd.randint(30, 150) if i in holes else skip - 1
            if skip <= 0 and rnd.random() > 1 / 6:
                bars.append(((int(ts) + 60_000) * 1_000_000, name, high, low, close))
    bars = sorted(bars)[:7000]  # the last bars are past a 6-hour gap: touches stay open at the end
    tracker = OutcomeTracker(settings)
    fed: dict[str, list] = {"BTC": [], "ETH": []}
    touches: dict[str, tuple] = {}  # id -> (instrument, index into fed at tracking, t, price, level, d)
    completed, partial = {}, {}
    finish_at = len(bars) // 2
    for step, (ts, name, high, low, close) in enumerate(bars):
        fed[name].append((ts, high, low, close))
        for update in tracker.on_bar(name, ts, high, low, close):
            completed[update.touch_id] = (update, ts, len(fed[name]))
        if rnd.random() < 0.15:  # a touch at or after the instrument's last close (up to 3 minutes, any ns), ~750 in all
            touched = rnd.choice(("BTC", "ETH"))
            if fed[touched]:
                last_ts, _, _, last_close = fed[touched][-1]
                t = last_ts + rnd.choice((0, 0, rnd.randrange(3 * NS_PER_MINUTE)))
                d = rnd.choice((1, -1))
                level = last_close * (1 - d * rnd.uniform(0, 0.004))
                touch_id = f"{touched}{step}"
                touches[touch_id] = (touched, len(fed[touched]), t, last_close, level, d)
                tracker.track(touch_id, touched, t, last_close, level, d)
        if step == finish_at:
            partial = {update.touch_id: (update, ts, len(fed[touches[update.touch_id][0]])) for update in tracker.finish(ts)}
            assert tracker.pending == 0
    end = bars[-1][0]
    ended = {update.touch_id: (update, end, len(fed[touches[update.touch_id][0]])) for update in tracker.finish(end)}
    assert len(touches) > 500 and partial and ended and set(completed) | set(partial) | set(ended) == set(touches)
    counts = {"broken": 0, "held": 0, "open": 0, "gap markout": 0, "gap excursion": 0}
    for touch_id, (name, start, t, price, level, d) in touches.items():
        update, at, fed_then = completed.get(touch_id) or partial.get(touch_id) or ended[touch_id]
        seen = fed[name][start:fed_then]  # the bars the tracker had been fed between tracking it and answering
        markouts, mfe, mae, outcome, done = definitions(seen, t, price, level, d, settings)
        assert (update.markouts_bps, update.mfe_bps, update.mae_bps, update.outcome) == (markouts, mfe, mae, outcome), touch_id
        assert update.filled_at == datetime.fromtimestamp(at / 1e9, UTC)
        assert done == (at if touch_id in completed else None), touch_id  # returned at the bar that completed it, not before
        counts[outcome or "open"] += 1
        counts["gap markout"] += done is not None and None in markouts.values()
        counts["gap excursion"] += done is not None and mfe is None
    assert min(counts.values()) > 0, counts  # every case occurs: both outcomes, open at finish, horizons and windows in gaps


@pytest.mark.parametrize("settings", [OutcomeSettings(), OutcomeSettings(break_bps=3, break_window_min=90, excursion_window_min=20)],
                         ids=["shipped", "break-window-longest"])
def test_bars_fed_at_once_give_the_same_updates_in_the_same_order_as_bars_fed_one_at_a_time(settings):
    """Real gappy BTC and ETH candles; touches at random times; one tracker gets every bar through on_bar, the other
    gets each instrument's bars in runs of random length through on_bars (a backtest's catch-up), both tracking the
    same touches after the same bars. Every update, partial ones at finish() included, is equal (dataclasses: every
    field) and each instrument's come in the same order."""
    rnd = random.Random(17)
    bars = []
    for name in ("BTC", "ETH"):
        frame = read_ohlcv_file(SAMPLE / f"okx_swap_{name}-USDT-SWAP_1m_20260727_20260822_gappy.parquet").head(6000)
        keep = [rnd.random() > 0.1 for _ in range(len(frame))]
        bars += [((int(ts) + 60_000) * 1_000_000, name, high, low, close)
                 for (ts, high, low, close), kept in zip(frame[["ts", "high", "low", "close"]].itertuples(index=False), keep, strict=True) if kept]
    bars.sort()
    one, many = OutcomeTracker(settings), OutcomeTracker(settings)
    got_one, got_many = [], []
    waiting: dict[str, list] = {"BTC": [], "ETH": []}  # bars not yet handed to `many`

    def catch_up(name: str) -> None:
        run = waiting[name]
        if run:
            got_many.extend(many.on_bars(name, [b[0] for b in run], [b[2] for b in run], [b[3] for b in run], [b[4] for b in run]))
            run.clear()

    instrument: dict[str, str] = {}
    for step, bar in enumerate(bars):
        ts, name, high, low, close = bar
        got_one.extend(one.on_bar(name, ts, high, low, close))
        waiting[name].append(bar)
        if rnd.random() < 0.02:
            catch_up(name)  # a run of random length ends
        if rnd.random() < 0.12:
            d = rnd.choice((1, -1))
            level = close * (1 - d * rnd.uniform(0, 0.004))
            t = ts + rnd.choice((0, rnd.randrange(NS_PER_MINUTE)))
            catch_up(name)  # as the ledger does before it tracks a touch
            for tracker in (one, many):
                tracker.track(f"T{step}", name, t, close, level, d)
            instrument[f"T{step}"] = name
    for name in waiting:
        catch_up(name)
    end = bars[-1][0]
    got_one += one.finish(end)
    got_many += many.finish(end)
    assert len(instrument) > 1000 and len(got_one) == len(got_many) == len(instrument)
    for name in ("BTC", "ETH"):  # each instrument's updates equal, in order (the two interleave at other points)
        assert [u for u in got_many if instrument[u.touch_id] == name] == [u for u in got_one if instrument[u.touch_id] == name]
    assert {u.outcome for u in got_one} >= {"held", "broken"}


def test_bars_fed_at_once_keep_only_what_open_touches_need_and_ignore_bars_when_none_is_open():
    tracker = OutcomeTracker()
    closes = [100.0 + (i % 7) for i in range(3 * 4096)]
    ts = [T0 + (i + 1) * NS_PER_MINUTE for i in range(len(closes))]
    assert tracker.on_bars("BTC", ts, closes, closes, closes) == []  # no touch: nothing kept
    tracker.track("A", "BTC", ts[-1], 100.0, 99.0, 1)
    later = [ts[-1] + (i + 1) * NS_PER_MINUTE for i in range(2 * 4096)]
    updates = tracker.on_bars("BTC", later, [101.0] * len(later), [100.5] * len(later), [101.0] * len(later))
    assert [(u.touch_id, u.outcome, u.markouts_bps[60]) for u in updates] == [("A", "held", 100.0)]
    assert updates[0].filled_at == datetime.fromtimestamp(later[59] / 1e9, UTC)  # the bar 60 minutes after the touch
    assert tracker.pending == 0
