"""Stablecoin data sources (see shared/data/API_FORMATS.md)."""

from __future__ import annotations

from typing import Final

STABLECOINS: Final = "STABLECOINS"  # client id and factory name
DEFILLAMA: Final = "DefiLlama"
DEFILLAMA_URL: Final = "https://stablecoins.llama.fi"  # no key
COINGECKO: Final = "CoinGecko"
COINGECKO_URL: Final = "https://api.coingecko.com/api/v3"  # keyless or demo key
COINGECKO_PRO_URL: Final = "https://pro-api.coingecko.com/api/v3"
COINGECKO_API_KEY_ENV: Final = "COINGECKO_API_KEY"  # optional
COINGECKO_DEMO_HEADER: Final = "x-cg-demo-api-key"
COINGECKO_PRO_HEADER: Final = "x-cg-pro-api-key"
ALL_STABLECOINS: Final = "ALL"  # asset name of the total of every USD-pegged stablecoin
DAY_S: Final = 86_400
