"""`LevelActor`: the level engine inside a node, for any number of instruments.

Subscribes to each instrument's 1-minute bars and to the higher timeframes built from them by
nautilus internal aggregation (`...-5-MINUTE-LAST-INTERNAL@1-MINUTE-EXTERNAL`), feeds them to a
`LevelEngine` per instrument, publishes every event as `LevelEventData` custom data, and can
write the events to the catalog. Strategies subscribe to `LevelEventData` and keep a
`LevelBook`, or, in the same process, ask the actor with `engine(instrument_id)`.
The node must build time bars with `time_bars_build_with_no_updates=False` for its
higher timeframes to equal research's (docs/NOTES.md).
"""

from __future__ import annotations

from typing import Any

import msgspec

from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig
from nautilus_trader.model.data import Bar, BarType, DataType
from nautilus_trader.model.identifiers import InstrumentId

from ravebear.catalog.level_data import LevelEventData
from ravebear.ranges import Range, check_ranges
from ravebear.strategies.bar_types import bar_type_for
from ravebear.strategies.levels.engine import LevelEngine, LevelEngineConfig
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


def to_data(instrument_id: InstrumentId, event: LevelEvent) -> LevelEventData:
    """Turn a level event into custom data stamped at the event's candle close."""
    level = event.level
    return LevelEventData(
        instrument_id=instrument_id,
        event=event.kind.value,
        kind=level.kind.value,
        side=level.side.value,
        timeframe=level.timeframe,
        low=level.low,
        high=level.high,
        quality=level.quality,
        score=event.score,
        depth_bps=event.depth_bps,
        age_bars=event.age_bars,
        direction=event.direction,
        created_ts=level.created_ts,
        created_index=level.created_index,
        ts_event=event.ts,
        ts_init=event.ts,
    )


def from_data(data: LevelEventData) -> LevelEvent:
    """Turn custom data back into the pure level event (for a strategy's LevelBook)."""
    level = Level(
        LevelKind(data.kind), LevelSide(data.side), data.low, data.high, data.timeframe,
        data.created_ts, data.created_index, data.quality,
    )  # fmt: skip
    return LevelEvent(EventKind(data.event), level, data.ts_event, data.depth_bps, data.age_bars, data.score, data.direction)


class LevelActor(Actor):
    """Run a LevelEngine per instrument on 1m bars and their nautilus-aggregated higher timeframes."""

    def __init__(self, config: LevelActorConfig) -> None:
        super().__init__(config)
        if timeframe_minutes(config.timeframes[0]) != 1:
            raise ValueError(f"LevelActor timeframes must start with 1m, got {config.timeframes}")
        self._engine_config = LevelEngineConfig.from_dict({**config.levels, "timeframes": list(config.timeframes)})
        self._engines: dict[str, LevelEngine] = {}
        self._routes: dict[BarType, tuple[LevelEngine, str, InstrumentId, DataType]] = {}
        self._buffer: list[LevelEventData] = []
        self._buffer_last_ts = 0  # latest ts_init in the buffer (ns)
        self.events: list[tuple[str, str, LevelEvent]] = []
        self.event_count = 0

    def engine(self, instrument_id: str) -> LevelEngine:
        """Return an instrument's engine: `.book.active()` levels, `.pressure()` map."""
        return self._engines[instrument_id]

    def on_start(self) -> None:
        """Create an engine per instrument and subscribe to every timeframe's bars."""
        for instrument_id in self.config.instrument_ids:
            engine = self._engines[instrument_id] = LevelEngine(self._engine_config)
            identifier = InstrumentId.from_str(instrument_id)
            data_type = DataType(LevelEventData, metadata={"instrument_id": instrument_id})
            for timeframe in self.config.timeframes:
                bar_type = bar_type_for(instrument_id, timeframe)
                self._routes[bar_type.standard()] = (engine, timeframe, identifier, data_type)
                self.subscribe_bars(bar_type)

    def on_bar(self, bar: Bar) -> None:
        """Feed the bar to its instrument's engine and publish what it caused."""
        engine, timeframe, instrument_id, data_type = self._routes[bar.bar_type]
        events = engine.on_candle(
            timeframe, bar.open.as_double(), bar.high.as_double(), bar.low.as_double(), bar.close.as_double(),
            bar.volume.as_double(), bar.ts_event,
        )  # fmt: skip
        if not events:
            return
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
        """Write buffered events to the catalog."""
        self._flush()

    def _flush(self) -> None:
        if not self._buffer or not self.config.catalog_path:
            return
        from ravebear.catalog.atomic_write import write_data

        batch, self._buffer = self._buffer, []
        batch.sort(key=lambda data: data.ts_init)
        write_data(self.config.catalog_path, batch)  # atomic: a killed node leaves whole batches only
        self.log.info(f"wrote {len(batch)} level events to {self.config.catalog_path}")
