"""Position sizing: how many contracts a trade may carry."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal


@dataclass(frozen=True)
class SizeDecision:
    """A size in contracts, or zero with the reason the trade cannot be sized safely."""

    contracts: Decimal
    reason: str = ""


def fixed_fractional_contracts(
    equity: Decimal,
    risk_fraction: Decimal,
    entry: Decimal,
    stop: Decimal,
    contract_value: Decimal,
    lot_size: Decimal,
    min_size: Decimal,
    max_leverage: Decimal,
) -> SizeDecision:
    """Size so that a stop-out loses `risk_fraction` of `equity`, capped at `max_leverage` x equity notional.

    The size is rounded *down* to the lot size; below `min_size` the trade is skipped.
    """
    if equity <= 0:
        return SizeDecision(Decimal(0), f"no equity ({equity})")
    risk_per_contract = abs(entry - stop) * contract_value
    if risk_per_contract <= 0:
        return SizeDecision(Decimal(0), "stop equals entry")
    by_risk = equity * risk_fraction / risk_per_contract
    by_leverage = equity * max_leverage / (entry * contract_value)
    raw = min(by_risk, by_leverage)
    contracts = (raw / lot_size).to_integral_value(rounding=ROUND_DOWN) * lot_size
    if contracts < min_size:
        return SizeDecision(Decimal(0), f"size {raw:.6f} contracts is below the minimum {min_size}")
    return SizeDecision(contracts)
