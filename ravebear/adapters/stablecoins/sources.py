"""Pluggable stablecoin data sources: a small base class, DefiLlama supply and CoinGecko dominance.

A source publishes some alternative-data types, fetches their latest values, and may fetch
history. The data client and the history download only talk to this interface, so another
provider is one subclass, named in the config's `sources` as "module:Class".
"""

from __future__ import annotations

import importlib
import time
from typing import TYPE_CHECKING, Any, ClassVar

from ravebear.adapters.common.http import JsonHttpClient
from ravebear.adapters.common.rate_limit import shared_rate_limiter
from ravebear.adapters.common.redact import LogSink, Redactor
from ravebear.adapters.common.secrets import secret_from_env
from ravebear.adapters.stablecoins import parsing
from ravebear.adapters.stablecoins.constants import (
    ALL_STABLECOINS,
    COINGECKO,
    COINGECKO_API_KEY_ENV,
    COINGECKO_DEMO_HEADER,
    COINGECKO_PRO_HEADER,
    COINGECKO_PRO_URL,
    COINGECKO_URL,
    DEFILLAMA,
)
from ravebear.catalog.alt_data.types import Dominance, StablecoinSupply
from ravebear.time_units import NS_PER_SECOND

if TYPE_CHECKING:
    from ravebear.adapters.stablecoins.config import StablecoinsDataClientConfig


class StablecoinSource:
    """Base of a stablecoin data source."""

    name: ClassVar[str] = ""  # service name in logs
    publishes: ClassVar[tuple[type, ...]] = ()  # data classes it produces
    api_key_env: ClassVar[str | None] = None

    def __init__(self, config: StablecoinsDataClientConfig, log: LogSink, redactor: Redactor) -> None:
        self.config = config
        self.redactor = redactor
        self.http = self._make_http(log)

    def _make_http(self, log: LogSink) -> JsonHttpClient:
        raise NotImplementedError

    def set_log(self, log: LogSink) -> None:
        """Log retries through `log` (a data client's redacting logger)."""
        self.http.log = log

    async def latest(self, now_ns: int) -> parsing.ParseResult:
        """Return the latest values (ts_init = now_ns)."""
        raise NotImplementedError

    async def history(self, start_s: int, end_s: int) -> parsing.ParseResult:
        """Return the values between start_s and end_s (UNIX s); sources without history raise NotImplementedError."""
        raise NotImplementedError(f"{self.name} serves no history")

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.http.close()


class DefiLlamaSupplySource(StablecoinSource):
    """Circulating USD supply of stablecoins and its daily net flow (stablecoins.llama.fi, no key)."""

    name = DEFILLAMA
    publishes = (StablecoinSupply,)

    def _make_http(self, log: LogSink) -> JsonHttpClient:
        config = self.config
        limiter = shared_rate_limiter("defillama", config.rate_limit_calls, config.rate_limit_period_s)
        return JsonHttpClient(config.base_url, DEFILLAMA, log, self.redactor, retry=config.retry_policy(), limiter=limiter)

    async def latest(self, now_ns: int) -> parsing.ParseResult:
        raw = await self.http.get_json("/stablecoins", {"includePrices": "true"})
        result = parsing.parse_current_supply(raw, self.config.assets, self.config.include_total, ts_event=now_ns)
        return result

    async def history(self, start_s: int, end_s: int) -> parsing.ParseResult:
        ids = parsing.stablecoin_ids(await self.http.get_json("/stablecoins"))
        out = parsing.ParseResult()
        charts: list[tuple[str, dict[str, str]]] = []
        for asset in self.config.assets:
            if asset.upper() not in ids:
                out.errors.append(f"stablecoins: no USD-pegged asset with symbol {asset.upper()!r}")
                continue
            charts.append((asset.upper(), {"stablecoin": ids[asset.upper()]}))
        if self.config.include_total:
            charts.append((ALL_STABLECOINS, {}))
        now_s = int(time.time())
        for asset, params in charts:
            chart = parsing.parse_supply_chart(await self.http.get_json("/stablecoincharts/all", params), asset, now_s=now_s)
            out.errors.extend(chart.errors)
            out.records.extend(r for r in chart.records if start_s * NS_PER_SECOND <= r.ts_event <= end_s * NS_PER_SECOND)
        return out


class CoinGeckoDominanceSource(StablecoinSource):
    """Share of the total crypto market cap (CoinGecko /global; key optional, from COINGECKO_API_KEY)."""

    name = COINGECKO
    publishes = (Dominance,)
    api_key_env = COINGECKO_API_KEY_ENV

    def _make_http(self, log: LogSink) -> JsonHttpClient:
        config = self.config
        key = secret_from_env(COINGECKO_API_KEY_ENV, COINGECKO, required=False)
        self.redactor.add(key)
        headers = {}
        url = config.coingecko_url
        if key:
            headers[COINGECKO_PRO_HEADER if config.coingecko_pro else COINGECKO_DEMO_HEADER] = key
            if config.coingecko_pro and url == COINGECKO_URL:
                url = COINGECKO_PRO_URL
        limiter = shared_rate_limiter("coingecko", config.rate_limit_calls, config.rate_limit_period_s)
        return JsonHttpClient(
            url, COINGECKO, log, self.redactor, retry=config.retry_policy(), limiter=limiter, headers=headers, api_key_env=COINGECKO_API_KEY_ENV,
        )  # fmt: skip

    async def latest(self, now_ns: int) -> parsing.ParseResult:
        raw = await self.http.get_json("/global")
        return parsing.parse_global_dominance(raw, self.config.dominance_assets, ts_init=now_ns)


BUILT_IN_SOURCES: dict[str, type[StablecoinSource]] = {"defillama": DefiLlamaSupplySource, "coingecko": CoinGeckoDominanceSource}


def source_class(name: str) -> type[StablecoinSource]:
    """Return a source class by built-in name or "module:Class"."""
    if name in BUILT_IN_SOURCES:
        return BUILT_IN_SOURCES[name]
    if ":" not in name:
        raise ValueError(f"unknown stablecoin source {name!r}; built in: {', '.join(BUILT_IN_SOURCES)}, or give 'module:Class'")
    module, attr = name.split(":", 1)
    cls: Any = getattr(importlib.import_module(module), attr)
    if not (isinstance(cls, type) and issubclass(cls, StablecoinSource)):
        raise ValueError(f"{name} is not a StablecoinSource subclass")
    return cls


def build_sources(config: StablecoinsDataClientConfig, log: LogSink, redactor: Redactor) -> list[StablecoinSource]:
    """Build the configured sources."""
    return [source_class(name)(config, log, redactor) for name in config.sources]
