"""A backtest's precomputed level feed (`level_replay.py`) hands out exactly what the streaming engine would, on real bars.

The bars are the real OKX BTC swap series (data/sample, with its gaps), read back from a catalog as the node loads them.
Per minute, `ReplayedLevelFeed` returns the same candles (every field, to the bit) and the same `LevelEvent`s as a
`MinuteLevelFeed` fed the same minutes; a minute it did not precompute, or a read of `.engine`, hands over to a real
engine caught up on the minutes served, whose state and output equal the streaming feed's from then on. In a
`RaveBacktestNode`, the shipped config trades the same and its LevelActor publishes the same events with the replay
as without.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from ravebear.platform.nodes.backtest_node import RaveBacktestNode
from ravebear.platform.nodes.level_replay import (
    ReplayMemo,
    LevelReplaySource,
    ReplayedLevelFeed,
    bars_frame,
)
from ravebear.strategies.level_sharing import LevelFeedRequest
from ravebear.strategies.levels.engine import LevelEngine, LevelEngineConfig
from ravebear.strategies.levels.feed import FedCandle, MinuteLevelFeed
from ravebear.time_units import NS_PER_MINUTE
from tests.strategies.shipped_runs import INSTRUMENT, btc_catalog, level_run_edit, order_rows, run_shipped

ROWS = 6_000  # 2026-07-27 11:20 .. 2026-08-03 09:30: 14 real gaps of 6 to 661 missing minutes
BAR_TYPE = f"{INSTRUMENT}-1-MINUTE-LAST-EXTERNAL"
LAST_BEFORE_GAP = 621  # the last minute before 421 missing ones
WICKS = {"min_wick_bps": 6.0, "min_wick_body_ratio": 1.5, "max_age_bars": 240}  # the shipped LevelActor's
CONFIGS = {
    "default": LevelEngineConfig(),  # 1m 5m 15m 1h, all four detectors and the confluence stacks
    "wicks": LevelEngineConfig.from_dict({"detectors": ["wicks"], "wicks": WICKS}),
    "to_4h": LevelEngineConfig(timeframes=("1m", "15m", "30m", "4h")),
    "1h_before_5m": LevelEngineConfig(timeframes=("1m", "1h", "5m")),  # candles closing together go in the config's order
}

Minute = tuple[int, float, float, float, float, float]  # close (ns), open, high, low, close, volume: as a node hands it


@pytest.fixture(scope="module")
def catalog(tmp_path_factory, okx_btc):
    return btc_catalog(tmp_path_factory.mktemp("replay"), okx_btc, ROWS)


@pytest.fixture(scope="module")
def bars(catalog) -> list[Any]:
    return catalog.bars(BAR_TYPE)


@pytest.fixture(scope="module")
def minutes(bars) -> list[Minute]:
    """The bars as the LevelActor and the strategies hand them to a feed."""
    out = [
        (bar.ts_event, bar.open.as_double(), bar.high.as_double(), bar.low.as_double(), bar.close.as_double(), bar.volume.as_double())
        for bar in bars
    ]  # fmt: skip
    assert out[LAST_BEFORE_GAP + 1][0] - out[LAST_BEFORE_GAP][0] == 422 * NS_PER_MINUTE
    return out


def exact(fed: list[FedCandle]) -> list[tuple]:
    """A minute's output with every candle field spelled out (Candle has no ==); events compare as dataclasses, exactly."""
    return [(tf, c.ts, c.open, c.high, c.low, c.close, c.volume, events) for tf, c, events in fed]


