"""`LevelActor`: the level engine inside a node, for any number of instruments.

Subscribes to each instrument's 1-minute bars and feeds them, with the higher timeframes built from
them as research builds them (`StreamingAggregator`: no nautilus aggregators or timers), to a
`LevelEngine` per instrument; publishes every event as `LevelEventData` custom data, and can
write the events to the catalog. Strategies subscribe to `LevelEventData` and keep a
`LevelBook`, or, in the same process, ask the actor with `engine(instrument_id)`.
A level strategy with an equal levels config on the same bars shares the actor's engine
(`level_sharing.py`): it runs once per bar for both.
"""

from __future__ import annotations

from typing import Any

import msgspec

from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig
from nautilus_trader.model.data import Bar, DataType
from nautilus_trader.model.identifiers import InstrumentId

from ravebear.catalog.level_data import LevelEventData
from ravebear.ranges import Range, check_ranges
from ravebear.strategies.bar_types import bar_type_for
from ravebear.strategies.level_sharing import LevelFeedRequest, grant_level_feed, level_feed_endpoint, sourced_level_feed
from ravebear.strategies.levels.engine import LevelEngine, LevelEngineConfig
from ravebear.strategies.levels.feed import MinuteLevelFeed
from ravebear.strategies.levels.model import EventKind, Level, LevelEvent, LevelKind, LevelSide
from ravebear.strategies.levels.timeframes import timeframe_minutes


class LevelActorConfig(ActorConfig, frozen=True, kw_only=True):
    """Instruments, timeframes and level-engine thresholds (`levels`: LevelEngineConfig fields)."""

    instrument_ids: list[str]
    timeframes: tuple[str, ...] = ("1m", "5m", "15m", "1h")  # the first must be 1m: the base the others build from
    levels: dict[str, Any] = msgspec.field(default_factory=dict)  # e.g. {"wicks": {"min_wick_bps": 6}, "detectors": ["wicks", "boxes"]}
    publish: bool = True  # publish LevelEventData on the message bus
    record: bool = False  # keep every (instrument, timeframe, event) in memory (tests, research parity)
    catalog_path: str | None = None  # write LevelEventData here, in batches and at stop
    flush_every: int = 50_000  # events buffered before a catalog write

    def __post_init__(self) -> None:
        check_ranges(self, {"flush_every": Range(1, 10_000_000, "events")})


_VALUES = {member: member.value for enum in (EventKind, LevelKind, LevelSide) for member in enum}  # Enum.value is a slow property


def to_data(instrument_id: InstrumentId, event: LevelEvent) -> LevelEventData:
    """Turn a level event into custom data stamped at the event's candle close."""
    level, values = event.level, _VALUES
    # positional (ts_event, ts_init, then the fields in declaration order): 1.7 us against 2.7 us with keywords,
    # one per level event; the round-trip test in tests/strategies/test_level_parity.py holds the order
    return LevelEventData(
        event.ts, event.ts, instrument_id, values[event.kind], values[level.kind], values[level.side], level.timeframe,
        level.low, level.high, level.quality, event.score, event.depth_bps, event.age_bars, event.direction,
        level.created_ts, level.created_index,
    )  # fmt: skip


def from_data(data: LevelEventData) -> LevelEvent:
    """Turn custom data back into the pure level event (for a strategy's LevelBook)."""
    level = Level(
        LevelKind(data.kind), LevelSide(data.side), data.low, data.high, data.timeframe,
        data.created_ts, data.created_index, data.quality,
    )  # fmt: skip
    return LevelEvent(EventKind(data.event), level, data.ts_event, data.depth_bps, data.age_bars, data.score, data.direction)


