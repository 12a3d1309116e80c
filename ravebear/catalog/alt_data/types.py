"""Alternative-data types: derivatives metrics, whale transfers, stablecoin supply and dominance.

Every class is a nautilus `@customdataclass`, so one type is written to the catalog, replayed
in a BacktestNode and published live by the adapters. Build them with keyword arguments and
`ts_event` / `ts_init` (UNIX ns) as keywords.

Time stamps: values aggregated over an interval (Coinalyze history rows, daily stablecoin
points) are stamped at the interval's **end** (`ts_event = start + interval_s`), like bars, so
no strategy sees an interval before it closes. Point-in-time values (current open interest,
a whale transfer, CoinGecko's dominance) are stamped at the source's own time.

nautilus constraints (1.231): no `from __future__ import annotations` in this module, no
`Optional` / `X | None` fields; the allowed field types are InstrumentId, str, bool, float,
int, bytes, ndarray, dict. A missing number is NaN.
"""

from nautilus_trader.core.data import Data
from nautilus_trader.model.custom import customdataclass
from nautilus_trader.model.identifiers import InstrumentId

NO_INSTRUMENT = InstrumentId.from_str("NONE.NONE")  # default of instrument fields; always set in practice


@customdataclass
class OpenInterest(Data):
    """Open interest of one perpetual swap over an interval (OHLC), or a current value (all four equal)."""

    instrument_id: InstrumentId = NO_INSTRUMENT  # e.g. BTC-USDT-SWAP.OKX
    symbol: str = ""  # the source's symbol, e.g. Coinalyze BTCUSDT_PERP.3
    open: float = 0.0
    high: float = 0.0
    low: float = 0.0
    close: float = 0.0  # the value at ts_event
    usd: bool = False  # True: USD notional; False: base-asset units
    interval_s: int = 0  # seconds covered by the row; 0 for a current (point) value


@customdataclass
class FundingRate(Data):
    """Funding rate of one perpetual swap (decimal per funding period, 0.0001 = 0.01 %).

    `predicted` separates the exchange's settled/current funding rate from the predicted
    rate of the next funding period: one type, so an actor sees both in time order and
    tells them apart with the flag.
    """

    instrument_id: InstrumentId = NO_INSTRUMENT
    symbol: str = ""
    open: float = 0.0
    high: float = 0.0
    low: float = 0.0
    close: float = 0.0  # the rate at ts_event
    predicted: bool = False  # True: predicted rate of the next funding period
    interval_s: int = 0  # seconds covered by the row; 0 for a current (point) value


@customdataclass
class LongShortRatio(Data):
    """Ratio of accounts long to accounts short on one swap over an interval."""

    instrument_id: InstrumentId = NO_INSTRUMENT
    symbol: str = ""
    ratio: float = 0.0  # long / short
    long_percent: float = 0.0  # 0-100
    short_percent: float = 0.0  # 0-100
    interval_s: int = 0


@customdataclass
class Liquidation(Data):
    """Liquidated long and short positions on one swap during an interval."""

    instrument_id: InstrumentId = NO_INSTRUMENT
    symbol: str = ""
    long_liquidations: float = 0.0  # longs liquidated (USD if `usd`, else base units)
    short_liquidations: float = 0.0  # shorts liquidated (USD if `usd`, else base units)
    usd: bool = False
    interval_s: int = 0


@customdataclass
class WhaleTransaction(Data):
    """One large on-chain transfer (Whale Alert), classified by size tier and exchange flow."""

    transaction_id: str = ""  # the source's id; the hash when the source has none
    blockchain: str = ""  # e.g. ethereum, bitcoin, tron
    symbol: str = ""  # asset moved, lower case as Whale Alert sends it (btc, usdt)
    transaction_type: str = ""  # transfer | mint | burn | lock | unlock
    hash: str = ""  # transaction hash ("" when the source does not send it)
    amount: float = 0.0  # asset units
    amount_usd: float = 0.0  # USD value at the time of the transfer
    from_address: str = ""
    from_owner: str = ""  # e.g. binance, "" when unknown
    from_owner_type: str = ""  # exchange | unknown | other (as the source says or as classified)
    to_address: str = ""
    to_owner: str = ""
    to_owner_type: str = ""
    tier: int = 0  # 1-based index of the largest configured USD tier reached; 0 below the first
    flow: str = ""  # exchange_inflow | exchange_outflow | exchange_internal | none
    source: str = ""  # rest | websocket


@customdataclass
class StablecoinSupply(Data):
    """Circulating supply of a stablecoin (or all USD stablecoins) and its change over the interval."""

    asset: str = ""  # USDT, USDC, or ALL for every USD-pegged stablecoin
    circulating_usd: float = 0.0  # USD, at ts_event
    net_flow_usd: float = 0.0  # USD change since the previous point (NaN for the first point)
    interval_s: int = 0  # seconds between this point and the previous one (86400 for daily)
    source: str = ""  # e.g. defillama


@customdataclass
class Dominance(Data):
    """Share of one asset in the total crypto market capitalisation."""

    asset: str = ""  # upper case, e.g. USDT, BTC
    percent: float = 0.0  # 0-100
    source: str = ""  # e.g. coingecko


ALT_DATA_TYPES: tuple[type[Data], ...] = (
    OpenInterest,
    FundingRate,
    LongShortRatio,
    Liquidation,
    WhaleTransaction,
    StablecoinSupply,
    Dominance,
)
