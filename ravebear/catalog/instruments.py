"""OKX USDT-margined perpetual swaps as nautilus instruments.

Values come from OKX `GET /api/v5/public/instruments?instType=SWAP` (fields `ctVal`,
`tickSz`, `lotSz`, `minSz`) and the OKX fee schedule (https://www.okx.com/fees,
regular user Lv1 / VIP0 for USDT-margined perpetuals: maker 0.020 %, taker 0.050 %).
The shape follows nautilus's own OKX adapter (OKX_SURFACE.md): quantities are in
**contracts**, `multiplier = ctMult x ctVal`, size precision from `lotSz`, so an
instrument built here is the one the live OKX client would load.
Maintenance margin: OKX tier-1 maintenance margin ratio for these swaps (0.4 % BTC/ETH,
0.5 % SOL, from `GET /api/v5/public/position-tiers`); initial margin 1 / max leverage.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nautilus_trader.model.instruments import CryptoPerpetual, Instrument

OKX_VENUE = "OKX"


@dataclass(frozen=True)
class SwapSpec:
    """One OKX linear swap's contract terms, as OKX publishes them."""

    symbol: str  # OKX instId, e.g. BTC-USDT-SWAP
    base: str
    quote: str
    contract_value: str  # ctVal: base units per contract
    tick_size: str  # tickSz: price increment in USDT
    lot_size: str  # lotSz: contract increment
    min_size: str  # minSz: minimum order size in contracts
    max_leverage: int  # lever
    maint_margin: str  # tier-1 maintenance margin ratio
    maker_fee: str = "0.0002"  # Lv1 maker fee rate
    taker_fee: str = "0.0005"  # Lv1 taker fee rate


OKX_SWAPS: dict[str, SwapSpec] = {
    "BTC-USDT-SWAP": SwapSpec("BTC-USDT-SWAP", "BTC", "USDT", "0.01", "0.1", "0.01", "0.01", 100, "0.004"),
    "ETH-USDT-SWAP": SwapSpec("ETH-USDT-SWAP", "ETH", "USDT", "0.1", "0.01", "0.01", "0.01", 100, "0.004"),
    "SOL-USDT-SWAP": SwapSpec("SOL-USDT-SWAP", "SOL", "USDT", "1", "0.01", "0.01", "0.01", 50, "0.005"),
}


def step_decimals(step: str) -> int:
    """The number of decimals of an increment such as `0.01` (2) or `1` (0)."""
    exponent = Decimal(step).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def swap_spec(symbol_or_id: str) -> SwapSpec:
    """Return the spec for `BTC-USDT-SWAP` or `BTC-USDT-SWAP.OKX`."""
    symbol = symbol_or_id.removesuffix(f".{OKX_VENUE}")
    try:
        return OKX_SWAPS[symbol]
    except KeyError:
        known = ", ".join(OKX_SWAPS)
        raise ValueError(f"unknown instrument {symbol_or_id!r}; known: {known}") from None


def okx_swap(symbol_or_id: str, ts_init: int = 0) -> CryptoPerpetual:
    """Build the nautilus `CryptoPerpetual` for an OKX USDT swap."""
    from nautilus_trader.model.currencies import Currency
    from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
    from nautilus_trader.model.instruments import CryptoPerpetual
    from nautilus_trader.model.objects import Price, Quantity

    spec = swap_spec(symbol_or_id)
    price_precision = step_decimals(spec.tick_size)
    size_precision = step_decimals(spec.lot_size)
    return CryptoPerpetual(
        instrument_id=InstrumentId(Symbol(spec.symbol), Venue(OKX_VENUE)),
        raw_symbol=Symbol(spec.symbol),
        base_currency=Currency.from_str(spec.base),
        quote_currency=Currency.from_str(spec.quote),
        settlement_currency=Currency.from_str(spec.quote),
        is_inverse=False,
        price_precision=price_precision,
        size_precision=size_precision,
        price_increment=Price.from_str(spec.tick_size),
        size_increment=Quantity.from_str(spec.lot_size),
        multiplier=Quantity.from_str(spec.contract_value),
        min_quantity=Quantity.from_str(spec.min_size),
        margin_init=Decimal(1) / Decimal(spec.max_leverage),
        margin_maint=Decimal(spec.maint_margin),
        maker_fee=Decimal(spec.maker_fee),
        taker_fee=Decimal(spec.taker_fee),
        ts_event=ts_init,
        ts_init=ts_init,
    )



