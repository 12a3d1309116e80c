"""DefiLlama and CoinGecko JSON -> `StablecoinSupply` / `Dominance`. Pure; a malformed point is skipped with an error naming the field."""

from __future__ import annotations

import math
from typing import Any

from ravebear.adapters.common.parsing import ParseResult, RecordError
from ravebear.adapters.stablecoins.constants import ALL_STABLECOINS, DAY_S
from ravebear.catalog.alt_data.types import Dominance, StablecoinSupply
from ravebear.time_units import NS_PER_SECOND


def _path(record: Any, path: str) -> Any:
    value = record
    walked = []
    for part in path.split("."):
        walked.append(part)
        if not isinstance(value, dict):
            raise RecordError(f"field '{'.'.join(walked[:-1]) or 'record'}' is not an object")
        if part not in value or value[part] is None:
            raise RecordError(f"missing field '{'.'.join(walked)}'")
        value = value[part]
    return value


def _number(record: Any, path: str) -> float:
    value = _path(record, path)
    if isinstance(value, bool):
        raise RecordError(f"field '{path}' is not a number: {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RecordError(f"field '{path}' is not a number: {value!r}") from None
    if not math.isfinite(number):
        raise RecordError(f"field '{path}' is not finite: {value!r}")
    return number


def stablecoin_ids(raw: Any) -> dict[str, str]:
    """Return {symbol (upper case): DefiLlama id} of USD-pegged stablecoins from GET /stablecoins."""
    out: dict[str, str] = {}
    for asset in _assets(raw):
        if isinstance(asset, dict) and asset.get("pegType") == "peggedUSD" and asset.get("symbol") and asset.get("id") is not None:
            out.setdefault(str(asset["symbol"]).upper(), str(asset["id"]))
    return out


def _assets(raw: Any) -> list[Any]:
    assets = raw.get("peggedAssets") if isinstance(raw, dict) else None
    if not isinstance(assets, list):
        raise RecordError("missing field 'peggedAssets'")
    return assets


def parse_current_supply(raw: Any, assets: tuple[str, ...], include_total: bool, ts_event: int) -> ParseResult:
    """Parse GET /stablecoins into current supply points (net flow = circulating minus circulatingPrevDay)."""
    result = ParseResult()
    try:
        pegged = _assets(raw)
    except RecordError as exc:
        result.errors.append(f"stablecoins: {exc}")
        return result
    wanted = {a.upper() for a in assets}
    total, total_prev, found = 0.0, 0.0, set()
    for index, asset in enumerate(pegged):
        if not isinstance(asset, dict) or asset.get("pegType") != "peggedUSD":
            continue
        symbol = str(asset.get("symbol", "")).upper()
        try:
            circulating = _number(asset, "circulating.peggedUSD")
            previous = _number(asset, "circulatingPrevDay.peggedUSD")
        except RecordError as exc:
            if symbol in wanted:
                result.errors.append(f"stablecoins {symbol} (item {index}): {exc}")
            continue
        total += circulating
        total_prev += previous
        if symbol in wanted and symbol not in found:
            found.add(symbol)
            result.records.append(_supply(symbol, circulating, circulating - previous, ts_event))
    for symbol in sorted(wanted - found):
        if not any(symbol in e for e in result.errors):
            result.errors.append(f"stablecoins: no USD-pegged asset with symbol {symbol!r}")
    if include_total:
        result.records.append(_supply(ALL_STABLECOINS, total, total - total_prev, ts_event))
    return result


def _supply(asset: str, circulating: float, flow: float, ts_event: int, ts_init: int | None = None) -> StablecoinSupply:
    return StablecoinSupply(
        asset=asset, circulating_usd=circulating, net_flow_usd=flow, interval_s=DAY_S, source="defillama",
        ts_event=ts_event, ts_init=ts_init or ts_event,
    )  # fmt: skip


def parse_supply_chart(raw: Any, asset: str, now_s: int | None = None) -> ParseResult:
    """Parse GET /stablecoincharts/all[?stablecoin=id] (daily, oldest first) into supply points.

    A point dated D (00:00 UTC) is stamped at D + 1 day, when that day is over; the day still
    running (stamp after `now_s`) is dropped. Net flow is the change from the previous point
    in the chart (NaN for the first one, or after a skipped point).
    """
    result = ParseResult()
    if not isinstance(raw, list):
        result.errors.append(f"stablecoincharts {asset}: expected a list, got {type(raw).__name__}")
        return result
    previous: float | None = None
    for index, point in enumerate(raw):
        try:
            day = int(_number(point, "date"))
            circulating = _number(point, "totalCirculatingUSD.peggedUSD")
        except RecordError as exc:
            result.errors.append(f"stablecoincharts {asset} point {index}: {exc}")
            previous = None
            continue
        ts_event = (day + DAY_S) * NS_PER_SECOND
        flow = math.nan if previous is None else circulating - previous
        previous = circulating
        if now_s is not None and ts_event > now_s * NS_PER_SECOND:
            continue
        result.records.append(_supply(asset, circulating, flow, ts_event))
    return result


def parse_global_dominance(raw: Any, assets: tuple[str, ...], ts_init: int | None = None) -> ParseResult:
    """Parse CoinGecko GET /global into one `Dominance` per asset (percent of total market cap)."""
    result = ParseResult()
    try:
        updated = int(_number(raw, "data.updated_at"))
    except RecordError as exc:
        result.errors.append(f"global: {exc}")
        return result
    for asset in assets:
        try:
            percent = _number(raw, f"data.market_cap_percentage.{asset.lower()}")
        except RecordError as exc:
            result.errors.append(f"global {asset.upper()}: {exc}")
            continue
        result.records.append(Dominance(asset=asset.upper(), percent=percent, source="coingecko", ts_event=updated * NS_PER_SECOND, ts_init=ts_init or updated * NS_PER_SECOND))
    return result
