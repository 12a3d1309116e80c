"""A local stablecoin-data server for tests: DefiLlama `/stablecoins`, `/stablecoincharts/all` and CoinGecko `/global`.

It follows the documented DefiLlama and CoinGecko formats (shared/data/API_FORMATS.md;
fixtures in fixtures/stablecoins/), not a live capture. `/stablecoins` and `/global` are the
fixture files; the daily charts are generated (`supply_on`) for the last `days` days ending
with today's still-running point, as DefiLlama serves them. CoinGecko's demo key, when sent,
is the `x-cg-demo-api-key` header; DefiLlama takes no key.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.adapters.local_server import LocalServer

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "stablecoins"
DAY = 86_400
BASE_SUPPLY = {"1": 150e9, "2": 60e9, None: 230e9}  # stablecoin id (None: all) -> supply on day 0


def fixture(name: str) -> Any:
    """Load a fixture file."""
    return json.loads((FIXTURES / name).read_text())


def supply_on(stablecoin: str | None, day_index: int) -> float:
    """Return the generated circulating USD of a chart on its day_index-th day."""
    return BASE_SUPPLY[stablecoin] + day_index * 1e8 + (day_index % 5) * 7.5e7


@dataclass
class StablecoinServer(LocalServer):
    """DefiLlama stablecoins and CoinGecko /global on 127.0.0.1."""

    days: int = 60
    coingecko_updates: int = 0  # each /global answer moves updated_at and usdt by this many steps

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/stablecoins", self._stablecoins)
        app.router.add_get("/stablecoincharts/all", self._chart)
        app.router.add_get("/global", self._global)

    def authorized(self, request: web.Request) -> bool:
        key = request.headers.get("x-cg-demo-api-key")
        return request.path != "/global" or key is None or key == self.api_key

    def rejects(self, request: web.Request) -> bool:
        return request.path == "/global" and (self.reject_all_keys or not self.authorized(request))  # DefiLlama has no key

    def first_day(self) -> int:
        """Return the first chart day (UNIX s, 00:00 UTC)."""
        today = int(time.time()) // DAY * DAY
        return today - (self.days - 1) * DAY

    async def _stablecoins(self, request: web.Request) -> web.Response:
        return await self.reply(request, fixture("http_get_stablecoins.json"))

    async def _chart(self, request: web.Request) -> web.Response:
        stablecoin = request.query.get("stablecoin")
        if stablecoin not in BASE_SUPPLY:
            return await self.reply(request, [])
        first = self.first_day()

        def chart() -> list[dict[str, Any]]:
            points = []
            for i in range(self.days):
                usd = supply_on(stablecoin, i)
                points.append({
                    "date": str(first + i * DAY), "totalCirculating": {"peggedUSD": usd}, "totalUnreleased": {"peggedUSD": 0},
                    "totalCirculatingUSD": {"peggedUSD": usd}, "totalMintedUSD": {"peggedUSD": usd * 1.01}, "totalBridgedToUSD": {"peggedUSD": 0},
                })  # fmt: skip
            return points

        return await self.reply(request, chart)

    async def _global(self, request: web.Request) -> web.Response:
        body = fixture("http_get_global.json")
        self.coingecko_updates += 1
        body["data"]["updated_at"] = int(time.time()) + self.coingecko_updates
        body["data"]["market_cap_percentage"]["usdt"] = round(5.0 + self.coingecko_updates / 100, 2)
        return await self.reply(request, body)
