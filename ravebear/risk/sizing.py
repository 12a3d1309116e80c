"""Position sizing: how many contracts a trade may carry."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

_SIX_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class SizeDecision:
    """A size in contracts, or zero with the reason the trade cannot be sized safely.

    `capped_by` names the bound that set the size: "risk" (the stop-out loss), "leverage"
    (equity x max leverage) or "notional" (the max notional per position); empty when the
    inputs could not be sized at all.
    """

    contracts: Decimal
    reason: str = ""
    capped_by: str = ""


def fixed_fractional_contracts(
    equity: Decimal,
    risk_fraction: Decimal,
    entry: Decimal,
    stop: Decimal,
    contract_value: Decimal,
    lot_size: Decimal,
    min_size: Decimal,
    max_leverage: Decimal,
    max_notional: Decimal | None = None,
) -> SizeDecision:
    """Size so that a stop-out loses `risk_fraction` of `equity`, within the leverage and notional caps.

    Caps: `max_leverage` x equity of notional, and `max_notional` (quote currency, per position;
    None = no cap). Sizing is symmetric in `|entry - stop|`, so shorts (stop above entry) size
    like longs. The size is rounded *down* to the lot size; below `min_size` the trade is skipped.
    """
    inputs = {
        "equity": equity,
        "risk fraction": risk_fraction,
        "entry": entry,
        "stop": stop,
        "contract value": contract_value,
        "lot size": lot_size,
        "min size": min_size,
        "max leverage": max_leverage,
        "max notional": max_notional,
    }
    for name, value in inputs.items():
        if value is not None and not Decimal(value).is_finite():
            return SizeDecision(Decimal(0), f"{name} is {value}, not a finite number")
    if equity <= 0:
        return SizeDecision(Decimal(0), f"no equity ({equity})")
    if entry <= 0:
        return SizeDecision(Decimal(0), f"entry {entry} is not a positive price")
    for name in ("risk fraction", "contract value", "lot size", "max leverage", "max notional"):
        value = inputs[name]
        if value is not None and value <= 0:
            return SizeDecision(Decimal(0), f"{name} {value} is not positive")
    risk_per_contract = abs(entry - stop) * contract_value
    if risk_per_contract == 0:
        return SizeDecision(Decimal(0), "stop equals entry")

    notional_per_contract = entry * contract_value
    bounds = [
        ("risk", equity * risk_fraction / risk_per_contract),
        ("leverage", equity * max_leverage / notional_per_contract),
    ]
    if max_notional is not None:
        bounds.append(("notional", max_notional / notional_per_contract))
    capped_by, raw = min(bounds, key=lambda bound: bound[1])  # first of equals wins: risk, leverage, notional
    contracts = (raw / lot_size).to_integral_value(rounding=ROUND_DOWN) * lot_size
    if contracts < min_size or contracts <= 0:
        shown = _plain(raw.quantize(_SIX_PLACES, rounding=ROUND_DOWN))
        cap = {
            "risk": f"risk {_plain(risk_fraction * 100)} % of equity {_plain(equity)}",
            "leverage": f"max leverage {_plain(max_leverage)}x on equity {_plain(equity)}",
            "notional": f"max notional {_plain(max_notional or Decimal(0))}",
        }[capped_by]
        return SizeDecision(
            Decimal(0),
            f"size {shown} contracts is below the minimum {_plain(min_size)} (capped by {cap})",
            capped_by,
        )
    return SizeDecision(contracts, capped_by=capped_by)


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")
