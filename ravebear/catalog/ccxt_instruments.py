"""Nautilus instruments built from ccxt markets, for venues RaveBear has no hand-written spec for.

Mapping (ccxt unified market -> nautilus):

* venue: the ccxt exchange id upper-cased (`binance` -> `BINANCE`); OKX swaps listed in
  `OKX_SWAPS` are built by `okx_swap` instead so they match the live OKX adapter exactly.
* symbol: the exchange's own market id (`market["id"]`, e.g. `BTCUSDT`, `BTC-USDT-SWAP`);
  swaps get a `-PERP` suffix unless the id already says `SWAP` or `PERP`, so a venue whose
  spot and perpetual share an id (Binance `BTCUSDT`) gets two distinct instruments.
* `swap` markets -> `CryptoPerpetual`: base/quote/settle currencies, `is_inverse` from
  `market["inverse"]`, `multiplier` = `contractSize` (1 when ccxt has none), quantities in contracts.
* `spot` markets -> `CurrencyPair`; other types (futures, options) are not supported.
* price/size increments from `market["precision"]` (`price`, `amount`): a tick size under
  ccxt's TICK_SIZE precision mode, a number of decimals under DECIMAL_PLACES; precision is the
  number of decimals of the increment.
* `min_quantity` from `limits.amount.min`, maker/taker fees from the market, initial margin
  1 / `limits.leverage.max` when ccxt knows the maximum leverage.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nautilus_trader.model.instruments import Instrument

TICK_SIZE = 4  # ccxt.base.decimal_to_precision.TICK_SIZE
DECIMAL_PLACES = 2  # ccxt.base.decimal_to_precision.DECIMAL_PLACES


def _step(value: Any, precision_mode: int, what: str) -> Decimal:
    if value is None:
        raise ValueError(f"ccxt market has no {what} precision")
    if precision_mode == TICK_SIZE:
        step = Decimal(str(value))
    elif precision_mode == DECIMAL_PLACES:
        step = Decimal(1).scaleb(-int(value))
    else:
        raise ValueError(f"unsupported ccxt precision mode {precision_mode} for {what}")
    if step <= 0:
        raise ValueError(f"ccxt market has a non-positive {what} increment {value!r}")
    return step


def _text(step: Decimal) -> str:
    return format(step.normalize(), "f")


def _decimals(step: Decimal) -> int:
    return max(0, -int(step.normalize().as_tuple().exponent))


def nautilus_symbol(market: dict[str, Any]) -> str:
    """Return the nautilus symbol for a ccxt market (the exchange id, `-PERP` added to swaps)."""
    symbol = str(market["id"])
    if market.get("swap") and "SWAP" not in symbol.upper() and "PERP" not in symbol.upper():
        symbol += "-PERP"
    return symbol


def ccxt_instrument(market: dict[str, Any], exchange_id: str, precision_mode: int = TICK_SIZE, ts_init: int = 0) -> Instrument:
    """Build a nautilus `CryptoPerpetual` (swap) or `CurrencyPair` (spot) from a ccxt market."""
    from nautilus_trader.model.currencies import Currency
    from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
    from nautilus_trader.model.instruments import CryptoPerpetual, CurrencyPair
    from nautilus_trader.model.objects import Price, Quantity

    price_step = _step(market.get("precision", {}).get("price"), precision_mode, "price")
    size_step = _step(market.get("precision", {}).get("amount"), precision_mode, "amount")
    limits = market.get("limits") or {}
    min_amount = (limits.get("amount") or {}).get("min")
    max_leverage = (limits.get("leverage") or {}).get("max")
    symbol = nautilus_symbol(market)
    common: dict[str, Any] = {
        "instrument_id": InstrumentId(Symbol(symbol), Venue(exchange_id.upper())),
        "raw_symbol": Symbol(str(market["id"])),
        "base_currency": Currency.from_str(str(market["base"])),
        "quote_currency": Currency.from_str(str(market["quote"])),
        "price_precision": _decimals(price_step),
        "size_precision": _decimals(size_step),
        "price_increment": Price.from_str(_text(price_step)),
        "size_increment": Quantity.from_str(_text(size_step)),
        "min_quantity": Quantity(float(min_amount), _decimals(size_step)) if min_amount else None,
        "margin_init": Decimal(1) / Decimal(str(max_leverage)) if max_leverage else None,
        "maker_fee": Decimal(str(market["maker"])) if market.get("maker") is not None else None,
        "taker_fee": Decimal(str(market["taker"])) if market.get("taker") is not None else None,
        "ts_event": ts_init,
        "ts_init": ts_init,
    }
    if market.get("swap"):
        contract_size = Decimal(str(market.get("contractSize") or 1))
        return CryptoPerpetual(
            settlement_currency=Currency.from_str(str(market.get("settle") or market["quote"])),
            is_inverse=bool(market.get("inverse")),
            multiplier=Quantity.from_str(_text(contract_size)),
            **common,
        )
    if market.get("spot"):
        return CurrencyPair(**common)
    raise ValueError(f"{exchange_id} market {market.get('symbol')!r} is a {market.get('type')!r} market; only spot and swap are supported")
