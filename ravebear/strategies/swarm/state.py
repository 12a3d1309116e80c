"""What the swarm says after each 1-minute candle, and the regime labels."""

from __future__ import annotations

from typing import NamedTuple

# regime labels; ints so the compiled twin and the ledger share them
WARMUP, TRENDING, RANGING, VOLATILE = 0, 1, 2, 3
REGIME_NAMES = {WARMUP: "warmup", TRENDING: "trending", RANGING: "ranging", VOLATILE: "volatile"}
REGIME_CODES = {name: code for code, name in REGIME_NAMES.items()}


class SwarmState(NamedTuple):
    """The swarm at one candle close.

    `votes` are the bots' votes in `Swarm.names` order (+long / -short confidence, 0.0 abstain); `direction` is
    +1, -1 or 0 (no consensus); `score` is the consensus score in [0, 100] for that direction; `confluence` is how
    many bots vote that direction; `regime` one of TRENDING, RANGING, VOLATILE (WARMUP until it has the data).
    A NamedTuple: one is built per candle, and a frozen dataclass costs ~3x as much to build.
    """

    ts_ns: int
    votes: tuple[float, ...]
    direction: int
    score: float
    confluence: int
    regime: int
