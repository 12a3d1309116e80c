"""Coinalyze JSON -> RaveBear data types. Pure functions; a malformed record is skipped with an error naming the field."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from nautilus_trader.model.identifiers import InstrumentId

from ravebear.adapters.coinalyze.constants import HISTORY_ENDPOINTS, INTERVAL_SECONDS
from ravebear.adapters.common.parsing import ParseResult, RecordError
from ravebear.catalog.alt_data.types import FundingRate, Liquidation, LongShortRatio, OpenInterest
from ravebear.time_units import NS_PER_SECOND


@dataclass(frozen=True)
class FutureMarket:
    """One row of GET /future-markets."""

    symbol: str  # Coinalyze symbol, e.g. BTCUSDT_PERP.3
    exchange: str  # exchange code
    symbol_on_exchange: str  # e.g. BTC-USDT-SWAP
    base_asset: str
    quote_asset: str
    is_perpetual: bool
    has_long_short_ratio_data: bool


def _field(record: Any, name: str) -> Any:
    if not isinstance(record, dict):
        raise RecordError(f"expected an object, got {type(record).__name__}")
    if name not in record:
        raise RecordError(f"missing field {name!r}")
    return record[name]


def _number(record: Any, name: str, allow_null: bool = False) -> float:
    value = _field(record, name)
    if value is None and allow_null:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RecordError(f"field {name!r} is not a number: {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise RecordError(f"field {name!r} is not a number: {value!r}") from None
    if math.isinf(number):
        raise RecordError(f"field {name!r} is not finite: {value!r}")
    return number


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise RecordError(f"{what}: expected a list, got {type(value).__name__}")
    return value


def parse_exchanges(raw: Any) -> dict[str, str]:
    """Return {exchange name (upper case): code} from GET /exchanges."""
    out = {}
    for item in _list(raw, "exchanges"):
        try:
            out[str(_field(item, "name")).upper()] = str(_field(item, "code"))
        except RecordError:
            continue
    return out


def parse_future_markets(raw: Any) -> ParseResult:
    """Parse GET /future-markets into `FutureMarket` rows."""
    result = ParseResult()
    for index, item in enumerate(_list(raw, "future-markets")):
        try:
            result.records.append(
                FutureMarket(
                    symbol=str(_field(item, "symbol")),
                    exchange=str(_field(item, "exchange")),
                    symbol_on_exchange=str(_field(item, "symbol_on_exchange")),
                    base_asset=str(item.get("base_asset", "")),
                    quote_asset=str(item.get("quote_asset", "")),
                    is_perpetual=bool(item.get("is_perpetual", False)),
                    has_long_short_ratio_data=bool(item.get("has_long_short_ratio_data", False)),
                ),
            )
        except RecordError as exc:
            result.errors.append(f"future-markets row {index}: {exc}")
    return result


def okx_symbol(instrument_id: str) -> str:
    """Return the OKX instId of a nautilus OKX instrument id (`BTC-USDT-SWAP.OKX` -> `BTC-USDT-SWAP`)."""
    return instrument_id.removesuffix(".OKX")


def coinalyze_symbol_guess(instrument_id: str, exchange_code: str) -> str:
    """Return Coinalyze's usual symbol for an OKX perpetual (`BTC-USDT-SWAP` -> `BTCUSDT_PERP.<code>`)."""
    parts = okx_symbol(instrument_id).split("-")
    if len(parts) != 3 or parts[2] != "SWAP":
        raise ValueError(f"{instrument_id!r} is not an OKX perpetual swap (BASE-QUOTE-SWAP)")
    return f"{parts[0]}{parts[1]}_PERP.{exchange_code}"


def map_okx_instruments(instrument_ids: list[str], exchange_code: str, markets: list[FutureMarket]) -> dict[str, str]:
    """Return {Coinalyze symbol: OKX instrument id}: exact `symbol_on_exchange` match, else the usual symbol."""
    by_native = {m.symbol_on_exchange: m.symbol for m in markets if m.exchange == exchange_code}
    out = {}
    for instrument_id in instrument_ids:
        symbol = by_native.get(okx_symbol(instrument_id)) or coinalyze_symbol_guess(instrument_id, exchange_code)
        out[symbol] = instrument_id if instrument_id.endswith(".OKX") else f"{instrument_id}.OKX"
    return out


def _series(raw: Any, endpoint: str) -> list[tuple[str, list[Any]]]:
    out = []
    for index, item in enumerate(_list(raw, endpoint)):
        try:
            out.append((str(_field(item, "symbol")), _list(_field(item, "history"), f"{endpoint} {_field(item, 'symbol')}")))
        except RecordError as exc:
            out.append((f"<item {index}>", [RecordError(str(exc))]))
    return out


