"""`SwarmActor`: the signal swarm inside a node (backtest, paper, live), for any number of instruments.

Per instrument one `Swarm` (`strategies/swarm/`). The actor subscribes to the instrument's 1-minute bars (the
LevelActor's bar type, `bar_types.bar_type_for`) and, only when one of its bots reads them, to its trades and L2 book
deltas (or quotes, `book_source: quotes`) when the node has them (`data_kinds`: the run file's `data:` entries), its
funding rates (`FundingRate`, not predicted), whale transfers (`WhaleTransaction`) and the 1-minute bars of its
`reference` instrument. It turns each into the swarm's plain types and, at each 1-minute bar, publishes a
`SwarmSignal` (catalog/swarm_data.py) on the instrument's data type (`swarm_data_type`). Per-bot and per-regime hit
rates are tracked as each vote's outcome becomes known (`swarm.hit_rates.HitRateTracker`, read with
`hit_rates(instrument_id)`).

Times: trades and book updates are stamped with their `ts_init` (the node's clock, the clock candle closes are on).
A book CLEAR (before a fresh snapshot, e.g. after a reconnect) reaches the bots as a delete of every level they hold.
A reference candle is handed to the swarm before the instrument's own candle of the same minute: an own candle that
arrives first waits (one candle at most) for the reference's, or for the next event of either instrument.
Whale transfers: +1 when coins leave exchanges (bullish), -1 when they go in, 0 other; stablecoins (the entry
filter's `whale_stablecoins`) count the other way (stablecoins sent to an exchange are buying power).
"""

from __future__ import annotations

import difflib
from typing import Any

import msgspec
from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig
from nautilus_trader.model.data import (
    Bar,
    BarType,
    DataType,
    OrderBookDeltas,
    QuoteTick,
    TradeTick,
)
from nautilus_trader.model.enums import AggressorSide, BookAction, BookType, OrderSide
from nautilus_trader.model.identifiers import ClientId, InstrumentId

from ravebear.catalog.swarm_data import SwarmSignal, swarm_data_type, vote_summary
from ravebear.strategies.bar_types import BASE_BARS, bar_type_for
from ravebear.strategies.entry_filter import EntryFilterConfig
from ravebear.strategies.levels.timeframes import Candle
from ravebear.strategies.microstructure.types import BookUpdate, Quote, Trade
from ravebear.strategies.swarm.bot import BOOK, FUNDING, REFERENCE, TRADES, WHALES
from ravebear.strategies.swarm.hit_rates import CONSENSUS
from ravebear.strategies.swarm.state import REGIME_NAMES, SwarmState

BOOK_SOURCES = ("deltas", "quotes", "none")
SWARM_DATA_TYPES = {FUNDING: "FundingRate", WHALES: "WhaleTransaction"}  # the alt-data type names bots' inputs read
_BUYER, _SELLER = AggressorSide.BUYER, AggressorSide.SELLER
_CLEAR, _DELETE, _BUY_SIDE = BookAction.CLEAR, BookAction.DELETE, OrderSide.BUY
_STABLECOINS = frozenset(EntryFilterConfig().whale_stablecoins)  # the entry filter's whale_flow list: the same transfers, the same sign


class SwarmActorConfig(ActorConfig, frozen=True, kw_only=True):
    """Instruments, the swarm (bots, their thresholds, consensus, regime) and where its inputs come from."""

    instrument_ids: list[str]
    swarm: dict[str, Any] = msgspec.field(default_factory=dict)  # SwarmConfig mapping, e.g. {"bots": [...], "settings": {"RSIRev": {...}}}
    reference: dict[str, str] = msgspec.field(default_factory=dict)  # instrument -> its reference instrument (e.g. BTC for ETH)
    base_bars: str = "external"  # the 1m bars: external (the data's) | trades (aggregated from trade ticks)
    book_source: str = "deltas"  # deltas: L2 book deltas | quotes: L1 quotes as a one-level book | none
    hit_rates: dict[str, Any] = msgspec.field(default_factory=dict)  # HitRateTracker settings (horizons, ...)
    publish: bool = True  # publish SwarmSignals on the message bus
    record: bool = False  # keep every SwarmSignal in memory (tests, parity)
    alt_data_clients: dict[str, str] = msgspec.field(default_factory=dict)  # set by the node: alt-data type name -> client id
    data_kinds: dict[str, list[str]] = msgspec.field(default_factory=dict)  # set by the node: instrument -> its data: kinds (empty: any)

    def __post_init__(self) -> None:
        if self.base_bars not in BASE_BARS:
            raise ValueError(f"base_bars must be one of {', '.join(BASE_BARS)}, got {self.base_bars!r}")
        if self.book_source not in BOOK_SOURCES:
            raise ValueError(f"book_source must be one of {', '.join(BOOK_SOURCES)}, got {self.book_source!r}")
        for instrument, reference in self.reference.items():
            if instrument not in self.instrument_ids:
                raise ValueError(f"reference.{instrument}: not one of instrument_ids ({', '.join(self.instrument_ids)})")
            if reference == instrument:
                raise ValueError(f"reference.{instrument}: an instrument cannot be its own reference")
        swarm_config(self.swarm)  # a bad bot, key or threshold is named here, before the node starts
        hit_rate_tracker(self.hit_rates, ())


