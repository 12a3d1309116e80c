"""A local Whale Alert server for tests: v1 REST `/transactions` (cursor paging) and the WebSocket alerts API.

It follows the documented Whale Alert format (shared/data/API_FORMATS.md; fixtures in
fixtures/whale_alert/), not a live capture. REST transfers are the three fixture transfers
repeated over the last hour (ids, hashes, times and USD values varied deterministically, see
`transactions`); WebSocket alerts are the fixture alert with rotating labels and values. The
REST key is the `X-WA-API-KEY` header; the WebSocket key is the `api_key` query parameter and
a bad one answers `{"error": "Invalid API key"}` as documented.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from tests.adapters.local_server import LocalServer

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "whale_alert"
USD_VALUES = (600_000.0, 2_500_000.0, 12_000_000.0, 75_000_000.0)  # cycled: below, and in each of the default tiers
LABELS = (("Binance", "unknown wallet"), ("unknown wallet", "Coinbase"), ("OKX", "Kraken"), ("Tether Treasury", "unknown wallet"))


def fixture(name: str) -> Any:
    """Load a fixture file."""
    return json.loads((FIXTURES / name).read_text())


def make_transactions(start_s: int, count: int, step_s: int) -> list[dict[str, Any]]:
    """Return `count` transfers from `start_s`, `step_s` apart, built from the fixture transfers."""
    templates = fixture("http_get_transactions.json")["transactions"]
    out = []
    for i in range(count):
        tx = copy.deepcopy(templates[i % len(templates)])
        usd = USD_VALUES[i % len(USD_VALUES)]
        price = tx["amount_usd"] / tx["amount"]
        tx.update(id=str(3_000_000_000 + i), hash=f"0x{i:064x}", timestamp=start_s + i * step_s, amount_usd=usd, amount=round(usd / price, 6))
        out.append(tx)
    return out


@dataclass
class WhaleAlertServer(LocalServer):
    """Whale Alert v1 REST and WebSocket on 127.0.0.1."""

    transactions: list[dict[str, Any]] = field(default_factory=list)
    alert_interval_s: float = 0.05
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    alerts_sent: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.transactions:
            now = int(time.time())
            self.transactions = make_transactions(now - 3600, 240, 15)  # the last hour, one every 15 s

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/transactions", self._transactions)
        app.router.add_get("/ws", self._ws)

    def authorized(self, request: web.Request) -> bool:
        return request.headers.get("X-WA-API-KEY") == self.api_key

    def unauthorized_body(self) -> Any:
        return {"result": "error", "message": "invalid api_key"}

    def drop_all(self) -> None:
        """Close every open WebSocket (from any thread)."""

        async def close() -> None:
            for ws in list(self.sockets):
                await ws.close(code=1012, message=b"service restart")

        self.call_in_server(lambda: asyncio.ensure_future(close()))

    # -- REST -------------------------------------------------------------------------------

    async def _transactions(self, request: web.Request) -> web.Response:
        return await self.reply(request, lambda: self.page(dict(request.query)))

    def page(self, query: dict[str, str]) -> Any:
        """Return one `/transactions` page for a query."""
        try:
            start = int(query["start"])
        except (KeyError, ValueError):
            return {"result": "error", "message": "start is required"}
        end = int(query.get("end") or time.time())
        limit = min(int(query.get("limit", "100")), 100)
        min_value = float(query.get("min_value", "500000"))
        currency = query.get("currency")
        offset = int(query["cursor"].split("-")[0], 16) if query.get("cursor") else 0
        matching = [
            tx for tx in self.transactions
            if start <= tx["timestamp"] <= end and tx["amount_usd"] >= min_value and (currency is None or tx["symbol"] == currency)
        ]  # fmt: skip
        chunk = matching[offset : offset + limit]
        cursor = f"{offset + len(chunk):x}-{offset + len(chunk):x}-{end:x}"
        body: dict[str, Any] = {"result": "success", "cursor": cursor, "count": len(chunk)}
        if chunk:
            body["transactions"] = chunk
        return body

    # -- WebSocket --------------------------------------------------------------------------

    def alert(self, index: int) -> dict[str, Any]:
        """Return the index-th generated alert."""
        alert = fixture("ws_alert.json")
        sender, receiver = LABELS[index % len(LABELS)]
        usd = USD_VALUES[1 + index % 3]
        alert.update(timestamp=int(time.time()), **{"from": sender, "to": receiver})
        alert["amounts"] = [{"symbol": "USDT", "amount": usd, "value_usd": usd + index}]
        return alert

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        fault = self._next_fault(request.path)
        if fault is not None and fault.kind in ("429", "500", "timeout"):
            if fault.kind == "timeout":
                self._record_at(request, arrived, 0)
                await asyncio.sleep(fault.delay_s)
                return web.Response(status=504)
            headers = {"Retry-After": fault.retry_after} if fault.kind == "429" and fault.retry_after else None
            return self._respond(request, arrived, int(fault.kind), "{}", headers)
        garbage = (1 if fault is not None and fault.kind == "bad_json" else 0) + self.drain_faults(request.path, "bad_json")
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self._record_at(request, arrived, 101)
        self.sockets.append(ws)
        try:
            first = await ws.receive(timeout=5)
            if first.type != WSMsgType.TEXT:
                return ws
            if self.reject_all_keys or request.query.get("api_key") != self.api_key:
                await ws.send_json(fixture("ws_error_invalid_key.json"))
                await ws.close()
                return ws
            request_body = json.loads(first.data)
            self.subscriptions.append(request_body)
            ack = {"id": request_body.get("id", "1"), "type": "subscribed_alerts"}
            ack.update({k: v for k, v in request_body.items() if k in ("blockchains", "symbols", "tx_types", "min_value_usd")})
            await ws.send_json(ack)
            for _ in range(garbage):
                await ws.send_str('{"channel_id": "alerts", "amounts": [')
            while not ws.closed:
                edits = self.mutations.get(request.path)
                alert = self.alert(self.alerts_sent)
                if edits:
                    alert = edits.pop(0)(alert)
                await ws.send_json(alert)
                self.alerts_sent += 1
                await asyncio.sleep(self.alert_interval_s)
        except (ConnectionResetError, asyncio.CancelledError, RuntimeError):
            pass
        finally:
            if ws in self.sockets:
                self.sockets.remove(ws)
        return ws