def feed_all(feed: MinuteLevelFeed, sequence: list[Minute]) -> list[list[tuple]]:
    return [exact(feed.on_minute(*minute)) for minute in sequence]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_the_replayed_feed_returns_the_streaming_feeds_candles_and_events(bars, minutes, name):
    config = CONFIGS[name]
    assert len(bars) == ROWS
    replayed = ReplayedLevelFeed(config, bars_frame(bars))
    streamed = MinuteLevelFeed(config)
    events: Counter = Counter()
    gap_closed = closing_with = 0
    for minute in minutes:
        got, want = exact(replayed.on_minute(*minute)), exact(streamed.on_minute(*minute))
        assert got == want, f"minute closing at {minute[0]}"
        base = [i for i, (tf, *_) in enumerate(want) if tf == "1m"]
        assert len(base) == 1  # exactly one 1-minute candle, the one handed in
        gap_closed += base[0]  # higher-timeframe candles that closed in the gap before it ...
        closing_with += len(want) - 1 - base[0]  # ... and those closing with it
        events.update((tf, event.kind.value, event.level.kind.value) for tf, *_, fed_events in want for event in fed_events)
    assert replayed.replaying  # every minute came from the precomputed replay
    assert gap_closed > 10 and closing_with > 500
    # the comparison is not empty: events on every timeframe, of several kinds
    assert {tf for tf, _, _ in events} == set(config.timeframes)
    assert {kind for _, kind, _ in events} >= {"created", "touched", "invalidated", "expired"}
    detector_kinds = {"wicks": "wick", "poor": "poor", "boxes": "box", "origins": "origin"}
    assert {kind for _, _, kind in events} == {detector_kinds[d] for d in config.detectors} | {"confluence"}
    assert sum(events.values()) > 500


def _skip(minutes: list[Minute], at: int) -> list[Minute]:
    return minutes[:at] + minutes[at + 1 :]


def _other_close(minutes: list[Minute], at: int) -> list[Minute]:
    ts, open_, high, low, close, volume = minutes[at]
    changed = high if high != close else low  # still inside the minute's range
    assert changed != close
    return [*minutes[:at], (ts, open_, high, low, changed, volume), *minutes[at + 1 :]]


def _other_volume(minutes: list[Minute], at: int) -> list[Minute]:
    ts, open_, high, low, close, volume = minutes[at]
    return [*minutes[:at], (ts, open_, high, low, close, volume * 3), *minutes[at + 1 :]]


DIVERGENCES = {
    "a minute skipped": lambda minutes: (_skip(minutes, 3_000), 3_000),
    "the first minute skipped": lambda minutes: (_skip(minutes, 0), 0),
    "the minute before a long gap skipped": lambda minutes: (_skip(minutes, LAST_BEFORE_GAP), LAST_BEFORE_GAP),
    "another close": lambda minutes: (_other_close(minutes, 3_000), 3_000),
    "another volume, the same close": lambda minutes: (_other_volume(minutes, 3_000), 3_000),
}


@pytest.mark.parametrize("how", list(DIVERGENCES))
def test_a_minute_the_replay_did_not_precompute_hands_over_to_a_streaming_engine(bars, minutes, how):
    config = CONFIGS["default"]
    sequence, at = DIVERGENCES[how](minutes)
    replayed = ReplayedLevelFeed(config, bars_frame(bars))
    got = []
    for i, minute in enumerate(sequence):
        got.append(exact(replayed.on_minute(*minute)))
        assert replayed.replaying == (i < at)
    want = feed_all(MinuteLevelFeed(config), sequence)
    assert got == want
    assert sum(len(events) for fed in want[at:] for *_, events in fed) > 500
    # the divergence matters: the precomputed events of the same minutes differ from what the streaming engine gives
    untouched = dict(zip((m[0] for m in minutes), feed_all(MinuteLevelFeed(config), minutes), strict=True))
    assert [untouched[minute[0]] for minute in sequence[at:]] != want[at:]


def test_minutes_beyond_the_precomputed_ones_stream_on(bars, minutes):
    """The node hands in more minutes than the replay was computed from: the feed streams on from the caught-up engine,
    which holds the higher-timeframe candles still being built."""
    config = CONFIGS["to_4h"]
    precomputed = 5_000
    replayed = ReplayedLevelFeed(config, bars_frame(bars[:precomputed]))
    got = []
    for i, minute in enumerate(minutes):
        got.append(exact(replayed.on_minute(*minute)))
        assert replayed.replaying == (i < precomputed)
    want = feed_all(MinuteLevelFeed(config), minutes)
    assert got == want
    after = [tf for fed in want[precomputed:] for tf, *_ in fed]
    assert {"15m", "30m", "4h"} <= set(after)  # higher-timeframe candles begun in the replay closed after it