def parse_history(
    raw: Any,
    metric: str,
    symbols: dict[str, str],
    interval: str,
    usd: bool = False,
    ts_init: int | None = None,
    closed_before_ns: int | None = None,
) -> ParseResult:
    """Parse a `/...-history` response of one metric into records stamped at each interval's end.

    `symbols` maps Coinalyze symbols to instrument ids; rows of other symbols are skipped.
    `ts_init` defaults to each row's ts_event. Rows whose interval ends after `closed_before_ns`
    (still forming) are dropped.
    """
    interval_s = INTERVAL_SECONDS[interval]
    result = ParseResult()
    endpoint = HISTORY_ENDPOINTS[metric].lstrip("/")
    try:
        series = _series(raw, endpoint)
    except RecordError as exc:
        result.errors.append(str(exc))
        return result
    for symbol, rows in series:
        instrument = symbols.get(symbol)
        instrument_id = InstrumentId.from_str(instrument) if instrument is not None else None
        for index, row in enumerate(rows):
            where = f"{endpoint} {symbol} row {index}"
            if isinstance(row, RecordError):
                result.errors.append(f"{endpoint}: {row}")
                continue
            if instrument_id is None:
                result.errors.append(f"{where}: unknown symbol {symbol!r}")
                break
            try:
                ts_event = (int(_number(row, "t")) + interval_s) * NS_PER_SECOND
                if closed_before_ns is not None and ts_event > closed_before_ns:
                    continue
                result.records.append(_history_record(metric, row, instrument_id, symbol, interval_s, usd, ts_event, ts_init or ts_event))
            except RecordError as exc:
                result.errors.append(f"{where}: {exc}")
    return result


def _history_record(metric: str, row: Any, instrument_id: InstrumentId, symbol: str, interval_s: int, usd: bool, ts_event: int, ts_init: int) -> Any:
    if metric in ("open_interest", "funding_rate", "predicted_funding_rate"):
        ohlc = {name: _number(row, key) for name, key in (("open", "o"), ("high", "h"), ("low", "l"), ("close", "c"))}
        if metric == "open_interest":
            return OpenInterest(instrument_id=instrument_id, symbol=symbol, usd=usd, interval_s=interval_s, ts_event=ts_event, ts_init=ts_init, **ohlc)
        return FundingRate(
            instrument_id=instrument_id, symbol=symbol, predicted=metric == "predicted_funding_rate",
            interval_s=interval_s, ts_event=ts_event, ts_init=ts_init, **ohlc,
        )  # fmt: skip
    if metric == "liquidations":
        return Liquidation(
            instrument_id=instrument_id, symbol=symbol, long_liquidations=_number(row, "l"), short_liquidations=_number(row, "s"),
            usd=usd, interval_s=interval_s, ts_event=ts_event, ts_init=ts_init,
        )  # fmt: skip
    if metric == "long_short_ratio":
        return LongShortRatio(
            instrument_id=instrument_id, symbol=symbol, ratio=_number(row, "r"), long_percent=_number(row, "l"),
            short_percent=_number(row, "s"), interval_s=interval_s, ts_event=ts_event, ts_init=ts_init,
        )  # fmt: skip
    raise ValueError(f"unknown Coinalyze metric {metric!r}")


def parse_current(raw: Any, metric: str, symbols: dict[str, str], usd: bool = False, ts_init: int | None = None) -> ParseResult:
    """Parse a current-value response (`[{symbol, value, update}]`, update in ms) into point records."""
    result = ParseResult()
    endpoint = metric.replace("_", "-")
    try:
        items = _list(raw, endpoint)
    except RecordError as exc:
        result.errors.append(str(exc))
        return result
    for index, item in enumerate(items):
        where = f"{endpoint} item {index}"
        try:
            symbol = str(_field(item, "symbol"))
            instrument = symbols.get(symbol)
            if instrument is None:
                raise RecordError(f"unknown symbol {symbol!r}")
            value = _number(item, "value")
            ts_event = int(_number(item, "update")) * 1_000_000
            instrument_id = InstrumentId.from_str(instrument)
            common = {"instrument_id": instrument_id, "symbol": symbol, "open": value, "high": value, "low": value, "close": value}
            stamp = {"interval_s": 0, "ts_event": ts_event, "ts_init": ts_init or ts_event}
            if metric == "open_interest":
                result.records.append(OpenInterest(usd=usd, **common, **stamp))
            else:
                result.records.append(FundingRate(predicted=metric == "predicted_funding_rate", **common, **stamp))
        except RecordError as exc:
            result.errors.append(f"{where}: {exc}")
    return result
