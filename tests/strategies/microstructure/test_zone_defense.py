"""Zone defense: hand-built touches (defended, held, broken) and a real-data run whose touches, breaks and book depths
are re-derived in the test from the trade price path and an independent pandas rebuild of the L2 book."""

import math

import numpy as np
import pandas as pd
import pytest

from ravebear.strategies.microstructure.types import ASK, BID, BookUpdate, Trade
from ravebear.strategies.microstructure.zone_defense import Zone, ZoneDefenseConfig, ZoneDefenseDetector, ZoneOutcome
from ravebear.time_units import NS_PER_SECOND
from tests.strategies.microstructure.real_data import book_updates, synced_depth, trades

S = NS_PER_SECOND
CONFIG = ZoneDefenseConfig(touch_window_s=10, depth_band_bps=10, break_bps=5, min_refill=1.0, min_absorbed_quote=0.0)


def test_a_support_is_defended_then_held_then_broken():
    detector = ZoneDefenseDetector(CONFIG)
    for update in (BookUpdate(0, BID, 99.5, 5.0), BookUpdate(0, BID, 98.0, 10.0), BookUpdate(0, ASK, 101.0, 5.0)):
        detector.on_book(update)
    detector.add_zone(Zone("s", 99.0, 100.0, +1))
    assert detector.on_trade(Trade(0, 99.6, 1.0, -1)) == []  # not armed: price has not been seen above the zone yet
    detector.on_trade(Trade(S // 2, 101.0, 1.0, 1))  # above the zone: armed
    assert detector.on_trade(Trade(1 * S, 99.8, 2.0, -1)) == []  # touch: defending bids in [98.901, 100] = 5
    detector.on_book(BookUpdate(2 * S, BID, 99.5, 2.0))  # eaten...
    detector.on_book(BookUpdate(5 * S, BID, 99.5, 6.0))  # ...and refilled above what it was
    (touch,) = detector.on_trade(Trade(11 * S, 100.5, 1.0, 1))  # 10 s after the touch: judged
    assert (touch.outcome, touch.depth_before, touch.depth_after, touch.refill) == (ZoneOutcome.DEFENDED, 5.0, 6.0, 1.2)
    assert touch.absorbed_quote == pytest.approx(199.6) and (touch.start_ns, touch.end_ns) == (1 * S, 11 * S)

    detector.on_trade(Trade(12 * S, 99.9, 1.0, -1))  # armed by the 100.5 print: a second touch
    detector.on_book(BookUpdate(13 * S, BID, 99.5, 1.0))  # the bid is pulled and not refilled
    (touch,) = detector.on_time(22 * S)
    assert (touch.outcome, touch.refill) == (ZoneOutcome.HELD, pytest.approx(1 / 6))

    detector.on_trade(Trade(30 * S, 100.1, 1.0, 1))
    detector.on_trade(Trade(31 * S, 99.5, 1.0, -1))
    (touch,) = detector.on_trade(Trade(32 * S, 98.9, 1.0, -1))  # below 99 x (1 - 5 bps) = 98.9505: broken at once
    assert (touch.outcome, touch.end_ns) == (ZoneOutcome.BROKEN, 32 * S)
    assert detector.zones == {}  # a broken zone is gone


def test_a_resistance_is_defended_by_asks_and_absorbed_buys_can_be_required():
    detector = ZoneDefenseDetector(ZoneDefenseConfig(touch_window_s=10, depth_band_bps=10, break_bps=5, min_refill=0.5, min_absorbed_quote=1_000))
    detector.on_book(BookUpdate(0, ASK, 100.5, 4.0))
    detector.on_book(BookUpdate(0, ASK, 102.0, 9.0))  # beyond 101 x (1 + 10 bps) = 101.101: not defending
    detector.add_zone(Zone("r", 100.0, 101.0, -1))
    detector.on_trade(Trade(0, 99.0, 1.0, -1))
    detector.on_trade(Trade(1 * S, 100.2, 5.0, 1))  # 501 quote of buys into the zone
    (touch,) = detector.on_time(11 * S)
    assert (touch.outcome, touch.depth_before, touch.refill) == (ZoneOutcome.HELD, 4.0, 1.0)  # refilled, but 501 < 1,000 absorbed
    detector.on_trade(Trade(12 * S, 99.0, 1.0, -1))
    detector.on_trade(Trade(13 * S, 100.2, 10.0, 1))
    (touch,) = detector.on_time(23 * S)
    assert touch.outcome is ZoneOutcome.DEFENDED and touch.absorbed_quote == pytest.approx(1002.0)
    detector.on_trade(Trade(30 * S, 99.0, 1.0, -1))
    detector.on_trade(Trade(31 * S, 100.5, 1.0, 1))
    (touch,) = detector.on_trade(Trade(32 * S, 101.06, 1.0, 1))  # above 101 x 1.0005 = 101.0505
    assert touch.outcome is ZoneOutcome.BROKEN and math.isclose(touch.depth_after, 4.0)


def test_zones_on_real_spot_trades_and_book_match_an_independent_rederivation():
    window_s, band_bps, break_bps = 20.0, 5.0, 3.0
    config = ZoneDefenseConfig(touch_window_s=window_s, depth_band_bps=band_bps, break_bps=break_bps, min_refill=1.0)
    frame, (snapshot, diffs) = trades("spot"), synced_depth("spot")
    frame = frame[frame["ts_ns"] > snapshot["ts_ns"].iloc[0]].reset_index(drop=True)
    # supports a few bps under the first minute's low, resistances over its high: price comes back to them
    first_minute = frame[frame["ts_ns"] < frame["ts_ns"].iloc[0] + 60 * S]["price"]
    low, high = first_minute.min(), first_minute.max()
    zones = [Zone(f"s{k}", low * (1 - (k + 2) * 1e-4), low * (1 - k * 1e-4), +1) for k in range(0, 30, 5)]
    zones += [Zone(f"r{k}", high * (1 + k * 1e-4), high * (1 + (k + 2) * 1e-4), -1) for k in range(0, 30, 5)]

    # one stream in time order; at a tie the book update first (the reference below uses the same order)
    events = pd.concat([diffs.assign(kind=0), frame.assign(kind=1)]).sort_values(["ts_ns", "kind"], kind="stable").reset_index(drop=True)
    detector = ZoneDefenseDetector(config)
    for update in book_updates(snapshot, int(snapshot["ts_ns"].iloc[0])):
        detector.on_book(update)
    for zone in zones:
        detector.add_zone(zone)
    got = []
    updates = iter(book_updates(diffs))
    for pos, (kind, t, price, size, aggressor) in enumerate(events[["kind", "ts_ns", "price", "size", "aggressor"]].itertuples(index=False)):
        if kind == 0:
            touches = detector.on_book(next(updates))
        else:
            touches = detector.on_trade(Trade(int(t), float(price), float(size), int(aggressor)))
        got += [(touch.zone.key, touch.start_ns, touch.end_ns, touch.outcome.value, touch.depth_before, touch.depth_after, pos) for touch in touches]

    expected = [row for zone in zones for row in rederive(zone, events, snapshot, config)]
    got, expected = sorted(r[:6] for r in got), sorted(expected)
    assert [r[:4] for r in got] == [(k, int(a), int(b), o) for k, a, b, o, *_ in expected]
    assert np.allclose([r[4:] for r in got], [r[4:] for r in expected], rtol=1e-9)
    outcomes = {r[3] for r in got}
    assert len(got) >= 5 and "broken" in outcomes and outcomes & {"defended", "held"}


def rederive(zone: Zone, events: pd.DataFrame, snapshot: pd.DataFrame, config: ZoneDefenseConfig) -> list[tuple]:
    """Touches of one zone from the trade price path (numpy searches), depth from the book rows before a position."""
    is_trade = events["kind"].to_numpy() == 1
    ts, price = events["ts_ns"].to_numpy(), events["price"].to_numpy()
    sign = zone.side
    inside = is_trade & ((price <= zone.high) if sign > 0 else (price >= zone.low))
    outside = is_trade & ~inside
    beyond = is_trade & ((price < zone.low * (1 - config.break_bps * 1e-4)) if sign > 0 else (price > zone.high * (1 + config.break_bps * 1e-4)))
    book_rows = events[~is_trade]

    def depth_before(position: int) -> float:
        state = pd.concat([snapshot, book_rows[book_rows.index < position]]).drop_duplicates(["side", "price"], keep="last")
        if sign > 0:
            sel = (state["side"] == "bid") & (state["price"] >= zone.low * (1 - config.depth_band_bps * 1e-4)) & (state["price"] <= zone.high)
        else:
            sel = (state["side"] == "ask") & (state["price"] >= zone.low) & (state["price"] <= zone.high * (1 + config.depth_band_bps * 1e-4))
        return float(state.loc[sel, "qty"].sum())

    out, cursor, floor, window = [], 0, 0, int(config.touch_window_s * S)
    armed_from = np.flatnonzero(outside)
    while True:
        arm = armed_from[armed_from >= cursor]
        if not len(arm):
            return out
        first = max(arm[0], floor)  # armed after the last touch began, and that touch judged
        starts = np.flatnonzero(inside[first:]) + first
        if not len(starts):
            return out
        start = starts[0]
        judge = np.searchsorted(ts, ts[start] + window, "left")  # first event at or after the window's end
        breaks = np.flatnonzero(beyond[start:judge]) + start
        if len(breaks):
            end = breaks[0]
            out.append((zone.key, ts[start], ts[end], "broken", depth_before(start), depth_before(end + 1)))
            return out
        if judge >= len(ts):
            return out
        before, after = depth_before(start), depth_before(judge)
        refilled = (after / before if before > 0 else (math.inf if after > 0 else 0.0)) >= config.min_refill
        out.append((zone.key, ts[start], ts[judge], "defended" if refilled else "held", before, after))
        cursor, floor = start + 1, judge  # re-armed by any trade outside the zone after the touch began