def engine_state(engine: LevelEngine) -> tuple:
    return engine.book.active(), dict(engine.index), engine.last_close, engine.scored_levels(), engine.pressure()


@pytest.mark.parametrize("at", [0, LAST_BEFORE_GAP + 1, 3_000, ROWS])
def test_reading_the_engine_catches_it_up_on_the_minutes_served(bars, minutes, at):
    config = CONFIGS["default"]
    replayed, streamed = ReplayedLevelFeed(config, bars_frame(bars)), MinuteLevelFeed(config)
    before = [exact(replayed.on_minute(*minute)) for minute in minutes[:at]]
    assert before == feed_all(streamed, minutes[:at])
    assert replayed.replaying
    engine = replayed.engine
    assert not replayed.replaying
    assert engine is replayed.engine  # the same engine on every read
    state = engine_state(engine)
    assert state == engine_state(streamed.engine)
    if at:
        levels = state[0]
        assert len(levels) > 5 and len({level.kind for level in levels}) > 1
        assert state[2] == minutes[at - 1][4]  # the last close served
        assert any(band.support_count or band.resistance_count for band in state[4].bands)
        assert replayed.fed(minutes[at - 1][0]) is not None  # the last minute is still known to a sharing reader
    assert feed_all(replayed, minutes[at:]) == feed_all(streamed, minutes[at:])
    assert engine_state(replayed.engine) == engine_state(streamed.engine)


# -- the source ------------------------------------------------------------------------------------------------------


def test_the_source_grants_a_replayed_feed_from_enough_bars_of_the_type_asked(bars):
    config = CONFIGS["wicks"]
    other_instrument = "ETH-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL"
    cases = [
        (len(bars) + 1, BAR_TYPE, config, None),  # one bar short
        (1, other_instrument, config, None),  # no bars of that type
        (1, BAR_TYPE, LevelEngineConfig(timeframes=("5m", "1h")), None),  # not built on 1-minute candles
        (len(bars), BAR_TYPE, config, BAR_TYPE),
    ]
    for min_bars, bar_type, request_config, granted in cases:
        source = LevelReplaySource(min_bars)
        source.add([*bars, "not a bar"])  # loaded data of any type passes through
        request = LevelFeedRequest(INSTRUMENT, bar_type, request_config)
        source(request)
        if granted is None:
            assert request.feed is None and source.granted == []
        else:
            assert isinstance(request.feed, ReplayedLevelFeed) and request.feed.replaying
            assert request.feed.config == config
            assert source.granted == [granted]
            source.release()  # the run is over: nothing more to grant
            again = LevelFeedRequest(INSTRUMENT, bar_type, request_config)
            source(again)
            assert again.feed is None


def test_a_data_entry_mixing_bar_types_costs_the_replay_never_a_level(bars, minutes):
    """The source keeps a data entry whole when its first and last bars share a type; bid bars hidden in the middle
    then sit in the replay's frame, the first of them differs from the minute fed, and the feed streams on."""
    from nautilus_trader.model.data import Bar, BarType
    from nautilus_trader.model.objects import Price

    bid = BarType.from_str(BAR_TYPE.replace("-LAST-", "-BID-"))
    hidden = [
        Bar(bid, b.open, Price(b.high.as_double() + 5, b.high.precision), b.low, b.close, b.volume, b.ts_event, b.ts_init)
        for b in bars[2_000:2_010]
    ]  # fmt: skip
    source = LevelReplaySource(1)
    source.add(bars[:2_000] + hidden + bars[2_000:])  # as loaded: by time, bid bars first at equal times
    request = LevelFeedRequest(INSTRUMENT, BAR_TYPE, CONFIGS["default"])
    source(request)
    feed = request.feed
    assert isinstance(feed, ReplayedLevelFeed)
    got = []
    for i, minute in enumerate(minutes):
        got.append(exact(feed.on_minute(*minute)))
        assert feed.replaying == (i < 2_000)
    assert got == feed_all(MinuteLevelFeed(CONFIGS["default"]), minutes)


