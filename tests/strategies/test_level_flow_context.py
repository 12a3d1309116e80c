"""Level events enriched with their order-flow context: the OrderFlowActor (`enrich_levels`) in a BacktestNode built
from a run file, fed the LevelActor's events on 1-minute bars built from the trades of the real Binance spot capture
(11 minutes, 2024-08-08 23:54 .. 2024-08-09 00:05) and that capture's trades and L2 book, emits exactly what the
research path (`research.orderflow.context.level_contexts`) computes from the same catalog."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from nautilus_trader.backtest.node import BacktestNode
from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig
from nautilus_trader.model.identifiers import InstrumentId

from ravebear.platform.nodes.backtest import check_data_available
from ravebear.platform.nodes.composer import backtest_run_config
from ravebear.platform.nodes.run_file import ConfigError, parse_run_file
from ravebear.research.orderflow.context import level_contexts
from ravebear.research.orderflow.load import load
from ravebear.strategies.levels.engine import LevelEngineConfig
from ravebear.strategies.levels.model import EventKind
from ravebear.strategies.microstructure.absorption import AbsorptionConfig, AbsorptionDetector
from ravebear.strategies.microstructure.level_context import LevelContextTracker, level_key
from ravebear.strategies.orderflow_actor import level_context_config, level_context_data_type
from tests.catalog.orderflow.captures import PREFIXES, TRADES_BOOK
from tests.strategies.spot_capture import INSTRUMENT, spot_catalog
from tests.strategies.spot_capture import LEVELS as CAPTURE_LEVELS

LEVELS = {"timeframes": ["1m"], **CAPTURE_LEVELS}
CONTEXT = {"absorption": {"bucket_s": 5, "lookback_buckets": 6}, "whales": {"min_notional": 100_000}, "delta_window_s": 30}


class ContextListenerConfig(ActorConfig, frozen=True, kw_only=True):
    """The instrument whose level contexts to listen to."""

    instrument_id: str


class ContextListener(Actor):
    """A consumer of the LevelFlowContext data, subscribed as a strategy would be."""

    def __init__(self, config: ContextListenerConfig) -> None:
        super().__init__(config)
        self.received: list = []

    def on_start(self) -> None:
        self.subscribe_data(level_context_data_type(self.config.instrument_id), instrument_id=InstrumentId.from_str(self.config.instrument_id))

    def on_stop(self) -> None:
        pass

    def on_data(self, data) -> None:  # noqa: ANN001 - any custom data
        self.received.append(data)


def run_file(catalog_path: str, context: dict | None = None) -> dict:
    return {
        "run": {"catalog_path": catalog_path, "tearsheet": False, "risk_report": False, "log_level": "ERROR"},
        "venue": {"name": "BINANCE", "starting_balance": "10000 USDT", "account_type": "CASH"},
        "data": [{"instrument_id": INSTRUMENT, "kind": kind} for kind in ("bars", "trades", "book")],
        "actors": [
            {"actor_path": "ravebear.strategies.level_actor:LevelActor", "config": {"instrument_ids": [INSTRUMENT], "timeframes": ["1m"],
             "levels": {k: v for k, v in LEVELS.items() if k != "timeframes"}, "record": True}},
            {"actor_path": "ravebear.strategies.orderflow_actor:OrderFlowActor", "config": {"instrument_ids": [INSTRUMENT], "enrich_levels": True,
             "level_context": CONTEXT if context is None else context, "record": True}},
            {"actor_path": f"{__name__}:ContextListener", "config": {"instrument_id": INSTRUMENT}},
        ],
    }  # fmt: skip


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    return spot_catalog(tmp_path_factory.mktemp("level_context") / "cat")


@pytest.fixture(scope="module")
def node_run(catalog):
    config = parse_run_file(yaml.safe_dump(run_file(str(catalog.path))), "level_context.yaml")
    check_data_available(config, catalog)
    run_config = backtest_run_config(config, catalog.path.resolve())
    node = BacktestNode(configs=[run_config])
    node.run()
    return node.get_engine(run_config.id).trader.actors()


def test_the_actor_emits_the_research_paths_enriched_level_events(catalog, node_run):
    level_actor, orderflow_actor, listener = node_run
    research = level_contexts(load(catalog, INSTRUMENT, None, None), LevelEngineConfig.from_dict(LEVELS), level_context_config(CONTEXT))
    # the level engine saw the same candles in both: the same CREATED and TOUCHED events in the same order
    node_levels = [(e.ts, e.kind, e.level) for _, _, e in level_actor.events if e.kind in (EventKind.CREATED, EventKind.TOUCHED)]
    assert node_levels == [(e.ts, e.kind, e.level) for _, e, _ in research]
    contexts = orderflow_actor.contexts
    assert len(contexts) == len(research) >= 20
    for data, (timeframe, event, context) in zip(contexts, research, strict=True):
        level = event.level
        assert (data.ts_event, data.event, data.kind, data.side, data.timeframe, data.low, data.high, data.created_ts) == (
            event.ts, event.kind.value, level.kind.value, level.side.value, timeframe, level.low, level.high, level.created_ts)
        assert (data.last_price, data.has_book, data.obi, data.weighted_obi, data.spread_bps, data.delta, data.price_move_bps,
                data.absorption_tier, data.whale_age_s, data.whale_side, data.whale_notional, data.zone_state, data.zone_defended,
                data.zone_refill, data.zone_absorbed_quote) == dataclasses.astuple(context)[4:]  # fmt: skip
    assert listener.received == contexts  # published once each, to a subscriber as a strategy subscribes
    # the capture holds every kind of reading: the comparison above is not of empty contexts
    states = {data.zone_state for data in contexts}
    assert {"untested", "defended", "broken", "testing"} <= states
    assert any(data.absorption_tier > 0 for data in contexts) and any(data.whale_age_s >= 0 for data in contexts)
    assert all(data.has_book for data in contexts) and len({data.obi for data in contexts}) > 5


def test_the_context_reads_only_what_came_before_the_event(catalog):
    """Brute force over the capture: OBI, delta and the whale tag of each context from the raw lists, items before its time."""
    from ravebear.strategies.microstructure.book_features import BookFeatureConfig, book_features
    from ravebear.strategies.microstructure.types import Book

    flow = load(catalog, INSTRUMENT, None, None)
    config = level_context_config(CONTEXT)
    research = level_contexts(flow, LevelEngineConfig.from_dict(LEVELS), config)
    for _, event, context in research:
        before = [t for t in flow.trades if t.ts_ns < event.ts]
        window = [t for t in before if t.ts_ns > event.ts - config.delta_window_s * 1e9]
        assert context.delta == pytest.approx(sum(t.size * t.aggressor for t in window), abs=1e-9)
        assert context.last_price == before[-1].price
        whales = [t for t in before if t.price * t.size >= config.whales.min_notional]
        assert context.whale_age_s == ((event.ts - whales[-1].ts_ns) / 1e9 if whales else -1.0)
        book = Book()
        for update in flow.book:
            if update is None:
                book.clear()
            elif update.ts_ns < event.ts:
                book.apply(update)
            else:
                break
        features = book_features(book, BookFeatureConfig())
        assert (context.obi, context.weighted_obi) == (features.obi, features.weighted_obi)


def test_advancing_absorption_by_time_gives_the_buckets_the_next_trade_would():
    """`AbsorptionDetector.advance` closes a bucket at its end; the buckets and tiers equal those of trades alone."""
    import pandas as pd

    from ravebear.strategies.microstructure.types import Trade

    frame = pd.read_parquet(TRADES_BOOK / f"{PREFIXES['spot']}trades.parquet")
    trades = [Trade(int(ts), float(p), float(q), -1 if m else 1) for ts, p, q, m in frame[["local_ts_ns", "price", "qty", "is_buyer_maker"]].itertuples(index=False)]
    config = AbsorptionConfig(bucket_s=5, lookback_buckets=6)
    plain, timed = AbsorptionDetector(config), AbsorptionDetector(config)
    by_trades = [b for b in map(plain.update, trades) if b is not None]
    by_time = []
    for trade in trades:
        for now in (trade.ts_ns - 7_000_000_000, trade.ts_ns - 1):  # reads between trades, as level events do
            closed = timed.advance(now)
            if closed is not None:
                by_time.append(closed)
        closed = timed.update(trade)
        if closed is not None:
            by_time.append(closed)
    assert by_time == by_trades and any(b.tier for b in by_trades)


def test_a_zone_key_survives_the_level_events_round_trip(node_run):
    from ravebear.strategies.level_actor import from_data, to_data

    level_actor = node_run[0]
    for _, _, event in level_actor.events:
        assert level_key(from_data(to_data(InstrumentId.from_str(INSTRUMENT), event)).level) == level_key(event.level)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"near_bps": -1}, "level_context.yaml: 'actors[1].config.level_context.near_bps' must be between 0 and 5,000 bps, got -1"),
        ({"delta_windw_s": 5}, "level_context.yaml: actors[1]: config: unknown key 'level_context.delta_windw_s' (did you mean 'delta_window_s'?) for OrderFlowActorConfig"),
        ({"zone_defense": {"touch_window_s": 0}},
         "level_context.yaml: 'actors[1].config.level_context.zone_defense.touch_window_s' must be above 0 and at most 86,400 seconds, got 0"),
        ({"zone_defense": {"min_refil": 1}},
         "level_context.yaml: actors[1]: config: unknown key 'level_context.zone_defense.min_refil' (did you mean 'min_refill'?) for OrderFlowActorConfig"),
    ],
)
def test_a_bad_level_context_setting_is_named_with_its_key(tmp_path, context, message):
    with pytest.raises(ConfigError) as raised:
        parse_run_file(yaml.safe_dump(run_file(str(tmp_path), context)), "level_context.yaml")
    assert str(raised.value) == message


def test_a_tracker_holds_back_items_stamped_at_the_event():
    """Items stamped exactly at a level event's time count after it, whatever order they came in."""
    from ravebear.strategies.levels.model import Level, LevelEvent, LevelKind, LevelSide
    from ravebear.strategies.microstructure.types import Trade

    level = Level(LevelKind.WICK, LevelSide.SUPPORT, 100.0, 100.0, "1m", 60, 1, 0.5)
    early, late = LevelContextTracker(), LevelContextTracker()
    for tracker, order in ((early, "before"), (late, "after")):
        tracker.on_trade(Trade(10, 101.0, 2.0, 1))
        if order == "before":
            tracker.on_trade(Trade(60, 99.0, 5.0, -1))
        context = tracker.on_level(LevelEvent(EventKind.CREATED, level, 60))
        if order == "after":
            tracker.on_trade(Trade(60, 99.0, 5.0, -1))
        assert (context.delta, context.last_price) == (2.0, 101.0)


