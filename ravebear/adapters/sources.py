"""The live alternative-data sources a paper or live node can run, in one table the node composer reads.

Each entry names the run file's key under `sources:`, the client id the node registers, the
adapter's config class and client factory, the environment variable of its API key (None: the
service needs none), and the alternative-data types it publishes. Adding an adapter is one line here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class LiveSource:
    """One alternative-data adapter as a node sees it."""

    name: str  # key under `sources:` in a run file
    service: str  # how a user knows it
    client_id: str  # the data client's id in the node (strategies subscribe at it)
    config_path: str  # "module:Class" of its LiveDataClientConfig
    factory_path: str  # "module:Class" of its LiveDataClientFactory
    api_key_env: str | None  # required key's environment variable; None: keyless
    publishes: tuple[str, ...]  # names of ravebear.catalog.alt_data.types classes

    def config_class(self) -> type:
        """Import and return the config class."""
        return _import(self.config_path)

    def factory_class(self) -> type:
        """Import and return the client factory."""
        return _import(self.factory_path)


def _import(path: str) -> type:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


LIVE_SOURCES: dict[str, LiveSource] = {
    source.name: source
    for source in (
        LiveSource(
            "coinalyze", "Coinalyze", "COINALYZE",
            "ravebear.adapters.coinalyze.config:CoinalyzeDataClientConfig",
            "ravebear.adapters.coinalyze.factories:CoinalyzeLiveDataClientFactory",
            "COINALYZE_API_KEY", ("OpenInterest", "FundingRate", "LongShortRatio", "Liquidation"),
        ),
        LiveSource(
            "whale_alert", "Whale Alert", "WHALE_ALERT",
            "ravebear.adapters.whale_alert.config:WhaleAlertDataClientConfig",
            "ravebear.adapters.whale_alert.factories:WhaleAlertLiveDataClientFactory",
            "WHALE_ALERT_API_KEY", ("WhaleTransaction",),
        ),
        LiveSource(
            "stablecoins", "stablecoin supply and dominance (DefiLlama, CoinGecko)", "STABLECOINS",
            "ravebear.adapters.stablecoins.config:StablecoinsDataClientConfig",
            "ravebear.adapters.stablecoins.factories:StablecoinsLiveDataClientFactory",
            None, ("StablecoinSupply", "Dominance"),  # COINGECKO_API_KEY is optional
        ),
    )
}  # fmt: skip