# -- Binance (for research over the Binance candle series in ../shared/data) -----------------

BINANCE_VENUE = "BINANCE"


@dataclass(frozen=True)
class BinanceSpec:
    """One Binance market's filters, as `GET /api/v3/exchangeInfo` (spot) or `/fapi/v1/exchangeInfo` (USD-M) list them.

    Binance has changed some ticks over the years; where the shared candle series show a finer
    increment than today's filter (SOLUSDT perpetual prices had 3 decimals in 2023) the finer one
    is used, so no stored price is rounded. Bar volume is rounded to the lot size's decimals.
    """

    symbol: str  # Binance symbol, e.g. BTCUSDT
    base: str
    quote: str
    tick_size: str  # PRICE_FILTER tickSize
    lot_size: str  # LOT_SIZE stepSize (base units)


BINANCE_SPOT: dict[str, BinanceSpec] = {
    "BTCUSDT": BinanceSpec("BTCUSDT", "BTC", "USDT", "0.01", "0.00001"),
    "ETHUSDT": BinanceSpec("ETHUSDT", "ETH", "USDT", "0.01", "0.0001"),
    "SOLUSDT": BinanceSpec("SOLUSDT", "SOL", "USDT", "0.01", "0.001"),
}
BINANCE_USDM: dict[str, BinanceSpec] = {
    "BTCUSDT": BinanceSpec("BTCUSDT", "BTC", "USDT", "0.1", "0.001"),
    "ETHUSDT": BinanceSpec("ETHUSDT", "ETH", "USDT", "0.01", "0.001"),
    "SOLUSDT": BinanceSpec("SOLUSDT", "SOL", "USDT", "0.001", "0.01"),
}


def _binance_spec(table: dict[str, BinanceSpec], symbol_or_id: str, kind: str) -> BinanceSpec:
    symbol = symbol_or_id.split(".")[0].removesuffix("-PERP")
    try:
        return table[symbol]
    except KeyError:
        raise ValueError(f"unknown Binance {kind} symbol {symbol_or_id!r}; known: {', '.join(table)}") from None


def binance_spot(symbol_or_id: str, ts_init: int = 0):  # noqa: ANN201 - CurrencyPair, imported lazily
    """Build the nautilus `CurrencyPair` `BTCUSDT.BINANCE` for a Binance spot pair (quantities in base units).

    Used to store the Binance spot candle series (e.g. `binance_spot_BTCUSDT_1m_*.parquet`) in the
    catalog for research. Fees are Binance's regular spot rate (0.1 % maker and taker).
    """
    from nautilus_trader.model.currencies import Currency
    from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
    from nautilus_trader.model.instruments import CurrencyPair
    from nautilus_trader.model.objects import Price, Quantity

    spec = _binance_spec(BINANCE_SPOT, symbol_or_id, "spot")
    return CurrencyPair(
        instrument_id=InstrumentId(Symbol(spec.symbol), Venue(BINANCE_VENUE)),
        raw_symbol=Symbol(spec.symbol),
        base_currency=Currency.from_str(spec.base),
        quote_currency=Currency.from_str(spec.quote),
        price_precision=step_decimals(spec.tick_size),
        size_precision=step_decimals(spec.lot_size),
        price_increment=Price.from_str(spec.tick_size),
        size_increment=Quantity.from_str(spec.lot_size),
        maker_fee=Decimal("0.001"),
        taker_fee=Decimal("0.001"),
        ts_event=ts_init,
        ts_init=ts_init,
    )


