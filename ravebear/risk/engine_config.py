"""The guard limits nautilus's own `RiskEngine` can enforce, as a `RiskEngineConfig`.

nautilus 1.231 (`nautilus_trader/risk/engine.pyx`, `config.py`) reads two of them:

- `max_order_submit_rate` "limit/HH:MM:SS" (split on "/", the interval parsed by
  `pandas.to_timedelta`): a rolling throttle over every submit command of the trader, exits
  included; an order list (a bracket) counts once. Commands over the rate are denied with
  "Exceeded MAX_ORDER_SUBMIT_RATE".
- `max_notional_per_order` {instrument_id: whole number}: typed `dict[str, int]`, so a fractional
  value fails `RiskEngineConfig.parse`/`validate`. It is checked only for cash accounts: the
  pre-trade checks return early for margin accounts (`_check_orders_risk_for_account`), which
  every OKX swap venue is, and MARKET orders are not checked without a quote or trade tick in the
  cache (bars alone are not enough). `RiskGuards.check_entry` enforces the same cap in every case.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nautilus_trader.config import RiskEngineConfig

    from ravebear.risk.guards import GuardLimits


def order_submit_rate(max_orders_per_minute: int) -> str:
    """Return nautilus's "limit/HH:MM:SS" rate for a per-minute order limit."""
    return f"{max_orders_per_minute}/00:01:00"


EXIT_HEADROOM = 4  # nautilus's throttle also counts exits: an entry brings up to ~3 follow-up exit orders


def risk_engine_config(limits: GuardLimits, instrument_ids: list[str], strategies: int = 1) -> RiskEngineConfig:
    """Build the nautilus `RiskEngineConfig` for `limits` over the given instruments; nautilus defaults elsewhere.

    `max_orders_per_minute` (a per-strategy entry limit the guards enforce) becomes nautilus's
    trader-wide `max_order_submit_rate` x `strategies` x EXIT_HEADROOM: a backstop against a
    runaway loop that never denies a stop, a trailing exit or a kill-switch flatten in a
    normal burst. `max_notional_per_order` becomes
    `max_notional_per_order` for each instrument, rounded down to a whole number of the quote
    currency (nautilus takes integers). A limit at 0 keeps nautilus's default.
    """
    from nautilus_trader.config import RiskEngineConfig

    settings: dict = {}
    if limits.max_orders_per_minute > 0:
        settings["max_order_submit_rate"] = order_submit_rate(limits.max_orders_per_minute * max(strategies, 1) * EXIT_HEADROOM)
    if limits.max_notional_per_order > 0:
        whole = int(Decimal(str(limits.max_notional_per_order)).to_integral_value(rounding=ROUND_DOWN))
        if whole < 1:
            raise ValueError(
                f"guards.max_notional_per_order {limits.max_notional_per_order:g} is below 1: nautilus's "
                "RiskEngineConfig takes whole numbers of the quote currency"
            )
        settings["max_notional_per_order"] = {instrument_id: whole for instrument_id in instrument_ids}
    return RiskEngineConfig(**settings)
