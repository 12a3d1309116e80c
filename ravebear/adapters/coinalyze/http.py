"""Coinalyze REST client: symbol batching (at most 20 per request, one call each) and the process-wide budget."""

from __future__ import annotations

from typing import Any

from ravebear.adapters.coinalyze import parsing
from ravebear.adapters.coinalyze.constants import (
    API_KEY_ENV,
    API_KEY_HEADER,
    CURRENT_ENDPOINTS,
    HISTORY_ENDPOINTS,
    MAX_SYMBOLS_PER_REQUEST,
    RATE_LIMITER_NAME,
    SERVICE,
    USD_CONVERTIBLE,
)
from ravebear.adapters.common.http import JsonHttpClient, RetryPolicy
from ravebear.adapters.common.rate_limit import shared_rate_limiter
from ravebear.adapters.common.redact import LogSink, Redactor
from ravebear.adapters.common.secrets import secret_from_env


def batches(symbols: list[str], size: int = MAX_SYMBOLS_PER_REQUEST) -> list[list[str]]:
    """Split symbols into request-sized batches."""
    return [symbols[i : i + size] for i in range(0, len(symbols), size)]


class CoinalyzeHttpClient:
    """GET Coinalyze endpoints within the shared budget of `calls` per `period_s` (each symbol one call)."""

    def __init__(
        self,
        base_url: str,
        log: LogSink,
        retry: RetryPolicy | None = None,
        calls: int = 40,
        period_s: float = 60.0,
        api_key: str | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        key = api_key if api_key is not None else secret_from_env(API_KEY_ENV, SERVICE)
        self.redactor = redactor or Redactor()
        self.redactor.add(key)
        self.http = JsonHttpClient(
            base_url,
            SERVICE,
            log,
            self.redactor,
            retry=retry,
            limiter=shared_rate_limiter(RATE_LIMITER_NAME, calls, period_s),
            headers={API_KEY_HEADER: key or ""},
            api_key_env=API_KEY_ENV,
        )

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.http.close()

    async def exchange_code(self, name: str) -> str:
        """Return Coinalyze's code of an exchange by name (GET /exchanges)."""
        exchanges = parsing.parse_exchanges(await self.http.get_json("/exchanges"))
        try:
            return exchanges[name.upper()]
        except KeyError:
            raise ValueError(f"Coinalyze has no exchange named {name!r} (it has {', '.join(sorted(exchanges))})") from None

    async def future_markets(self) -> parsing.ParseResult:
        """Return the perpetual and dated futures markets (GET /future-markets)."""
        return parsing.parse_future_markets(await self.http.get_json("/future-markets"))

    async def resolve_symbols(self, instrument_ids: list[str], exchange_name: str = "OKX") -> dict[str, str]:
        """Return {Coinalyze symbol: instrument id} for OKX instruments, the exchange code read at runtime."""
        code = await self.exchange_code(exchange_name)
        markets = await self.future_markets()
        return parsing.map_okx_instruments(instrument_ids, code, markets.records)

    async def history(self, metric: str, symbols: list[str], interval: str, from_s: int, to_s: int, usd: bool) -> list[Any]:
        """Return the raw history items of `symbols` for [from_s, to_s] (seconds), batching symbols."""
        items: list[Any] = []
        for batch in batches(symbols):
            params: dict[str, Any] = {"symbols": batch, "interval": interval, "from": from_s, "to": to_s}
            if metric in USD_CONVERTIBLE:
                params["convert_to_usd"] = usd
            raw = await self.http.get_json(HISTORY_ENDPOINTS[metric], params, cost=len(batch))
            items.extend(raw if isinstance(raw, list) else [raw])
        return items

    async def current(self, metric: str, symbols: list[str], usd: bool) -> list[Any]:
        """Return the raw current values (`[{symbol, value, update}]`) of `symbols`, batching symbols."""
        items: list[Any] = []
        for batch in batches(symbols):
            params: dict[str, Any] = {"symbols": batch}
            if metric == "open_interest":
                params["convert_to_usd"] = usd
            raw = await self.http.get_json(CURRENT_ENDPOINTS[metric], params, cost=len(batch))
            items.extend(raw if isinstance(raw, list) else [raw])
        return items
