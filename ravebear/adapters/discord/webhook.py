"""Post to one Discord webhook within its rate limits.

Before each request the client waits on three things: the webhook's own budget (5 per 2 s), the
channel's (30 a minute, shared by every webhook posting there) and the bucket Discord last reported
(`X-RateLimit-Remaining: 0` -> wait `X-RateLimit-Reset-After`). So a 429 should not happen; when one
does, the wait it asks for (`retry_after` in the body, else `Retry-After`, else the reset header) is
honoured before the next try, and a `global` 429 pauses every webhook of the process.
Not retried: HTTP 400 (code 50035 is a payload Discord refuses: its field errors are returned) and
401/403/404 (a deleted webhook or a wrong URL: the message names the environment variable, never the URL).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from ravebear.adapters.common.http import RetryPolicy, parse_retry_after
from ravebear.adapters.common.rate_limit import RateLimiter
from ravebear.adapters.common.redact import LogSink, Redactor
from ravebear.adapters.discord import limits as lim

MAX_RATE_LIMITED = 10  # 429s in a row before the message is given up (dead-lettered)


@dataclass(frozen=True)
class SendResult:
    """How one message went: `sent`, `rejected` (Discord refused the payload; retrying cannot help) or `failed`."""

    outcome: str
    detail: str = ""
    message_id: str | None = None
    attempts: int = 0
    rate_limited: int = 0  # 429s met on the way


class GlobalPause:
    """A process-wide pause set by a `global` 429: every webhook waits it out."""

    def __init__(self) -> None:
        self.until = 0.0

    def extend(self, seconds: float) -> None:
        """Pause every webhook for `seconds` from now."""
        self.until = max(self.until, time.monotonic() + seconds)


def field_errors(body: Any, path: str = "") -> list[str]:
    """Flatten Discord's nested `errors` object to 'embeds.0.fields.3.value: Must be 1024 or fewer in length.'."""
    if not isinstance(body, dict):
        return []
    out = [f"{path or 'payload'}: {e.get('message', e.get('code', '?'))}" for e in body.get("_errors", ()) if isinstance(e, dict)]
    for key, value in body.items():
        if key != "_errors":
            out += field_errors(value, f"{path}.{key}" if path else str(key))
    return out


class WebhookClient:
    """One webhook of one channel; `env_var` names where its URL came from (the URL itself is a secret)."""

    def __init__(
        self,
        url: str,
        channel: str,
        env_var: str,
        log: LogSink,
        retry: RetryPolicy | None = None,
        channel_limiter: RateLimiter | None = None,
        pause: GlobalPause | None = None,
    ) -> None:
        self._url = url
        self.channel = channel
        self.env_var = env_var
        self.log = log
        self.retry = retry or RetryPolicy(timeout_s=10.0, max_retries=4, backoff_s=0.5, max_backoff_s=30.0, max_retry_after_s=120.0)
        self.webhook_limiter = RateLimiter(lim.WEBHOOK_CALLS, lim.WEBHOOK_PERIOD_S, f"discord webhook {channel}")
        self.channel_limiter = channel_limiter or RateLimiter(lim.CHANNEL_CALLS, lim.CHANNEL_PERIOD_S, f"discord channel {channel}")
        self.pause = pause or GlobalPause()
        self._redact = Redactor(url, url.rstrip("/").rsplit("/", 1)[-1])
        self._bucket_until = 0.0  # monotonic time the reported bucket refills
        self._session: aiohttp.ClientSession | None = None
        self.requests = 0

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def send(self, payload: dict[str, Any]) -> SendResult:
        """POST one message (`?wait=true`, so a success returns the stored message's id)."""
        attempts = rate_limited = failures = 0
        while True:
            await self._wait_turn()
            attempts += 1
            status, body, headers, failure = await self._post(payload)
            self._note_bucket(headers)
            if status in (200, 204):
                message_id = body.get("id") if isinstance(body, dict) else None
                return SendResult("sent", "", message_id, attempts, rate_limited)
            if status == 429:
                rate_limited += 1
                wait = self._retry_after(body, headers)
                if isinstance(body, dict) and body.get("global") or headers.get("X-RateLimit-Global") == "true":
                    self.pause.extend(wait)
                else:
                    self._bucket_until = max(self._bucket_until, time.monotonic() + wait)
                self.log.warning(f"discord {self.channel}: HTTP 429, waiting {wait:.2f}s as Discord asks")
                if rate_limited >= MAX_RATE_LIMITED:
                    return SendResult("failed", f"rate limited {rate_limited} times in a row", None, attempts, rate_limited)
                continue
            if status == 400:
                code = body.get("code") if isinstance(body, dict) else None
                errors = "; ".join(field_errors(body.get("errors"))) if isinstance(body, dict) else ""
                detail = f"HTTP 400 code {code}: {body.get('message', '') if isinstance(body, dict) else ''}" + (f" ({errors})" if errors else "")
                return SendResult("rejected", self._redact(detail), None, attempts, rate_limited)
            if status in (401, 403, 404):
                message = body.get("message", "") if isinstance(body, dict) else ""
                return SendResult("failed", f"HTTP {status} {message}: check the webhook URL in {self.env_var}".replace("  ", " "), None, attempts, rate_limited)
            if status is not None and status < 500:
                return SendResult("rejected", self._redact(f"HTTP {status}: {str(body)[:200]}"), None, attempts, rate_limited)
            failure = failure or f"HTTP {status}"
            if failures >= self.retry.max_retries:
                return SendResult("failed", f"{failure} after {attempts} attempts", None, attempts, rate_limited)
            wait = self.retry.backoff(failures)
            failures += 1
            self.log.warning(f"discord {self.channel}: {failure}; retry {failures}/{self.retry.max_retries} in {wait:.2f}s")
            await asyncio.sleep(wait)

    async def _wait_turn(self) -> None:
        while (wait := max(self.pause.until, self._bucket_until) - time.monotonic()) > 0:
            await asyncio.sleep(wait)

    def _note_bucket(self, headers: dict[str, str]) -> None:
        if headers.get("X-RateLimit-Remaining") == "0":
            reset = parse_retry_after(headers.get("X-RateLimit-Reset-After"))
            if reset is not None:
                self._bucket_until = max(self._bucket_until, time.monotonic() + min(reset, self.retry.max_retry_after_s))

    def _retry_after(self, body: Any, headers: dict[str, str]) -> float:
        asked = body.get("retry_after") if isinstance(body, dict) else None
        if not isinstance(asked, (int, float)):
            asked = parse_retry_after(headers.get("Retry-After")) or parse_retry_after(headers.get("X-RateLimit-Reset-After"))
        return min(float(asked if asked is not None else self.retry.backoff_s), self.retry.max_retry_after_s)

    async def _post(self, payload: dict[str, Any]) -> tuple[int | None, Any, dict[str, str], str]:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        timeout = aiohttp.ClientTimeout(total=self.retry.timeout_s)
        async with self.channel_limiter.slot(), self.webhook_limiter.slot():
            self.requests += 1
            try:
                async with self._session.post(self._url, params={"wait": "true"}, json=payload, timeout=timeout) as response:
                    text = await response.text(errors="replace")
                    try:
                        body = json.loads(text) if text else {}
                    except ValueError:
                        body = text
                    return response.status, body, dict(response.headers), ""
            except TimeoutError:
                return None, None, {}, f"timed out after {self.retry.timeout_s:g}s"
            except aiohttp.ClientError as exc:
                return None, None, {}, self._redact(f"{type(exc).__name__}: {exc}")