def binance_usdm(symbol_or_id: str, ts_init: int = 0) -> CryptoPerpetual:
    """Build the nautilus `CryptoPerpetual` `BTCUSDT-PERP.BINANCE` for a Binance USD-M perpetual.

    The `-PERP` suffix follows nautilus's Binance adapter, so spot and perpetual ids differ.
    Quantities are in base units (multiplier 1); fees are the regular USD-M rates
    (maker 0.02 %, taker 0.05 %). For research over `binance_usdm_*_1m_*.parquet`.
    """
    from nautilus_trader.model.currencies import Currency
    from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
    from nautilus_trader.model.instruments import CryptoPerpetual
    from nautilus_trader.model.objects import Price, Quantity

    spec = _binance_spec(BINANCE_USDM, symbol_or_id, "USD-M")
    return CryptoPerpetual(
        instrument_id=InstrumentId(Symbol(f"{spec.symbol}-PERP"), Venue(BINANCE_VENUE)),
        raw_symbol=Symbol(spec.symbol),
        base_currency=Currency.from_str(spec.base),
        quote_currency=Currency.from_str(spec.quote),
        settlement_currency=Currency.from_str(spec.quote),
        is_inverse=False,
        price_precision=step_decimals(spec.tick_size),
        size_precision=step_decimals(spec.lot_size),
        price_increment=Price.from_str(spec.tick_size),
        size_increment=Quantity.from_str(spec.lot_size),
        multiplier=Quantity.from_str("1"),
        maker_fee=Decimal("0.0002"),
        taker_fee=Decimal("0.0005"),
        ts_event=ts_init,
        ts_init=ts_init,
    )


def bundled_ids() -> list[str]:
    """The ids of the nine bundled definitions (the offline default)."""
    return [*(f"{s}.{OKX_VENUE}" for s in OKX_SWAPS), *(f"{s}.{BINANCE_VENUE}" for s in BINANCE_SPOT), *(f"{s}-PERP.{BINANCE_VENUE}" for s in BINANCE_USDM)]


def bundled_instrument(identifier: str):  # noqa: ANN201 - a nautilus Instrument, imported lazily
    """Return a bundled definition: an OKX swap (`BTC-USDT-SWAP[.OKX]`), a Binance spot pair
    (`BTCUSDT.BINANCE`) or a Binance USD-M perpetual (`BTCUSDT-PERP.BINANCE`); ValueError for others."""
    if identifier.endswith(f".{BINANCE_VENUE}"):
        return binance_usdm(identifier) if "-PERP" in identifier else binance_spot(identifier)
    return okx_swap(identifier)


def stored_instrument(catalog: Any, instrument_id: str) -> Instrument | None:
    """The definition a catalog holds for `instrument_id`, or None (`catalog`: a RaveCatalog or a nautilus ParquetDataCatalog)."""
    if catalog is None:
        return None
    try:
        if hasattr(catalog, "ensure_instrument"):  # RaveCatalog: `instrument` raises KeyError when absent
            return catalog.instrument(instrument_id)
        found = catalog.instruments(instrument_ids=[instrument_id])
    except (KeyError, OSError):
        return None
    return found[0] if found else None


def instrument_for(identifier: str, catalog: Any = None):  # noqa: ANN201 - a nautilus Instrument, imported lazily
    """Return the instrument an id names: a bundled definition first, then one the catalog keeps
    (`ravebear catalog instrument add`, or stored by an import or download). A bare OKX instId
    (`DOGE-USDT-SWAP`) means `DOGE-USDT-SWAP.OKX`."""
    try:
        return bundled_instrument(identifier)
    except ValueError:
        pass
    instrument_id = identifier if "." in identifier else f"{identifier}.{OKX_VENUE}"
    found = stored_instrument(catalog, instrument_id)
    if found is not None:
        return found
    where = f" or in the catalog at {catalog.path}" if getattr(catalog, "path", None) is not None else ""
    raise ValueError(
        f"unknown instrument {identifier!r}: not one of the bundled ({', '.join(bundled_ids())}){where}; "
        f"add it with `ravebear catalog instrument add OKX:{identifier.split('.')[0]}` (or EXCHANGE:SYMBOL for a ccxt exchange)",
    )