def swarm_config(values: dict[str, Any]) -> Any:
    """The SwarmConfig of the actor's `swarm` mapping (errors name the key as `swarm.<key>`)."""
    from ravebear.strategies.swarm.config import swarm_config_from_mapping

    return swarm_config_from_mapping(values, "swarm.")


HIT_RATE_KEYS = ("horizons_min", "min_move_bps")


def hit_rate_tracker(values: dict[str, Any], names: tuple[str, ...]) -> Any:
    """A HitRateTracker for the bots `names` from the actor's `hit_rates` settings (horizons_min: minutes,
    min_move_bps: bps); errors name the key as `hit_rates.<key>`."""
    from ravebear.strategies.swarm.hit_rates import HitRateTracker

    for key in values:
        if key not in HIT_RATE_KEYS:
            close = difflib.get_close_matches(key, HIT_RATE_KEYS, n=1)
            raise ValueError(f"unknown key 'hit_rates.{key}'" + (f" (did you mean '{close[0]}'?)" if close else f"; hit_rates has {', '.join(HIT_RATE_KEYS)}"))
    try:
        return HitRateTracker(names, **{key: tuple(value) if key == "horizons_min" else value for key, value in values.items()})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"hit_rates.{exc}") from None


def whale_direction(row: Any) -> int:
    """+1 for coins leaving exchanges (or stablecoins arriving: buying power), -1 the other way, 0 other transfers."""
    flow = row.flow
    sign = -1 if flow == "exchange_inflow" else 1 if flow == "exchange_outflow" else 0
    return -sign if row.symbol.lower() in _STABLECOINS else sign


def swarm_signal(instrument_id: InstrumentId, names: tuple[str, ...], state: SwarmState) -> SwarmSignal:
    """A swarm state as custom data stamped at its candle close."""
    votes, longs, shorts = vote_summary(names, state.votes)
    return SwarmSignal(
        instrument_id=instrument_id, direction=state.direction, score=state.score, confluence=state.confluence, long_votes=longs,
        short_votes=shorts, regime=REGIME_NAMES[state.regime], votes=votes, ts_event=state.ts_ns, ts_init=state.ts_ns,
    )  # fmt: skip


class InstrumentSwarm:
    """One instrument's swarm, its hit rates and the own candle waiting for its reference's."""

    __slots__ = ("asks", "bids", "data_type", "hits", "instrument_id", "pending", "reference_ts", "swarm", "waits")

    def __init__(self, instrument_id: InstrumentId, swarm: Any, hits: Any, waits: bool) -> None:
        self.instrument_id, self.swarm, self.hits, self.waits = instrument_id, swarm, hits, waits
        self.data_type = swarm_data_type(instrument_id.value)
        self.pending: Candle | None = None  # own candle waiting for the reference candle of its minute
        self.reference_ts = 0  # close of the latest reference candle handed (0: none yet, or no reference)
        self.bids: set[float] = set()  # prices of the book levels the bots hold: what a CLEAR deletes
        self.asks: set[float] = set()


def candle_of(bar: Bar) -> Candle:
    """The swarm's candle of a 1-minute bar (ts = its close, as the LevelActor's)."""
    return Candle(bar.ts_event, bar.open.as_double(), bar.high.as_double(), bar.low.as_double(), bar.close.as_double(), bar.volume.as_double())