def test_absorption_counts_at_the_level_only_for_aggressors_pushing_into_it():
    """Hand-built: 10 sold into 100 without a move after two 1-lot buckets is a tier-3 bucket of absorbed sellers."""
    from ravebear.strategies.microstructure.level_context import LevelContextConfig
    from ravebear.strategies.microstructure.types import Trade

    second = 1_000_000_000
    tracker = LevelContextTracker(LevelContextConfig(absorption=AbsorptionConfig(bucket_s=1.0, lookback_buckets=2), near_bps=10.0))
    for trade in (Trade(0, 100.0, 1.0, 1), Trade(1 * second, 100.0, 1.0, -1), Trade(2 * second, 100.0, 10.0, -1)):
        tracker.on_trade(trade)
    assert tracker.context(3 * second, 100.0, 100.0, 1).absorption_tier == 3  # a support: sellers absorbed, the bucket ending at T counts
    assert tracker.context(3 * second, 100.0, 100.0, -1).absorption_tier == 0  # a resistance wants buyers absorbed
    assert tracker.context(3 * second, 100.2, 100.2, 1).absorption_tier == 0  # 20 bps away: beyond near_bps
    assert tracker.context(3 * second, 100.05, 100.2, 1).absorption_tier == 3  # 5 bps from the zone's edge


def test_a_level_ending_on_a_candle_is_still_read_on_that_candle():
    from ravebear.strategies.levels.model import Level, LevelEvent, LevelKind, LevelSide
    from ravebear.strategies.microstructure.types import Trade

    minute = 60_000_000_000
    zone = Level(LevelKind.CONFLUENCE, LevelSide.SUPPORT, 99.0, 100.0, "1m", minute, 1, 0.5)
    tracker = LevelContextTracker()
    tracker.on_trade(Trade(minute // 2, 101.0, 1.0, 1))
    assert tracker.on_level(LevelEvent(EventKind.CREATED, zone, minute)).zone_state == "untested"
    tracker.on_level(LevelEvent(EventKind.INVALIDATED, zone, 2 * minute))
    assert tracker.context(2 * minute, 99.0, 100.0, 1, level_key(zone)).zone_state == "untested"  # the same candle: still watched
    assert tracker.context(2 * minute + 1, 99.0, 100.0, 1, level_key(zone)).zone_state == ""  # later: gone
