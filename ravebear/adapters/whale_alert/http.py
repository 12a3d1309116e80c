"""Whale Alert v1 REST client (key in the X-WA-API-KEY header, cursor paging) within the process-wide budget."""

from __future__ import annotations

from typing import Any

from ravebear.adapters.common.http import JsonHttpClient, RetryPolicy
from ravebear.adapters.common.rate_limit import shared_rate_limiter
from ravebear.adapters.common.redact import LogSink, Redactor
from ravebear.adapters.common.secrets import secret_from_env
from ravebear.adapters.whale_alert.constants import API_KEY_ENV, API_KEY_HEADER, MAX_PAGE_LIMIT, RATE_LIMITER_NAME, SERVICE


class WhaleAlertHttpClient:
    """GET v1 `/transactions` pages."""

    def __init__(
        self,
        base_url: str,
        log: LogSink,
        retry: RetryPolicy | None = None,
        calls: int = 10,
        period_s: float = 60.0,
        api_key: str | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.api_key = api_key if api_key is not None else secret_from_env(API_KEY_ENV, SERVICE) or ""
        self.redactor = redactor or Redactor()
        self.redactor.add(self.api_key)
        self.http = JsonHttpClient(
            base_url,
            SERVICE,
            log,
            self.redactor,
            retry=retry,
            limiter=shared_rate_limiter(RATE_LIMITER_NAME, calls, period_s),
            headers={API_KEY_HEADER: self.api_key},
            api_key_env=API_KEY_ENV,
        )

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.http.close()

    async def transactions(
        self,
        start_s: int,
        end_s: int | None = None,
        cursor: str | None = None,
        min_value_usd: float | None = None,
        limit: int = MAX_PAGE_LIMIT,
        currency: str | None = None,
    ) -> Any:
        """Return one raw `/transactions` page from `start_s` (UNIX s), continuing after `cursor`."""
        params = {
            "start": start_s,
            "end": end_s,
            "cursor": cursor,
            "min_value": None if min_value_usd is None else int(min_value_usd),
            "limit": min(limit, MAX_PAGE_LIMIT),
            "currency": currency,
        }
        return await self.http.get_json("/transactions", params)
