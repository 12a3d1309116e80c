"""Message-bus topics the risk layer and the strategies publish on, and what the signal topic carries."""

from __future__ import annotations

from dataclasses import dataclass

GUARD_TOPIC = "ravebear.risk.guard"  # every GuardEvent a strategy records (the run recorder listens)
SIGNAL_TOPIC = "ravebear.strategy.signal"  # every entry signal and what became of it (the ledger listens)


@dataclass(frozen=True, slots=True)
class SignalDecision:
    """One entry signal of a strategy: taken, or refused and by what (a guard, the entry filter, a size or stop rule)."""

    ts: int  # UNIX ns, the signal candle's close
    strategy_id: str
    instrument_id: str
    side: str  # BUY | SELL
    accepted: bool
    refused_by: str | None  # the guard or rule that refused it
    reason: str  # the signal's own reason, plus the refusal's detail
