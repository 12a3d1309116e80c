"""Coinalyze live data client: polls current open interest and funding, and the latest closed liquidation and long/short rows."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ravebear.adapters.coinalyze import parsing
from ravebear.adapters.coinalyze.constants import API_KEY_ENV, INTERVAL_SECONDS, SERVICE
from ravebear.adapters.coinalyze.http import CoinalyzeHttpClient
from ravebear.adapters.common.live import AltDataClient
from ravebear.catalog.alt_data.types import FundingRate, Liquidation, LongShortRatio, OpenInterest
from ravebear.time_units import NS_PER_SECOND

if TYPE_CHECKING:
    from ravebear.adapters.coinalyze.config import CoinalyzeDataClientConfig

_METRICS: dict[type, tuple[str, ...]] = {
    OpenInterest: ("open_interest",),
    FundingRate: ("funding_rate", "predicted_funding_rate"),
    Liquidation: ("liquidations",),
    LongShortRatio: ("long_short_ratio",),
}
_CURRENT = frozenset({"open_interest", "funding_rate", "predicted_funding_rate"})


class CoinalyzeDataClient(AltDataClient):
    """Publish `OpenInterest`, `FundingRate` (settled and predicted), `Liquidation` and `LongShortRatio` for OKX swaps."""

    service = SERVICE
    api_key_env = API_KEY_ENV

    def __init__(self, *args: Any, http: CoinalyzeHttpClient, config: CoinalyzeDataClientConfig, **kwargs: Any) -> None:
        super().__init__(*args, config=config, redactor=http.redactor, **kwargs)
        self._config = config
        self._http = http
        http.http.log = self.log  # retries are logged by this client's (redacting) logger
        self._symbols: dict[str, str] | None = None
        self._symbols_lock = asyncio.Lock()
        self._last: dict[tuple[str, str], int] = {}  # (metric, symbol) -> last ts_event published

    def supported_types(self) -> tuple[type, ...]:
        return tuple(_METRICS)

    def _poll_interval_s(self, cls: type) -> float:
        return self._config.poll_interval_s

    async def _close(self) -> None:
        await self._http.close()

    async def symbols(self) -> dict[str, str]:
        """Return {Coinalyze symbol: instrument id}, resolved once from /exchanges and /future-markets."""
        async with self._symbols_lock:
            if self._symbols is None:
                self._symbols = await self._http.resolve_symbols(list(self._config.instrument_ids), self._config.exchange_name)
                self.log.info(f"{SERVICE} symbols: " + ", ".join(f"{i} = {s}" for s, i in self._symbols.items()))
            return self._symbols

    async def _poll_once(self, cls: type) -> list[Any]:
        symbols = await self.symbols()
        now = self._clock.timestamp_ns()
        records: list[Any] = []
        for metric in _METRICS[cls]:
            if metric in _CURRENT:
                raw = await self._http.current(metric, list(symbols), self._config.convert_to_usd)
                result = parsing.parse_current(raw, metric, symbols, usd=self._config.convert_to_usd, ts_init=now)
            else:
                interval_s = INTERVAL_SECONDS[self._config.live_interval]
                to_s = now // NS_PER_SECOND
                raw = await self._http.history(metric, list(symbols), self._config.live_interval, to_s - 3 * interval_s, to_s, self._config.convert_to_usd)
                result = parsing.parse_history(
                    raw, metric, symbols, self._config.live_interval, usd=self._config.convert_to_usd, ts_init=now, closed_before_ns=now,
                )  # fmt: skip
            for error in result.errors:
                self.log.error(f"{SERVICE} skipped a record: {error}")
            records.extend(self._new(metric, result.records, now))
        return sorted(records, key=lambda r: r.ts_event)

    def _new(self, metric: str, records: list[Any], now: int) -> list[Any]:
        out = []
        for record in sorted(records, key=lambda r: r.ts_event):
            key = (metric, record.symbol)
            # first poll of a history metric: only the latest closed interval(s), not the whole window
            last = self._last.get(key, 0 if metric in _CURRENT else now - 2 * INTERVAL_SECONDS[self._config.live_interval] * NS_PER_SECOND)
            if record.ts_event > last:
                out.append(record)
                self._last[key] = record.ts_event
        return out
