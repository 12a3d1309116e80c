"""A JSON-over-HTTP client with timeouts, retries with backoff honouring Retry-After, and rate limits.

Retried: timeouts, connection errors, HTTP 429 (waits `Retry-After` when the server sends it,
capped), HTTP 5xx, and 200 responses whose body is not JSON. Not retried: 401/403 (raises
`AuthError` naming the environment variable) and other 4xx. Every attempt, retries included,
goes through the rate limiter. Log messages and errors pass through the client's `Redactor`.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import random
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from ravebear.adapters.common.errors import AuthError, RequestFailedError
from ravebear.adapters.common.rate_limit import RateLimiter
from ravebear.adapters.common.redact import LogSink, Redactor

AUTH_STATUSES = (401, 403)


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait for a response and how to retry."""

    timeout_s: float = 30.0  # whole request, connect to last byte
    max_retries: int = 5  # retries after the first attempt
    backoff_s: float = 1.0  # wait before the first retry; doubles each retry (plus up to 25 % jitter)
    max_backoff_s: float = 60.0  # cap of the doubling backoff
    max_retry_after_s: float = 300.0  # cap of a server's Retry-After

    def backoff(self, retry: int) -> float:
        """Return the wait before retry number `retry` (0-based) when the server gave no Retry-After."""
        base = min(self.backoff_s * 2**retry, self.max_backoff_s)
        return base * (1 + random.random() / 4)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Return the seconds a `Retry-After` header asks for (delta seconds or an HTTP date), None if absent or invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class JsonHttpClient:
    """GET JSON from one service: base URL, secret headers/params, shared rate limit, retries."""

    def __init__(
        self,
        base_url: str,
        service: str,
        log: LogSink,
        redactor: Redactor,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        api_key_env: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.service = service
        self.retry = retry or RetryPolicy()
        self.limiter = limiter
        self.api_key_env = api_key_env
        self.log = log  # replaceable: a data client hands in its own redacting log
        self._redact = redactor
        self._headers = dict(headers or {})
        self._params = dict(params or {})
        self._session: aiohttp.ClientSession | None = None
        self.requests = 0  # attempts sent (retries included)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def _session_for_loop(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers={"Accept": "application/json", **self._headers})
        return self._session

    async def get_json(self, path: str, params: dict[str, Any] | None = None, cost: int = 1) -> Any:
        """GET `base_url + path` and return the decoded JSON body; `cost` is the request's rate-limit weight."""
        query = {**self._params, **{k: _query_value(v) for k, v in (params or {}).items() if v is not None}}
        url = f"{self.base_url}{path}"
        policy = self.retry
        for attempt in range(policy.max_retries + 1):
            status, body, retry_after, failure = await self._attempt(url, query, cost)
            wait: float | None = None
            if status in AUTH_STATUSES:
                raise AuthError(self.service, self.api_key_env, status, _short(self._redact(body)))
            if status == 429:
                failure = "HTTP 429 Too Many Requests"
                asked = parse_retry_after(retry_after)
                wait = min(asked, policy.max_retry_after_s) if asked is not None else None
            elif status is not None and status >= 500:
                failure = f"HTTP {status}"
            elif status is not None and status >= 400:
                raise RequestFailedError(f"{self.service} GET {path}: HTTP {status}: {_short(self._redact(body))}", status)
            elif status is not None:
                try:
                    return json.loads(body)
                except ValueError:
                    failure = f"response is not JSON: {_short(self._redact(body))!r}"
            if attempt == policy.max_retries:
                raise RequestFailedError(f"{self.service} GET {path} failed after {attempt + 1} attempts: {failure}", status)
            wait = policy.backoff(attempt) if wait is None else wait
            self.log.warning(self._redact(f"{self.service} GET {path}: {failure}; retry {attempt + 1}/{policy.max_retries} in {wait:.2f}s"))
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def _attempt(self, url: str, query: dict[str, str], cost: int) -> tuple[int | None, str, str | None, str]:
        limiter = self.limiter.slot(cost) if self.limiter is not None else contextlib.nullcontext()
        timeout = aiohttp.ClientTimeout(total=self.retry.timeout_s)
        async with limiter:
            self.requests += 1
            try:
                async with self._session_for_loop().get(url, params=query, timeout=timeout) as response:
                    body = await response.text(errors="replace")
                    return response.status, body, response.headers.get("Retry-After"), ""
            except TimeoutError:
                return None, "", None, f"timed out after {self.retry.timeout_s:g}s"
            except aiohttp.ClientError as exc:
                return None, "", None, f"{type(exc).__name__}: {self._redact(exc)}"


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."
