"""Stablecoin client configuration. The optional CoinGecko key comes from COINGECKO_API_KEY only."""

from __future__ import annotations

from ravebear.adapters.common.config import AltDataClientConfig
from ravebear.adapters.stablecoins.constants import COINGECKO_URL, DEFILLAMA_URL


class StablecoinsDataClientConfig(AltDataClientConfig, frozen=True, forbid_unknown_fields=True):
    """Which stablecoins to follow and where from."""

    sources: tuple[str, ...] = ("defillama", "coingecko")  # built-in names, or "module:Class" of a StablecoinSource
    base_url: str = DEFILLAMA_URL  # DefiLlama stablecoins API
    coingecko_url: str = COINGECKO_URL  # CoinGecko API (the pro URL when coingecko_pro)
    coingecko_pro: bool = False  # send COINGECKO_API_KEY as a pro key (else as a demo key)
    assets: tuple[str, ...] = ("USDT", "USDC")  # stablecoin symbols for supply
    include_total: bool = True  # also publish ALL: every USD-pegged stablecoin together
    dominance_assets: tuple[str, ...] = ("USDT",)  # symbols whose market-cap share is published
    poll_interval_s: float = 600.0  # seconds between polls (CoinGecko /global updates every 10 min)
    rate_limit_calls: int = 30  # requests per rate_limit_period_s per source (process-wide)
    rate_limit_period_s: float = 60.0  # seconds
