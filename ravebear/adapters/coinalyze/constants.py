"""Coinalyze API facts (https://api.coinalyze.net/v1, see shared/data/API_FORMATS.md)."""

from __future__ import annotations

from typing import Final

COINALYZE: Final = "COINALYZE"  # client id and factory name
SERVICE: Final = "Coinalyze"
API_KEY_ENV: Final = "COINALYZE_API_KEY"  # sent as header `api_key`
API_KEY_HEADER: Final = "api_key"
BASE_URL: Final = "https://api.coinalyze.net/v1"
CALLS_PER_MINUTE: Final = 40  # per key; each symbol in a request is one call
MAX_SYMBOLS_PER_REQUEST: Final = 20
RATE_LIMITER_NAME: Final = "coinalyze"
OKX_EXCHANGE_NAME: Final = "OKX"  # name in GET /exchanges

INTERVAL_SECONDS: Final[dict[str, int]] = {
    "1min": 60,
    "5min": 300,
    "15min": 900,
    "30min": 1800,
    "1hour": 3600,
    "2hour": 7200,
    "4hour": 14400,
    "6hour": 21600,
    "12hour": 43200,
    "daily": 86400,
}

# History endpoints by metric name (the names the CLI and configs use).
HISTORY_ENDPOINTS: Final[dict[str, str]] = {
    "open_interest": "/open-interest-history",
    "funding_rate": "/funding-rate-history",
    "predicted_funding_rate": "/predicted-funding-rate-history",
    "liquidations": "/liquidation-history",
    "long_short_ratio": "/long-short-ratio-history",
}
CURRENT_ENDPOINTS: Final[dict[str, str]] = {
    "open_interest": "/open-interest",
    "funding_rate": "/funding-rate",
    "predicted_funding_rate": "/predicted-funding-rate",
}
USD_CONVERTIBLE: Final = frozenset({"open_interest", "liquidations"})  # endpoints taking convert_to_usd
