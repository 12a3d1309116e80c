"""Per-bot and per-regime hit rates of the swarm's votes, resolved as outcomes arrive (pure, causal).

A vote (a bot's, or the consensus direction) cast at a candle close is resolved at the first candle whose close
time is at least `horizon` minutes later: it is a hit when the price moved in the vote's direction by MORE than
`min_move_bps` from the close it was cast at. Nothing is resolved before its horizon has passed, so the figures at
any moment use only what has happened by then. The regime is the one in force when the vote was cast.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from ravebear.strategies.swarm.state import REGIME_NAMES, SwarmState
from ravebear.time_units import NS_PER_MINUTE

CONSENSUS = "consensus"


@dataclass(frozen=True)
class HitRate:
    """Resolved votes and hits of one bot (or the consensus) at one horizon, in one regime or all (regime None)."""

    name: str
    horizon_min: int
    regime: str | None
    count: int
    hits: int

    @property
    def rate(self) -> float:
        """Hits / count (NaN before any vote is resolved)."""
        return self.hits / self.count if self.count else float("nan")


class HitRateTracker:
    """Feed `on_state(state, close)` once per 1-minute candle, in time order; read `rates()` at any moment."""

    def __init__(self, names: Sequence[str], horizons_min: Sequence[int] = (5, 15, 60), min_move_bps: float = 5.0) -> None:
        if not horizons_min or any(h < 1 for h in horizons_min):
            raise ValueError(f"horizons must be whole minutes of at least 1, got {tuple(horizons_min)}")
        if min_move_bps < 0:
            raise ValueError(f"min_move_bps must be at least 0 bps, got {min_move_bps:g}")
        self.names = (*names, CONSENSUS)
        self.horizons_min = tuple(int(h) for h in horizons_min)
        self.min_move = min_move_bps / 1e4
        self._horizon_ns = [h * NS_PER_MINUTE for h in self.horizons_min]
        n = len(self.names)
        # [horizon][name][regime] counts and hits
        self._count = [[[0] * len(REGIME_NAMES) for _ in range(n)] for _ in self.horizons_min]
        self._hits = [[[0] * len(REGIME_NAMES) for _ in range(n)] for _ in self.horizons_min]
        # per horizon, oldest first: (due ts, close at the vote, regime, ((name index, side), ...))
        self._pending: list[deque[tuple[int, float, int, tuple[tuple[int, int], ...]]]] = [deque() for _ in self.horizons_min]

    def on_state(self, state: SwarmState, close: float) -> None:
        """Resolve votes whose horizon has passed at this candle's close, then record this candle's votes."""
        for slot, pending in enumerate(self._pending):
            while pending and pending[0][0] <= state.ts_ns:
                _, entry, regime, sides = pending.popleft()
                move = (close - entry) / entry
                counts, hits = self._count[slot], self._hits[slot]
                for index, side in sides:
                    counts[index][regime] += 1
                    if move * side > self.min_move:
                        hits[index][regime] += 1
        votes = state.votes
        if not state.direction and not any(votes):  # most candles: nobody votes
            return
        sides = tuple((i, 1 if v > 0.0 else -1) for i, v in enumerate(votes) if v != 0.0)
        if state.direction:
            sides = (*sides, (len(self.names) - 1, state.direction))
        if sides:
            for slot, pending in enumerate(self._pending):
                pending.append((state.ts_ns + self._horizon_ns[slot], close, state.regime, sides))

    def rate(self, name: str, horizon_min: int, regime: int | None = None) -> HitRate:
        """Hit figures of `name` (a bot or "consensus") at one horizon, in one regime code (None: all)."""
        slot, index = self.horizons_min.index(horizon_min), self.names.index(name)
        counts, hits = self._count[slot][index], self._hits[slot][index]
        if regime is None:
            return HitRate(name, horizon_min, None, sum(counts), sum(hits))
        return HitRate(name, horizon_min, REGIME_NAMES[regime], counts[regime], hits[regime])

    def rates(self) -> list[HitRate]:
        """Every (name, horizon) overall and per regime, names in swarm order then the consensus."""
        out = []
        for name in self.names:
            for horizon in self.horizons_min:
                out.append(self.rate(name, horizon))
                out.extend(self.rate(name, horizon, code) for code in REGIME_NAMES)
        return out
