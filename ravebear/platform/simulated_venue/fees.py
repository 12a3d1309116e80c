"""A maker/taker fee model whose rates come from the backtest config, in basis points."""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.backtest.models import FeeModel
from nautilus_trader.config import NautilusConfig
from nautilus_trader.model.enums import LiquiditySide
from nautilus_trader.model.objects import Money


class BpsFeeModelConfig(NautilusConfig, frozen=True):
    """Fee rates in basis points of notional."""

    maker_bps: float
    taker_bps: float


class BpsFeeModel(FeeModel):
    """Charge maker or taker basis points of the fill's notional, in the quote currency."""

    def __init__(self, config: BpsFeeModelConfig) -> None:
        self._maker = Decimal(str(config.maker_bps)) / Decimal(10_000)
        self._taker = Decimal(str(config.taker_bps)) / Decimal(10_000)

    def get_commission(self, order, fill_qty, fill_px, instrument) -> Money:  # noqa: ANN001 - nautilus signature
        """Return the commission of one fill."""
        notional = instrument.notional_value(fill_qty, fill_px).as_decimal()
        rate = self._maker if order.liquidity_side == LiquiditySide.MAKER else self._taker
        return Money(notional * rate, instrument.quote_currency)
