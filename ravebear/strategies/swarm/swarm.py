"""`Swarm`: feeds the bots one event at a time and, at each 1-minute candle close, combines their votes with the
regime into a `SwarmState`. The one implementation the SwarmActor, research and the compiled twin follow."""

from __future__ import annotations

from dataclasses import dataclass, field

from ravebear.strategies.levels.timeframes import Candle
from ravebear.strategies.microstructure.types import BookUpdate, Quote, Trade
from ravebear.strategies.swarm.bot import BOOK, FUNDING, INPUTS, REFERENCE, TRADES, WHALES, Bot
from ravebear.strategies.swarm.bots import BOTS
from ravebear.strategies.swarm.consensus import Consensus, ConsensusConfig
from ravebear.strategies.swarm.regime import RegimeConfig, make_regime
from ravebear.strategies.swarm.state import SwarmState


@dataclass(frozen=True)
class SwarmConfig:
    """Which bots run (empty: all twenty, in BOTS order), their thresholds, the consensus and the regime."""

    bots: tuple[str, ...] = ()
    settings: dict[str, dict[str, float]] = field(default_factory=dict)  # bot name -> its config fields
    consensus: ConsensusConfig = field(default_factory=ConsensusConfig)
    regime: RegimeConfig = field(default_factory=RegimeConfig)


class Swarm:
    """The bots of one instrument, their consensus and the regime.

    `inputs`: what the node serves besides the 1-minute candles (None: everything, as research feeds what it has). A bot
    that reads inputs and gets none of them abstains by definition, so it is not asked at all (its vote stays 0.0):
    in a bars-only node that is eight of the twenty (`tests/strategies/swarm/test_swarm_inputs.py` proves each one
    abstains on candles alone)."""

    def __init__(self, config: SwarmConfig | None = None, inputs: frozenset[str] | None = None) -> None:
        self.config = config or SwarmConfig()
        self.names: tuple[str, ...] = self.config.bots or tuple(BOTS)
        self.bots: list[Bot] = [BOTS[name].from_settings(self.config.settings.get(name, {})) for name in self.names]
        self.reads = frozenset().union(*(bot.reads for bot in self.bots))
        self._trade_bots = [bot for bot in self.bots if TRADES in bot.reads]
        self._book_bots = [bot for bot in self.bots if BOOK in bot.reads]
        self._funding_bots = [bot for bot in self.bots if FUNDING in bot.reads]
        self._whale_bots = [bot for bot in self.bots if WHALES in bot.reads]
        self._reference_bots = [bot for bot in self.bots if REFERENCE in bot.reads]
        self.consensus = Consensus(self.config.consensus, [bot.name for bot in self.bots], [bot.group for bot in self.bots])
        self.regime = make_regime(self.config.regime)
        served = frozenset(INPUTS) if inputs is None else inputs
        self.idle = tuple(bot.name for bot in self.bots if bot.reads and not bot.reads & served)
        self._blank = [0.0] * len(self.bots)
        # (slot, bound on_candle) of the bots that can vote here: bound once, the per-candle loop skips the lookups
        self._voters = [(i, bot.on_candle) for i, bot in enumerate(self.bots) if bot.name not in self.idle]
        self._regime_on_candle = self.regime.on_candle
        self._consensus_update = self.consensus.update

    def on_trade(self, trade: Trade) -> None:
        """Feed one trade print to the bots that read trades."""
        for bot in self._trade_bots:
            bot.on_trade(trade)

    def on_book(self, update: BookUpdate) -> None:
        """Feed one L2 level change to the bots that read the book."""
        for bot in self._book_bots:
            bot.on_book(update)

    def on_quote(self, quote: Quote) -> None:
        """Feed one best bid/ask to the bots that read the book."""
        for bot in self._book_bots:
            bot.on_quote(quote)

    def on_funding(self, ts_ns: int, rate: float) -> None:
        """Feed one funding rate (fraction per interval)."""
        for bot in self._funding_bots:
            bot.on_funding(ts_ns, rate)

    def on_whale(self, ts_ns: int, amount_usd: float, direction: int) -> None:
        """Feed one whale transfer (+1 out of exchanges, -1 into exchanges, 0 other)."""
        for bot in self._whale_bots:
            bot.on_whale(ts_ns, amount_usd, direction)

    def on_reference_candle(self, candle: Candle) -> None:
        """Feed the reference instrument's 1-minute candle (before the instrument's own candle of that minute)."""
        for bot in self._reference_bots:
            bot.on_reference_candle(candle)

    def on_candle(self, candle: Candle) -> SwarmState:
        """Close one 1-minute candle: every bot votes, the regime updates, the consensus combines them."""
        votes = self._blank.copy()
        for i, on_candle in self._voters:
            votes[i] = on_candle(candle)
        votes = tuple(votes)
        regime = self._regime_on_candle(candle)
        direction, score, confluence = self._consensus_update(votes)
        return SwarmState(candle.ts, votes, direction, score, confluence, regime)
