"""The bot interface: a pure signal detector fed one event at a time, voting at each 1-minute candle close.

A vote is one float: its sign is the side (+ long, - short), its magnitude the confidence in (0, 1]; 0.0 is
no opinion (abstain). `on_candle` returns the bot's vote for the candle just closed; the other hooks only
update state (trades, book updates, quotes, funding, whale transfers, the reference instrument's candles) and
are called only for bots that read that input (`reads`). A bot without the input it needs abstains.
"""

from __future__ import annotations

import difflib
from dataclasses import fields
from typing import Any, ClassVar

from ravebear.ranges import Range, check_ranges
from ravebear.strategies.levels.timeframes import Candle
from ravebear.strategies.microstructure.types import BookUpdate, Quote, Trade

VOLUME, ORDERFLOW, MOMENTUM, DYNAMICS = "volume", "orderflow", "momentum", "dynamics"
GROUPS = (VOLUME, ORDERFLOW, MOMENTUM, DYNAMICS)

# inputs a bot may read besides its instrument's 1-minute candles
TRADES, BOOK, FUNDING, WHALES, REFERENCE = "trades", "book", "funding", "whales", "reference"
INPUTS = (TRADES, BOOK, FUNDING, WHALES, REFERENCE)


def clip_confidence(value: float) -> float:
    """A confidence clipped into [0, 1]."""
    return 0.0 if value <= 0.0 else 1.0 if value >= 1.0 else value


class Bot:
    """Base class of the twenty bots. Subclasses set `name`, `group`, `reads`, `config_class` (a frozen dataclass
    of thresholds, each field's unit in a comment) with its `ranges`, take that config in `__init__`, and
    implement `on_candle`."""

    name: ClassVar[str] = ""
    group: ClassVar[str] = ""
    reads: ClassVar[frozenset[str]] = frozenset()  # inputs from INPUTS besides the 1-minute candles
    config_class: ClassVar[type]
    ranges: ClassVar[dict[str, Range]] = {}

    def __init__(self, config: Any) -> None:
        self.config = config

    @classmethod
    def from_settings(cls, settings: dict[str, Any], prefix: str = "") -> Bot:
        """Build the bot from run-file settings: unknown keys named with did-you-mean, numbers range-checked
        (ValueError with the one wording of `ravebear.ranges`)."""
        known = [f.name for f in fields(cls.config_class)]
        for key in settings:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f"; known: {', '.join(known)}"
                raise ValueError(f"{prefix}{key}: unknown {cls.name} setting{hint}")
        types = {f.name: str(f.type) for f in fields(cls.config_class)}
        config = cls.config_class(**{key: _checked_number(f"{prefix}{key}", value, types[key]) for key, value in settings.items()})
        check_ranges(config, cls.ranges, prefix)
        return cls(config)


def _checked_number(key: str, value: Any, annotation: str) -> Any:
    """A setting typed `int` must be a whole number (5.0 becomes 5), one typed `float` a number (ValueError in one line)."""
    if annotation not in ("int", "float"):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key} must be a number, got {value!r}")
    if annotation == "int":
        if not float(value).is_integer():
            raise ValueError(f"{key} must be a whole number, got {value!r}")
        return int(value)
    return value

    def on_candle(self, candle: Candle) -> float:
        """Take the 1-minute candle just closed; return the vote (+long / -short confidence, 0.0 abstain)."""
        raise NotImplementedError

    def on_trade(self, trade: Trade) -> None:
        """Take one trade print of the instrument (bots reading TRADES)."""

    def on_book(self, update: BookUpdate) -> None:
        """Take one L2 level change of the instrument's book (bots reading BOOK)."""

    def on_quote(self, quote: Quote) -> None:
        """Take one best bid/ask (bots reading BOOK when the node has quotes instead of a book)."""

    def on_funding(self, ts_ns: int, rate: float) -> None:
        """Take one funding rate of the instrument (fraction per funding interval; bots reading FUNDING)."""

    def on_whale(self, ts_ns: int, amount_usd: float, direction: int) -> None:
        """Take one whale transfer: +1 flows out of exchanges (bullish), -1 into exchanges, 0 other (WHALES)."""

    def on_reference_candle(self, candle: Candle) -> None:
        """Take the reference instrument's 1-minute candle (e.g. BTC for an altcoin; bots reading REFERENCE),
        delivered before the instrument's own candle of the same minute."""