def test_bars_frame_puts_the_bars_in_the_engines_order(bars):
    frame = bars_frame(bars)
    assert frame["ts"].tolist() == [bar.ts_event // 1_000_000 - 60_000 for bar in bars]
    assert frame["volume"].tolist() == [bar.volume.as_double() for bar in bars]
    shuffled = bars[1::2] + bars[::2]
    assert bars_frame(shuffled).equals(frame)


# -- in a node -------------------------------------------------------------------------------------------------------


def run(catalog, min_bars: int, actor: bool = True, actor_levels: dict | None = None) -> dict:
    """The shipped file on BTC (its LevelActor recording, with `actor_levels` if given; none if `actor` is False) in a
    RaveBacktestNode replaying levels from `min_bars` bars; what it traded, what the actor published, and the feeds."""
    nodes: list[RaveBacktestNode] = []

    def node(configs: list[Any]) -> RaveBacktestNode:
        nodes.append(RaveBacktestNode(configs, level_replay_min_bars=min_bars))
        return nodes[-1]

    def read(engine: Any) -> dict:
        strategy = engine.trader.strategies()[0]
        feed = strategy.levels
        out = {
            "feed": feed,
            "replaying": getattr(feed, "replaying", None),  # read before .engine, which ends the replay
            "orders": order_rows(engine),
            "fills": engine.trader.generate_order_fills_report().drop(columns=["init_id"]),
            "positions": engine.trader.generate_positions_report().sort_values(["ts_opened", "ts_closed"]).reset_index(drop=True),
            "signals": strategy.signals,
        }
        if actor:
            level_actor = engine.trader.actors()[0]
            out["events"] = list(level_actor.events)
            out["actor_feed"] = level_actor._feeds[INSTRUMENT]
        out["engine"] = engine_state(feed.engine)  # the replayed feed's engine, caught up on the whole run
        return out

    out = run_shipped(catalog, level_run_edit(actor, actor_levels=actor_levels), read, node_factory=node)
    [source] = nodes[0].level_sources.values()
    out["granted"] = source.granted
    return out


def assert_same_trading(replayed: dict, streamed: dict) -> None:
    assert len(streamed["orders"]) > 20 and len(streamed["positions"]) > 5  # it traded
    assert replayed["orders"] == streamed["orders"]
    assert replayed["fills"].equals(streamed["fills"])
    assert replayed["positions"].equals(streamed["positions"])
    assert replayed["signals"] == streamed["signals"]
    assert replayed["engine"] == streamed["engine"]


def test_the_shipped_run_trades_and_publishes_the_same_with_levels_replayed(catalog):
    replayed, streamed = run(catalog, min_bars=1), run(catalog, min_bars=ROWS + 1)
    assert replayed["granted"] == [BAR_TYPE] and streamed["granted"] == []
    # the LevelActor took the replayed feed, shared it with the strategy, and every minute came from the replay
    assert type(replayed["actor_feed"]) is ReplayedLevelFeed and replayed["actor_feed"] is replayed["feed"]
    assert replayed["replaying"] is True
    assert type(streamed["actor_feed"]) is MinuteLevelFeed and streamed["actor_feed"] is streamed["feed"]
    assert_same_trading(replayed, streamed)
    assert len(streamed["events"]) > 1_000
    assert replayed["events"] == streamed["events"]
    assert {tf for _, tf, _ in streamed["events"]} == {"1m", "5m", "15m", "1h"}


def test_a_strategy_without_a_level_actor_replays_its_own_levels(catalog):
    replayed, streamed = run(catalog, min_bars=ROWS, actor=False), run(catalog, min_bars=ROWS + 1, actor=False)
    assert replayed["granted"] == [BAR_TYPE] and streamed["granted"] == []
    assert type(replayed["feed"]) is ReplayedLevelFeed and replayed["replaying"] is True
    assert type(streamed["feed"]) is MinuteLevelFeed
    assert_same_trading(replayed, streamed)


def test_an_actor_with_other_levels_and_the_strategy_each_replay_their_own(catalog):
    """The strategy's levels config differs from the actor's: it gets no LevelActor's feed, and takes its own from the source."""
    actor_levels = {"detectors": ["wicks", "poor"], "wicks": {"min_wick_bps": 9.0}}
    replayed, streamed = run(catalog, min_bars=1, actor_levels=actor_levels), run(catalog, min_bars=ROWS + 1, actor_levels=actor_levels)
    assert replayed["granted"] == [BAR_TYPE, BAR_TYPE] and streamed["granted"] == []
    assert replayed["actor_feed"] is not replayed["feed"]
    assert type(replayed["actor_feed"]) is ReplayedLevelFeed and replayed["actor_feed"].replaying
    assert type(replayed["feed"]) is ReplayedLevelFeed and replayed["replaying"] is True
    assert_same_trading(replayed, streamed)
    assert len(streamed["events"]) > 1_000
    assert replayed["events"] == streamed["events"]
    assert {event.level.kind.value for _, _, event in streamed["events"]} == {"wick", "poor", "confluence"}


def test_feeds_of_one_memo_replay_share_it_and_each_hands_out_the_streaming_output(bars, minutes):
    """A memo's replay serves several feeds, each from its own position; other bars or another config get their own."""
    memo, config = ReplayMemo(entries=2), CONFIGS["default"]
    first = ReplayedLevelFeed(config, memo.get(config, bars_frame(bars)))
    half = feed_all(first, minutes[:3_000])
    second = ReplayedLevelFeed(config, memo.get(config, bars_frame(list(bars))))  # equal bars, another list
    assert memo.hits == 1
    want = feed_all(MinuteLevelFeed(config), minutes)
    assert feed_all(second, minutes) == want  # from the start, although the first feed is half-way
    assert half + feed_all(first, minutes[3_000:]) == want
    assert first.replaying and second.replaying
    memo.get(CONFIGS["wicks"], bars_frame(bars))  # another config
    memo.get(config, bars_frame(bars[:5_000]))  # other bars; the memo holds 2: the oldest goes
    assert memo.hits == 1 and len(memo._replays) == 2
    memo.get(config, bars_frame(bars))
    assert memo.hits == 1  # it was the oldest, so it was dropped and replayed again


class _PricelessBar:
    """A stand-in for a loaded Bar whose prices must not be read: the feed serves the very object it expects from
    the replay alone."""

    def __init__(self, bar: Any) -> None:
        self.ts_event = bar.ts_event

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the feed read .{name} of the bar it expected")


def test_the_very_bar_objects_it_was_computed_from_are_served_without_reading_their_prices(bars, minutes):
    config = CONFIGS["default"]
    stand_ins = [_PricelessBar(bar) for bar in bars]
    replayed = ReplayedLevelFeed(config, bars_frame(bars), stand_ins)
    streamed = MinuteLevelFeed(config)
    for stand_in, minute in zip(stand_ins, minutes, strict=True):
        assert exact(replayed.on_bar(stand_in)) == exact(streamed.on_minute(*minute))
    assert replayed.replaying


def test_another_object_with_the_same_prices_is_checked_and_one_with_other_prices_streams(bars, minutes):
    config = CONFIGS["wicks"]
    replayed = ReplayedLevelFeed(config, bars_frame(bars), list(bars))
    streamed = MinuteLevelFeed(config)
    for bar, minute in zip(catalog_copies(bars[:1000]), minutes[:1000], strict=True):  # other objects: checked price by price
        assert exact(replayed.on_bar(bar)) == exact(streamed.on_minute(*minute))
    assert replayed.replaying
    changed = catalog_copies([bars[1000]], close_shift=0.1)[0]
    assert exact(replayed.on_bar(changed)) == exact(streamed.on_bar(changed))  # another close: it streams from here
    assert not replayed.replaying
    for bar in bars[1001:3000]:
        assert exact(replayed.on_bar(bar)) == exact(streamed.on_bar(bar))


def catalog_copies(bars: list[Any], close_shift: float = 0.0) -> list[Any]:
    """New Bar objects with the same fields (the close moved by `close_shift` when given, the high and low with it)."""
    from nautilus_trader.model.data import Bar
    from nautilus_trader.model.objects import Price

    out = []
    for bar in bars:
        close = bar.close.as_double() + close_shift
        high, low = max(bar.high.as_double(), close), min(bar.low.as_double(), close)
        precision = bar.close.precision
        out.append(Bar(bar.bar_type, bar.open, Price(high, precision), Price(low, precision), Price(close, precision), bar.volume, bar.ts_event, bar.ts_init))
    return out
