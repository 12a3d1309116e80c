"""A local Coinalyze v1 server for tests.

It follows the documented Coinalyze format (shared/data/API_FORMATS.md; fixtures in
fixtures/coinalyze/), not a live capture: `/exchanges` and `/future-markets` come from the
fixture files; current values and history rows are generated from a deterministic function of
symbol and time (`value`), so tests can compute what the client must have stored. Like the
real API: the key is the `api_key` header, each symbol is one call, `from`/`to` are seconds
(milliseconds give an empty list), history includes the still-forming interval.
"""

from __future__ import annotations

import json
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.adapters.local_server import LocalServer

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "coinalyze"
INTERVALS = {"1min": 60, "5min": 300, "15min": 900, "30min": 1800, "1hour": 3600, "2hour": 7200, "4hour": 14400, "6hour": 21600, "12hour": 43200, "daily": 86400}
HISTORY = {
    "/open-interest-history": "open_interest",
    "/funding-rate-history": "funding_rate",
    "/predicted-funding-rate-history": "predicted_funding_rate",
    "/liquidation-history": "liquidations",
    "/long-short-ratio-history": "long_short_ratio",
}
CURRENT = {"/open-interest": "open_interest", "/funding-rate": "funding_rate", "/predicted-funding-rate": "predicted_funding_rate"}


def fixture(name: str) -> Any:
    """Load a fixture file."""
    return json.loads((FIXTURES / name).read_text())


def value(symbol: str, metric: str, t: int, usd: bool = True) -> dict[str, float]:
    """Return the generated row fields of a symbol's metric for the interval starting at t (seconds)."""
    seed = zlib.crc32(symbol.encode()) % 1000
    step = (t // 60) % 997
    if metric == "open_interest":
        base = (3.0e9 if usd else 35_000.0) + seed * 1e6 + step * 1e5
        return {"o": base, "h": base * 1.002, "l": base * 0.997, "c": base * 1.001}
    if metric in ("funding_rate", "predicted_funding_rate"):
        base = 0.0001 + (seed - 500) * 1e-8 + step * 1e-9 + (1e-5 if metric == "predicted_funding_rate" else 0.0)
        return {"o": base, "h": base + 2e-6, "l": base - 2e-6, "c": base + 1e-6}
    if metric == "liquidations":
        return {"l": float(step * 1000 + seed), "s": float(seed * 10 + step)}
    long_percent = 50.0 + (step % 20) / 2
    return {"r": round(long_percent / (100 - long_percent), 4), "l": long_percent, "s": 100 - long_percent}


@dataclass
class CoinalyzeServer(LocalServer):
    """Coinalyze v1 on 127.0.0.1."""

    okx_code: str = "3"  # OKX's exchange code in /exchanges (sources disagree: 3 or 6)
    max_history_points: int = 2000

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/exchanges", self._exchanges)
        app.router.add_get("/future-markets", self._future_markets)
        for path in HISTORY:
            app.router.add_get(path, self._history)
        for path in CURRENT:
            app.router.add_get(path, self._current)

    def authorized(self, request: web.Request) -> bool:
        return request.headers.get("api_key") == self.api_key

    def unauthorized_body(self) -> Any:
        return {"message": "Unauthorized"}

    def cost(self, request: web.Request) -> int:
        symbols = request.query.get("symbols")
        return len(symbols.split(",")) if symbols else 1

    async def _exchanges(self, request: web.Request) -> web.Response:
        rows = [{**row, "code": self.okx_code} if row["name"] == "OKX" else row for row in fixture("http_get_exchanges.json")]
        return await self.reply(request, rows)

    async def _future_markets(self, request: web.Request) -> web.Response:
        rows = fixture("http_get_future_markets.json")
        for row in rows:
            if row["exchange"] == "3":
                row["exchange"] = self.okx_code
                row["symbol"] = row["symbol"].rsplit(".", 1)[0] + "." + self.okx_code
        return await self.reply(request, rows)

    async def _history(self, request: web.Request) -> web.Response:
        return await self.reply(request, lambda: self.history(request.path, dict(request.query)))

    def history(self, path: str, query: dict[str, str]) -> Any:
        """Return the history body for a query."""
        metric = HISTORY[path]
        interval = INTERVALS.get(query.get("interval", ""))
        try:
            start, end = int(query["from"]), int(query["to"])
        except (KeyError, ValueError):
            return {"message": "from and to are required"}
        if interval is None or start > 10**11:  # ms instead of s: the real API answers []
            return []
        usd = query.get("convert_to_usd", "false") == "true"
        now = int(time.time())
        out = []
        for symbol in query.get("symbols", "").split(","):
            first = -(-start // interval) * interval
            times = [t for t in range(first, min(end, now) + 1, interval)][-self.max_history_points :]
            out.append({"symbol": symbol, "history": [{"t": t, **value(symbol, metric, t, usd)} for t in times]})
        return out

    async def _current(self, request: web.Request) -> web.Response:
        metric = CURRENT[request.path]
        now_ms = int(time.time() * 1000)
        usd = request.query.get("convert_to_usd", "false") == "true"
        symbols = request.query.get("symbols", "").split(",")
        return await self.reply(request, lambda: [{"symbol": s, "value": value(s, metric, now_ms // 1000, usd)["c" if metric != "liquidations" else "l"], "update": now_ms} for s in symbols])
