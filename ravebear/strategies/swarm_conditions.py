"""Entry conditions read from the signal swarm (`entry_filter.swarm`): the SwarmActor's `SwarmSignal`s.

A level strategy with any condition ON subscribes to its instrument's SwarmSignals (the SwarmActor in the same node
publishes one per 1-minute candle, before the strategy sees that candle's bar: actors start first) and before each
entry reads the latest signal at or before the entry's candle close. Each ON condition, for a long (a short mirrors):

min_agree (guard swarm_min_agree)
    at least this many bots vote long (`long_votes`), whatever the consensus says.
min_score (guard swarm_min_score)
    the consensus score toward the entry >= min_score: the signal's `score` when its `direction` is the entry's,
    0 when the consensus is short or absent.
block_regimes (guard swarm_block_regimes)
    the signal's regime is not one of these (e.g. [volatile]).

No signal yet, or the latest is older than `max_age_s` (the actor is not in the node, or its bars stalled), is missing
data: the entry filter's `missing_data` decides (pass: every swarm condition agrees; block: the first ON one refuses).
The first failing condition refuses the entry; it is counted under its guard name and published as that guard's
`blocked` event, like the other refusals.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from ravebear.catalog.swarm_data import SwarmSignal
from ravebear.ranges import Range, check_ranges
from ravebear.strategies.swarm.state import REGIME_CODES
from ravebear.time_units import NS_PER_SECOND

_PREFIX = "entry_filter.swarm."
_RANGES = {
    "min_agree": Range(0, 20, "bots", note="0 = off"),
    "min_score": Range(0, 100, "consensus score", note="0 = off"),
    "max_age_s": Range(0, 86_400, "seconds", low_open=True),
}


class SwarmConditionsConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Swarm entry conditions (each off by default; units in the comments)."""

    min_agree: int = 0  # at least this many bots vote the entry's side, bots; 0: off
    min_score: float = 0.0  # consensus score toward the entry's side at least this, 0-100; 0: off
    block_regimes: tuple[str, ...] = ()  # refuse entries in these regimes: trending | ranging | volatile | warmup
    max_age_s: float = 120.0  # a SwarmSignal older than this at the entry is missing data, seconds

    def __post_init__(self) -> None:
        check_ranges(self, _RANGES, _PREFIX)
        unknown = [name for name in self.block_regimes if name not in REGIME_CODES]
        if unknown:
            raise ValueError(f"{_PREFIX}block_regimes: unknown {', '.join(map(repr, unknown))}; known: {', '.join(REGIME_CODES)}")

    def conditions(self) -> tuple[str, ...]:
        """The ON conditions by guard name, in the order they are checked."""
        on = {"swarm_min_agree": self.min_agree > 0, "swarm_min_score": self.min_score > 0, "swarm_block_regimes": bool(self.block_regimes)}
        return tuple(name for name, enabled in on.items() if enabled)


@dataclass(frozen=True)
class SwarmRefusal:
    """Why an entry was refused: the guard name it is counted under and a sentence with the figures."""

    guard: str
    detail: str


def describe(signal: SwarmSignal) -> str:
    """A SwarmSignal in a few words."""
    consensus = {1: "long", -1: "short"}.get(signal.direction, "none")
    return f"swarm {signal.long_votes} long / {signal.short_votes} short, consensus {consensus} score {signal.score:.1f}, regime {signal.regime}"


class SwarmConditions:
    """The swarm conditions of one strategy's instrument: feed it its SwarmSignals; `check` each entry."""

    def __init__(self, config: SwarmConditionsConfig, missing_data: str) -> None:
        self.config = config
        self._on = config.conditions()
        self._blocked = frozenset(config.block_regimes)
        self._max_age = int(config.max_age_s * NS_PER_SECOND)
        self._missing_passes = missing_data == "pass"
        self.latest: SwarmSignal | None = None  # the latest SwarmSignal
        self.signals = 0  # signals fed (none in a whole run: every entry was judged on missing data)

    def on_signal(self, signal: SwarmSignal) -> None:
        """Take the instrument's SwarmSignal."""
        self.latest = signal
        self.signals += 1

    def unfed(self) -> str | None:
        """A warning when no SwarmSignal came (the SwarmActor is not in the node), else None."""
        if self.signals:
            return None
        policy = "passed" if self._missing_passes else "refused"
        return f"swarm conditions got no SwarmSignal (add the SwarmActor under actors:): they {policy} every entry (entry_filter.missing_data)"

    def check(self, ts: int, direction: int) -> SwarmRefusal | None:
        """None when every ON condition agrees with a `direction` (+1 long, -1 short) entry at ts (ns); else why not."""
        signal = self.latest
        if signal is None or signal.ts_event > ts or ts - signal.ts_event > self._max_age:
            if self._missing_passes:
                return None
            seen = "none yet" if signal is None else f"the latest at {signal.ts_event} ns"
            return SwarmRefusal(self._on[0], f"no SwarmSignal within {self.config.max_age_s:g} s ({seen}; missing_data: block)")
        config = self.config
        side = "long" if direction > 0 else "short"
        for name in self._on:
            if name == "swarm_min_agree":
                agree = signal.long_votes if direction > 0 else signal.short_votes
                if agree < config.min_agree:
                    return SwarmRefusal(name, f"{agree} bots vote {side} < {config.min_agree} ({describe(signal)})")
            elif name == "swarm_min_score":
                score = signal.score if signal.direction == direction else 0.0
                if score < config.min_score:
                    return SwarmRefusal(name, f"consensus score toward {side} {score:.1f} < {config.min_score:g} ({describe(signal)})")
            elif signal.regime in self._blocked:
                return SwarmRefusal(name, f"regime {signal.regime} is blocked ({describe(signal)})")
        return None
