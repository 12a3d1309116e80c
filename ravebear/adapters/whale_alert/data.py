"""Whale Alert live data client: WebSocket alerts (`subscribe_alerts`, reconnecting) or v1 REST polling."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp

from ravebear.adapters.common.errors import AuthError
from ravebear.adapters.common.http import parse_retry_after
from ravebear.adapters.common.live import AltDataClient
from ravebear.adapters.whale_alert import parsing
from ravebear.adapters.whale_alert.constants import API_KEY_ENV, MAX_PAGE_LIMIT, SERVICE, WS_MIN_VALUE_USD
from ravebear.adapters.whale_alert.http import WhaleAlertHttpClient
from ravebear.catalog.alt_data.types import WhaleTransaction
from ravebear.time_units import NS_PER_SECOND

if TYPE_CHECKING:
    from ravebear.adapters.whale_alert.config import WhaleAlertDataClientConfig

SEEN_MEMORY = 10_000  # transaction ids remembered to drop repeats (REST overlap, WS replays)


class WhaleAlertDataClient(AltDataClient):
    """Publish `WhaleTransaction`s at or above the configured USD value, with tier and exchange flow."""

    service = SERVICE
    api_key_env = API_KEY_ENV

    def __init__(self, *args: Any, http: WhaleAlertHttpClient, config: WhaleAlertDataClientConfig, **kwargs: Any) -> None:
        super().__init__(*args, config=config, redactor=http.redactor, **kwargs)
        self._config = config
        self._http = http
        http.http.log = self.log
        self._seen: set[str] = set()
        self._seen_order: deque[str] = deque()
        self._last_ts_s: int | None = None  # REST: timestamp of the newest transfer seen
        self._ws_session: aiohttp.ClientSession | None = None
        self.ws_connections = 0

    def supported_types(self) -> tuple[type, ...]:
        return (WhaleTransaction,)

    def _poll_interval_s(self, cls: type) -> float:
        return self._config.poll_interval_s

    def _loop_for(self, cls: type) -> Any:
        return self._websocket_forever if self._config.use_websocket else super()._loop_for(cls)

    async def _close(self) -> None:
        await self._http.close()
        if self._ws_session is not None:
            await self._ws_session.close()
            self._ws_session = None

    # -- filtering ---------------------------------------------------------------------------

    def _wanted(self, record: WhaleTransaction) -> bool:
        config = self._config
        if record.amount_usd < config.min_value_usd:
            return False
        if config.symbols and record.symbol not in {s.lower() for s in config.symbols}:
            return False
        if config.blockchains and record.blockchain not in {b.lower() for b in config.blockchains}:
            return False
        if record.transaction_id in self._seen:
            return False
        self._seen.add(record.transaction_id)
        self._seen_order.append(record.transaction_id)
        if len(self._seen_order) > SEEN_MEMORY:
            self._seen.discard(self._seen_order.popleft())
        return True

    # -- REST --------------------------------------------------------------------------------

    async def _poll_once(self, cls: type) -> list[Any]:
        now_s = self._clock.timestamp_ns() // NS_PER_SECOND
        start = self._last_ts_s if self._last_ts_s is not None else now_s - int(self._config.lookback_s)
        cursor: str | None = None
        out: list[WhaleTransaction] = []
        limit = min(self._config.page_limit, MAX_PAGE_LIMIT)
        while True:
            raw = await self._http.transactions(start, cursor=cursor, min_value_usd=self._config.min_value_usd, limit=limit)
            page = parsing.parse_transactions(raw, self._config.tiers_usd, ts_init=self._clock.timestamp_ns())
            for error in page.errors:
                self.log.error(f"{SERVICE} skipped a record: {error}")
            for record in page.records:
                self._last_ts_s = max(self._last_ts_s or 0, record.ts_event // NS_PER_SECOND)
                if self._wanted(record):
                    out.append(record)
            if not page.cursor or page.cursor == cursor or page.count < limit:
                break
            cursor = page.cursor
        return sorted(out, key=lambda r: r.ts_event)

    # -- WebSocket ---------------------------------------------------------------------------

    def subscribe_message(self) -> dict[str, Any]:
        """Return the `subscribe_alerts` request for the configured filters."""
        config = self._config
        message: dict[str, Any] = {"type": "subscribe_alerts", "min_value_usd": max(config.min_value_usd, WS_MIN_VALUE_USD)}
        if config.blockchains:
            message["blockchains"] = list(config.blockchains)
        if config.symbols:
            message["symbols"] = list(config.symbols)
        if config.transaction_types:
            message["tx_types"] = list(config.transaction_types)
        return message

    async def _websocket_forever(self) -> None:
        delay = self._config.reconnect_delay_s
        url = f"{self._config.ws_url}?{urlencode({'api_key': self._http.api_key})}"
        while self._stopped is None:
            reason, retry_after = await self._websocket_session(url)
            if reason == "subscribed":
                delay = self._config.reconnect_delay_s
                reason = "closed by the server"
            wait = min(retry_after, self._config.max_retry_after_s) if retry_after is not None else delay
            self.log.warning(f"{SERVICE} WebSocket {reason}; reconnecting in {wait:.2f}s")
            await asyncio.sleep(wait)
            delay = min(delay * 2, self._config.max_reconnect_delay_s)

    async def _websocket_session(self, url: str) -> tuple[str, float | None]:
        """Run one connection until it ends; return why ("subscribed" if it got that far) and a server-requested wait."""
        if self._ws_session is None or self._ws_session.closed:
            self._ws_session = aiohttp.ClientSession()
        subscribed = False
        timeout = aiohttp.ClientWSTimeout(ws_close=self._config.timeout_s)
        try:
            connecting = self._ws_session.ws_connect(url, heartbeat=self._config.heartbeat_s, timeout=timeout)
            ws = await asyncio.wait_for(connecting, self._config.timeout_s)
        except TimeoutError:
            return f"handshake timed out after {self._config.timeout_s:g}s", None
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status in (401, 403):
                raise AuthError(SERVICE, API_KEY_ENV, exc.status) from None
            retry_after = parse_retry_after((exc.headers or {}).get("Retry-After")) if exc.status == 429 else None
            return f"handshake failed: HTTP {exc.status}", retry_after
        except (aiohttp.ClientError, OSError) as exc:
            return f"failed: {type(exc).__name__}: {self.redact(exc)}", None
        async with ws:
            self.ws_connections += 1
            try:
                await ws.send_json(self.subscribe_message())
                async for message in ws:
                    if message.type == aiohttp.WSMsgType.TEXT:
                        subscribed = self._on_ws_text(message.data) or subscribed
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                return f"failed: {type(exc).__name__}: {self.redact(exc)}", None
            return ("subscribed" if subscribed else f"closed before subscribing (code {ws.close_code})"), None

    def _on_ws_text(self, text: str) -> bool:
        try:
            message = json.loads(text)
        except ValueError:
            self.log.error(f"{SERVICE} skipped a WebSocket message that is not JSON: {text[:120]!r}")
            return False
        kind = parsing.message_kind(message)
        if kind == "error":
            error = str(message.get("error"))
            if "key" in error.lower() or "auth" in error.lower():
                raise AuthError(SERVICE, API_KEY_ENV, "WebSocket error", error)
            self.log.error(f"{SERVICE} WebSocket error: {error}")
            return False
        if kind == "subscribed":
            self.log.info(f"{SERVICE} WebSocket subscribed: {json.dumps({k: v for k, v in message.items() if k != 'type'})}")
            return True
        if kind == "alert":
            result = parsing.parse_alert(message, self._config.tiers_usd, self._config.exchange_labels, ts_init=self._clock.timestamp_ns())
            for error in result.errors:
                self.log.error(f"{SERVICE} skipped a record: {error}")
            for record in result.records:
                if self._wanted(record):
                    self.publish(record)
        return False