class SwarmActor(Actor):
    """Run a Swarm per instrument on 1-minute bars (and the inputs its bots read); publish a SwarmSignal per bar."""

    def __init__(self, config: SwarmActorConfig) -> None:
        super().__init__(config)
        self._swarm_config = swarm_config(config.swarm)
        self._swarms: dict[InstrumentId, InstrumentSwarm] = {}
        self._own: dict[BarType, InstrumentSwarm] = {}
        self._followers: dict[BarType, list[InstrumentSwarm]] = {}  # reference bar type -> swarms reading it
        self.signals: list[SwarmSignal] = []
        self.published = 0

    def swarm(self, instrument_id: str) -> Any:
        """An instrument's Swarm (for a strategy in the same process)."""
        return self._swarms[InstrumentId.from_str(instrument_id)].swarm

    def hit_rates(self, instrument_id: str) -> Any:
        """An instrument's HitRateTracker (per bot and per regime, as outcomes arrived)."""
        return self._swarms[InstrumentId.from_str(instrument_id)].hits

    def on_start(self) -> None:
        """Create each instrument's swarm and subscribe to its bars and to what its bots read."""
        from ravebear.strategies.swarm.swarm import Swarm

        config = self.config
        alt_types: dict[str, list[str]] = {}  # alt-data type name -> the bots reading it
        bar_types: list[BarType] = []
        for name in config.instrument_ids:
            instrument_id = InstrumentId.from_str(name)
            served = self._served(name)
            swarm = Swarm(self._swarm_config, served)
            reference = config.reference.get(name) if REFERENCE in swarm.reads else None
            hits = hit_rate_tracker(config.hit_rates, swarm.names)
            entry = self._swarms[instrument_id] = InstrumentSwarm(instrument_id, swarm, hits, bool(reference))
            bar_type = bar_type_for(name, "1m", config.base_bars)
            self._own[bar_type.standard()] = entry
            bar_types.append(bar_type)
            wanted = swarm.reads & served
            if TRADES in wanted:
                self.subscribe_trade_ticks(instrument_id)
            if BOOK in wanted and config.book_source == "deltas":
                self.subscribe_order_book_deltas(instrument_id, BookType.L2_MBP, managed=False)
            elif BOOK in wanted:
                self.subscribe_quote_ticks(instrument_id)
            for kind in (FUNDING, WHALES):
                readers = [bot.name for bot in swarm.bots if kind in bot.reads]
                if readers:
                    alt_types.setdefault(SWARM_DATA_TYPES[kind], readers)
            if reference:
                reference_type = bar_type_for(reference, "1m", config.base_bars).standard()
                self._followers.setdefault(reference_type, []).append(entry)
                bar_types.append(reference_type)
        for bar_type in dict.fromkeys(bar_types):  # a reference that is also a swarm instrument: subscribed once
            self.subscribe_bars(bar_type)
        from ravebear.catalog.alt_data import types

        for type_name, readers in sorted(alt_types.items()):
            client = config.alt_data_clients.get(type_name)
            if client:
                self.subscribe_data(DataType(getattr(types, type_name)), client_id=ClientId(client))
            else:
                self.log.warning(f"swarm: {', '.join(readers)} read{'s' if len(readers) == 1 else ''} {type_name}, which nothing in this node serves "
                                 "(alt_data.types in a backtest or replay, a source under sources: in paper/live): abstaining")

    def _served(self, name: str) -> frozenset[str]:
        """The inputs this node gives an instrument's bots besides its 1-minute bars: what the actor subscribes to, and
        what decides which bots are idle (a bot with none of its inputs would only abstain)."""
        config = self.config
        kinds = config.data_kinds.get(name) if config.data_kinds else None  # None: whatever the bots read (live, OKX)
        served = set()
        if kinds is None or "trades" in kinds:
            served.add(TRADES)
        if config.book_source != "none" and (kinds is None or ("book" if config.book_source == "deltas" else "quotes") in kinds):
            served.add(BOOK)
        for kind in (FUNDING, WHALES):
            if config.alt_data_clients.get(SWARM_DATA_TYPES[kind]):
                served.add(kind)
        if config.reference.get(name):
            served.add(REFERENCE)
        return frozenset(served)

    def on_bar(self, bar: Bar) -> None:
        """An instrument's 1-minute bar: its swarm votes (after its reference's candle of that minute); a reference's
        bar: handed to the swarms that read it."""
        bar_type = bar.bar_type
        followers = self._followers.get(bar_type) if self._followers else None
        if followers is not None:
            candle = candle_of(bar)
            for entry in followers:
                if entry.pending is not None and entry.pending.ts < candle.ts:
                    self._close(entry, entry.pending)  # the reference skipped that minute
                entry.swarm.on_reference_candle(candle)
                entry.reference_ts = candle.ts
                if entry.pending is not None:
                    self._close(entry, entry.pending)
        entry = self._own.get(bar_type)
        if entry is None:
            return
        candle = candle_of(bar)
        if entry.pending is not None:
            self._close(entry, entry.pending)
        if entry.waits and entry.reference_ts < candle.ts:
            entry.pending = candle  # wait for the reference's candle of this minute
            return
        self._close(entry, candle)

    def on_trade_tick(self, tick: TradeTick) -> None:
        """Feed a trade to the bots that read trades (one without an aggressor side is left out)."""
        side = tick.aggressor_side
        aggressor = 1 if side == _BUYER else -1 if side == _SELLER else 0
        if aggressor:
            self._swarms[tick.instrument_id].swarm.on_trade(Trade(tick.ts_init, tick.price.as_double(), tick.size.as_double(), aggressor))

    def on_order_book_deltas(self, deltas: OrderBookDeltas) -> None:
        """Feed a batch of L2 level changes; a CLEAR (a fresh snapshot follows) deletes every level held so far."""
        entry = self._swarms[deltas.instrument_id]
        on_book, bids, asks = entry.swarm.on_book, entry.bids, entry.asks
        for delta in deltas.deltas:
            action = delta.action
            if action == _CLEAR:
                for side, prices in ((1, bids), (-1, asks)):
                    for price in prices:
                        on_book(BookUpdate(delta.ts_init, side, price, 0.0))
                    prices.clear()
                continue
            order = delta.order  # as orderflow_actor.book_update, inline: this runs for every delta
            side = 1 if order.side == _BUY_SIDE else -1
            price = order.price.as_double()
            held = bids if side > 0 else asks
            if action == _DELETE:
                size = 0.0
                held.discard(price)
            else:
                size = order.size.as_double()
                held.add(price)
            on_book(BookUpdate(delta.ts_init, side, price, size))

    def on_quote_tick(self, tick: QuoteTick) -> None:
        """Feed a best bid/ask (`book_source: quotes`)."""
        self._swarms[tick.instrument_id].swarm.on_quote(
            Quote(tick.ts_init, tick.bid_price.as_double(), tick.bid_size.as_double(), tick.ask_price.as_double(), tick.ask_size.as_double()),
        )

    def on_data(self, data: Any) -> None:
        """Funding rates of the instruments (settled, not predicted) and whale transfers (to every instrument's swarm)."""
        name = type(data).__name__
        if name == "FundingRate":
            entry = self._swarms.get(data.instrument_id)
            if entry is not None and not data.predicted:
                entry.swarm.on_funding(data.ts_event, data.close)
        elif name == "WhaleTransaction":
            direction = whale_direction(data)
            for entry in self._swarms.values():
                entry.swarm.on_whale(data.ts_event, data.amount_usd, direction)

    def on_stop(self) -> None:
        """Close the candles still waiting for their reference's; log each instrument's consensus hit rates so far."""
        for entry in self._swarms.values():
            if entry.pending is not None:
                self._close(entry, entry.pending)
            hits = entry.hits
            shown = []
            for horizon in hits.horizons_min:
                rate = hits.rate(CONSENSUS, horizon)
                shown.append(f"{horizon} min {rate.rate:.1%} of {rate.count:,}" if rate.count else f"{horizon} min: none resolved")
            self.log.info(f"swarm {entry.instrument_id}: consensus hit rate {', '.join(shown)}")

    def _close(self, entry: InstrumentSwarm, candle: Candle) -> None:
        entry.pending = None
        state = entry.swarm.on_candle(candle)
        entry.hits.on_state(state, candle.close)
        config = self.config
        if config.publish or config.record:
            signal = swarm_signal(entry.instrument_id, entry.swarm.names, state)
            if config.record:
                self.signals.append(signal)
            if config.publish:
                self.publish_data(entry.data_type, signal)
                self.published += 1

