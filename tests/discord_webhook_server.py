"""A local Discord webhook endpoint on 127.0.0.1 that answers as Discord does.

`POST /api/webhooks/{id}/{token}`: with `?wait=true` a 200 and the stored message object, else 204;
every answer carries `X-RateLimit-*` headers of the webhook's bucket; over the bucket (default 5 per 2 s)
or the channel's 30 a minute, HTTP 429 with `retry_after` (seconds, float) in the body and
`Retry-After`; a payload over Discord's limits gets HTTP 400 code 50035 with Discord's nested `errors`;
an unknown webhook 404 code 10015, a wrong token 401 code 50027. Faults can be queued: "500",
"timeout", "429", "global429". The limits are checked here independently of ravebear's own clipping.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.adapters.local_server import LocalServer


@dataclass
class Received:
    """One accepted message."""

    t: float  # time.monotonic() on arrival
    webhook_id: str
    channel_id: str
    payload: dict[str, Any]


def _too_long(limit: int) -> dict:
    return {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {limit} or fewer in length."}]}


def form_errors(payload: Any) -> dict:
    """Discord's validation of a webhook body: {} when valid, else its nested `errors` object."""
    errors: dict = {}
    if not isinstance(payload, dict):
        return {"_errors": [{"code": "DICT_TYPE_CONVERT", "message": "Only dictionaries may be used in a DictType"}]}
    if len(payload.get("content") or "") > 2000:
        errors["content"] = _too_long(2000)
    embeds = payload.get("embeds") or []
    if len(embeds) > 10:
        errors["embeds"] = _too_long(10)
        return errors
    total = 0
    for i, embed in enumerate(embeds):
        e: dict = {}
        for key, limit in (("title", 256), ("description", 4096)):
            if len(embed.get(key) or "") > limit:
                e[key] = _too_long(limit)
        fields = embed.get("fields") or []
        if len(fields) > 25:
            e["fields"] = _too_long(25)
        for j, f in enumerate(fields):
            fe = {k: _too_long(n) for k, n in (("name", 256), ("value", 1024)) if len(f.get(k) or "") > n}
            fe.update({k: {"_errors": [{"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}]} for k in ("name", "value") if not f.get(k)})
            if fe:
                e.setdefault("fields", {})[str(j)] = fe
        if len((embed.get("footer") or {}).get("text") or "") > 2048:
            e["footer"] = {"text": _too_long(2048)}
        total += len(embed.get("title") or "") + len(embed.get("description") or "") + len((embed.get("footer") or {}).get("text") or "")
        total += len((embed.get("author") or {}).get("name") or "") + sum(len(f.get("name") or "") + len(f.get("value") or "") for f in fields)
        if e:
            errors.setdefault("embeds", {})[str(i)] = e
    if total > 6000:
        errors.setdefault("embeds", {})["_errors"] = [{"code": "MAX_EMBED_SIZE_EXCEEDED", "message": "Embed size exceeds maximum size of 6000"}]
    return errors


@dataclass
class DiscordWebhookServer(LocalServer):
    """Webhooks: id -> (token, channel id). `bucket` is the per-webhook limit Discord enforces here."""

    webhooks: dict[str, tuple[str, str]] = field(default_factory=dict)
    bucket_calls: int = 5
    bucket_period_s: float = 2.0
    channel_calls: int = 30
    channel_period_s: float = 60.0
    refuse_embeds: bool = False  # answer every embed with 50035, as a stricter Discord would
    received: list[Received] = field(default_factory=list)
    statuses: list[tuple[float, str, int]] = field(default_factory=list)  # (arrival, webhook id, status) of every request
    _arrivals: dict[str, list[float]] = field(default_factory=dict)

    def url_for(self, webhook_id: str) -> str:
        """The webhook URL a user would paste into .env."""
        return f"{self.url}/api/webhooks/{webhook_id}/{self.webhooks[webhook_id][0]}"

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/api/webhooks/{id}/{token}", self._execute)

    def _window(self, key: str, period: float, now: float) -> list[float]:
        times = [t for t in self._arrivals.get(key, []) if now - t < period]
        self._arrivals[key] = times
        return times

    def _limit_headers(self, webhook_id: str, now: float) -> dict[str, str]:
        times = self._window("w" + webhook_id, self.bucket_period_s, now)
        remaining = max(0, self.bucket_calls - len(times))
        reset_after = (times[0] + self.bucket_period_s - now) if times else self.bucket_period_s
        return {"X-RateLimit-Limit": str(self.bucket_calls), "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}", "X-RateLimit-Reset-After": f"{reset_after:.3f}",
                "X-RateLimit-Bucket": f"bucket-{webhook_id}"}

    def _answer(self, request: web.Request, arrived: float, webhook_id: str, status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
        with self._lock:
            self.statuses.append((arrived, webhook_id, status))
        if body is None:
            return self._respond(request, arrived, status, "", headers, content_type="text/plain")
        return self._respond(request, arrived, status, json.dumps(body), headers)

    def _rate_limited(self, request: web.Request, arrived: float, webhook_id: str, retry_after: float, is_global: bool = False) -> web.Response:
        headers = self._limit_headers(webhook_id, arrived)
        headers |= {"Retry-After": str(math.ceil(retry_after)), "X-RateLimit-Scope": "global" if is_global else "shared"}
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {"message": "You are being rate limited.", "retry_after": round(retry_after, 3), "global": is_global}
        return self._answer(request, arrived, webhook_id, 429, body, headers)

    async def _execute(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        webhook_id, token = request.match_info["id"], request.match_info["token"]
        known = self.webhooks.get(webhook_id)
        if known is None:
            return self._answer(request, arrived, webhook_id, 404, {"message": "Unknown Webhook", "code": 10015})
        if known[0] != token:
            return self._answer(request, arrived, webhook_id, 401, {"message": "Invalid Webhook Token", "code": 50027})
        fault = self._next_fault(request.path) or self._next_fault(webhook_id)
        if fault is not None and fault.kind == "500":
            return self._answer(request, arrived, webhook_id, 500, {"message": "500: Internal Server Error", "code": 0})
        if fault is not None and fault.kind == "timeout":
            await asyncio.sleep(fault.delay_s)
            return self._answer(request, arrived, webhook_id, 500, {"message": "too late"})
        if fault is not None and fault.kind in ("429", "global429"):
            return self._rate_limited(request, arrived, webhook_id, float(fault.retry_after or 1), fault.kind == "global429")
        channel_id = known[1]
        bucket = self._window("w" + webhook_id, self.bucket_period_s, arrived)  # the server's loop is its only thread
        channel = self._window("c" + channel_id, self.channel_period_s, arrived)
        if len(bucket) >= self.bucket_calls:
            return self._rate_limited(request, arrived, webhook_id, bucket[0] + self.bucket_period_s - arrived)
        if len(channel) >= self.channel_calls:
            return self._rate_limited(request, arrived, webhook_id, channel[0] + self.channel_period_s - arrived)
        bucket.append(arrived)
        channel.append(arrived)
        try:
            payload = await request.json()
        except ValueError:
            return self._answer(request, arrived, webhook_id, 400, {"message": "The request body contains invalid JSON.", "code": 50109})
        errors = form_errors(payload)
        if not errors and self.refuse_embeds and payload.get("embeds"):
            errors = {"embeds": {"0": {"_errors": [{"code": "EMBED_REFUSED", "message": "Embed refused by this test server."}]}}}
        if errors:
            return self._answer(request, arrived, webhook_id, 400, {"code": 50035, "errors": errors, "message": "Invalid Form Body"}, self._limit_headers(webhook_id, arrived))
        if not payload.get("content") and not payload.get("embeds"):
            return self._answer(request, arrived, webhook_id, 400, {"message": "Cannot send an empty message", "code": 50006})
        with self._lock:
            self.received.append(Received(arrived, webhook_id, channel_id, payload))
            message_id = str(1_300_000_000_000_000_000 + len(self.received))
        headers = self._limit_headers(webhook_id, arrived)
        if request.query.get("wait") != "true":
            return self._answer(request, arrived, webhook_id, 204, None, headers)
        message = {"id": message_id, "type": 0, "content": payload.get("content", ""), "channel_id": channel_id,
                   "embeds": payload.get("embeds", []), "webhook_id": webhook_id, "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())}
        return self._answer(request, arrived, webhook_id, 200, message, headers)