class LevelActor(Actor):
    """Run a LevelEngine per instrument on 1m bars and the higher timeframes built from them."""

    def __init__(self, config: LevelActorConfig) -> None:
        super().__init__(config)
        if timeframe_minutes(config.timeframes[0]) != 1:
            raise ValueError(f"LevelActor timeframes must start with 1m, got {config.timeframes}")
        self._engine_config = LevelEngineConfig.from_dict({**config.levels, "timeframes": list(config.timeframes)})
        self._feeds: dict[str, MinuteLevelFeed] = {}
        self._routes: dict[str, tuple[MinuteLevelFeed, InstrumentId, DataType]] = {}  # by instrument: a BarType key costs 0.7 us a lookup
        self._endpoints: list[tuple[str, Any]] = []
        self._buffer: list[LevelEventData] = []
        self._buffer_last_ts = 0  # latest ts_init in the buffer (ns)
        self.events: list[tuple[str, str, LevelEvent]] = []
        self.event_count = 0

    def engine(self, instrument_id: str) -> LevelEngine:
        """Return an instrument's engine: `.book.active()` levels, `.pressure()` map."""
        return self._feeds[instrument_id].engine

    def on_start(self) -> None:
        """Create a feed per instrument, subscribe to its 1-minute bars and offer the feed to the node's strategies."""
        for instrument_id in self.config.instrument_ids:
            bar_type = bar_type_for(instrument_id, self.config.timeframes[0])
            feed = sourced_level_feed(self.msgbus, instrument_id, str(bar_type), self._engine_config) or MinuteLevelFeed(self._engine_config)
            self._feeds[instrument_id] = feed
            identifier = InstrumentId.from_str(instrument_id)
            data_type = DataType(LevelEventData, metadata={"instrument_id": instrument_id})
            self._routes[instrument_id] = (feed, identifier, data_type)
            self.subscribe_bars(bar_type)
            endpoint = level_feed_endpoint(instrument_id)
            if endpoint not in self.msgbus.endpoints():  # another LevelActor serving the instrument keeps it

                def grant(request: LevelFeedRequest, feed: MinuteLevelFeed = feed, bar_type: str = str(bar_type)) -> None:
                    grant_level_feed(request, feed, bar_type)

                self.msgbus.register(endpoint, grant)
                self._endpoints.append((endpoint, grant))

    def on_bar(self, bar: Bar) -> None:
        """Feed the minute (unless a strategy sharing the feed already did) and publish the events of every candle it completed."""
        routes = self._routes  # one instrument: it receives only the bars it subscribed to (reading the bar's: ~0.4 us)
        feed, instrument_id, data_type = next(iter(routes.values())) if len(routes) == 1 else routes[bar.bar_type.instrument_id.value]
        fed = feed.fed(bar.ts_event)  # a strategy sharing the feed had the bar first
        if fed is None:
            fed = feed.on_bar(bar)
        for timeframe, _candle, events in fed:
            if events:
                self._publish(instrument_id, data_type, timeframe, events)

    def _publish(self, instrument_id: InstrumentId, data_type: DataType, timeframe: str, events: list[LevelEvent]) -> None:
        self.event_count += len(events)
        config = self.config
        if config.record:
            key = instrument_id.value
            self.events.extend((key, timeframe, event) for event in events)
        if config.publish or config.catalog_path:
            batch = [to_data(instrument_id, event) for event in events]
            if config.catalog_path and len(self._buffer) >= config.flush_every and min(d.ts_init for d in batch) > self._buffer_last_ts:
                # written only between instants: events of one instant (a 1m bar and the 5m bar closing with it)
                # in two files would give the files overlapping intervals, which the catalog refuses
                self._flush()
            for data in batch:
                if config.publish:
                    self.publish_data(data_type, data)
                if config.catalog_path:
                    self._buffer.append(data)
                    self._buffer_last_ts = max(self._buffer_last_ts, data.ts_init)

    def on_stop(self) -> None:
        """Withdraw the feeds' endpoints; write buffered events to the catalog."""
        for endpoint, grant in self._endpoints:
            self.msgbus.deregister(endpoint, grant)
        self._endpoints.clear()
        self._flush()

    def _flush(self) -> None:
        if not self._buffer or not self.config.catalog_path:
            return
        from ravebear.catalog.atomic_write import write_data

        batch, self._buffer = self._buffer, []
        batch.sort(key=lambda data: data.ts_init)
        write_data(self.config.catalog_path, batch)  # atomic: a killed node leaves whole batches only
        self.log.info(f"wrote {len(batch)} level events to {self.config.catalog_path}")
