"""The swarm's consensus: weighted votes, discounted for bots that keep agreeing with each other.

The formula is in docs/SWARM.md (## Consensus). At each candle only the bots that vote take part (abstaining
bots neither help nor hurt); a bot's weight is its configured weight divided by 1 + its excess agreement with
the other bots voting now, the agreement being an exponentially weighted rate over their PAST joint votes, so
a cluster of clones counts about once and the current votes never shape their own weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields

from ravebear.ranges import Range, check_ranges


@dataclass(frozen=True)
class ConsensusConfig:
    """How votes combine."""

    min_voters: int = 2  # bots: fewer voting bots at a candle give no consensus (direction 0, score 0)
    decorrelate: bool = True  # divide each bot's weight by 1 + its excess past agreement with the co-voters
    agreement_halflife: float = 100.0  # joint votes: half-life of the exponentially weighted agreement rate
    chance_agreement: float = 0.5  # fraction: agreement rate of two unrelated bots (no excess at or below it)
    weights: dict[str, float] = field(default_factory=dict)  # bot name -> weight multiplier (default 1)
    group_weights: dict[str, float] = field(default_factory=dict)  # group -> weight multiplier (default 1)


CONSENSUS_RANGES = {
    "min_voters": Range(1, 20, "bots"),
    "agreement_halflife": Range(1, 1_000_000, "joint votes"),
    "chance_agreement": Range(0, 1, "fraction", high_open=True),
}
WEIGHT_RANGE = Range(0, 100, "x")


def check_consensus_config(config: ConsensusConfig, prefix: str = "") -> None:
    """Raise ValueError (one line, ravebear.ranges wording) for a number out of range."""
    check_ranges(config, CONSENSUS_RANGES, prefix)
    for key in ("weights", "group_weights"):
        for name, value in getattr(config, key).items():
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not WEIGHT_RANGE.allows(value):
                raise ValueError(WEIGHT_RANGE.message(f"{prefix}{key}.{name}", value))


CONSENSUS_FIELDS = tuple(f.name for f in fields(ConsensusConfig))


class Consensus:
    """Combine one vote per bot (in `names` order) into (direction, score, confluence) at each candle."""

    def __init__(self, config: ConsensusConfig, names: Sequence[str], groups: Sequence[str]) -> None:
        check_consensus_config(config)
        self.config = config
        self.names = tuple(names)
        n = len(self.names)
        self._base = [float(config.weights.get(name, 1.0)) * float(config.group_weights.get(group, 1.0)) for name, group in zip(names, groups, strict=True)]
        self._min_voters = config.min_voters
        self._decorrelate = config.decorrelate
        self._alpha = 1.0 - 0.5 ** (1.0 / config.agreement_halflife)
        self._chance = config.chance_agreement
        self._scale = 1.0 / (1.0 - config.chance_agreement)
        # agreement rate of each pair over their past joint votes, starting at chance (no evidence, no excess)
        self._agree = [[config.chance_agreement] * n for _ in range(n)]
        self._excess = [[0.0] * n for _ in range(n)]  # max(0, agree - chance) / (1 - chance); 0 on the diagonal
        self.weights = list(self._base)  # the adjusted weights used at the last candle (voting bots only)

    def update(self, votes: Sequence[float]) -> tuple[int, float, int]:
        """Take the bots' votes at one candle (+long / -short confidence, 0.0 abstain); return the consensus
        direction (+1, -1, 0), its score in [0, 100] and the confluence (bots voting that direction)."""
        if not any(votes):  # most candles: nobody votes
            return 0, 0.0, 0
        voters = [i for i, v in enumerate(votes) if v != 0.0]
        n = len(voters)
        direction, score, confluence = 0, 0.0, 0
        if n >= self._min_voters and n > 0:
            excess, base, weights = self._excess, self._base, self.weights
            decorrelate = self._decorrelate and n > 1
            net = 0.0
            total = 0.0
            for a in voters:
                if decorrelate:
                    row = excess[a]
                    acc = 0.0
                    for b in voters:  # a plain loop: sum() of floats is compensated since 3.12; the twin adds in order
                        acc += row[b]
                    w = base[a] / (1.0 + acc)
                else:
                    w = base[a]
                weights[a] = w
                net += w * votes[a]
                total += w
            if total > 0.0 and net != 0.0:
                direction = 1 if net > 0.0 else -1
                score = 100.0 * abs(net) / total
                score = min(score, 100.0)
                for a in voters:
                    if (votes[a] > 0.0) == (direction > 0):
                        confluence += 1
        if n > 1:  # learn from this candle AFTER it was scored: only past votes shape weights
            alpha, agree, excess = self._alpha, self._agree, self._excess
            chance, scale = self._chance, self._scale
            ups = [votes[a] > 0.0 for a in voters]
            for k in range(n - 1):
                a, up_a = voters[k], ups[k]
                row_a, excess_a = agree[a], excess[a]
                for m in range(k + 1, n):
                    b = voters[m]
                    value = row_a[b]
                    value += alpha * ((1.0 if ups[m] == up_a else 0.0) - value)
                    row_a[b] = agree[b][a] = value
                    excess_a[b] = excess[b][a] = (value - chance) * scale if value > chance else 0.0
        return direction, score, confluence

    def agreement(self) -> list[list[float]]:
        """The current pairwise agreement rates (chance_agreement for pairs that never voted together)."""
        return [list(row) for row in self._agree]
