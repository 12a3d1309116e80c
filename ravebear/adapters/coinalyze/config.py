"""Coinalyze client configuration. The API key comes from the environment variable COINALYZE_API_KEY only."""

from __future__ import annotations

from ravebear.adapters.coinalyze.constants import BASE_URL, CALLS_PER_MINUTE
from ravebear.adapters.common.config import AltDataClientConfig


class CoinalyzeDataClientConfig(AltDataClientConfig, frozen=True, forbid_unknown_fields=True):
    """Which OKX swaps to follow on Coinalyze, and how often."""

    base_url: str = BASE_URL
    instrument_ids: tuple[str, ...] = ("BTC-USDT-SWAP.OKX",)  # OKX perpetual swaps
    exchange_name: str = "OKX"  # exchange whose code is read from GET /exchanges
    poll_interval_s: float = 60.0  # seconds between polls of each subscribed type
    live_interval: str = "5min"  # bar interval of live liquidation and long/short ratio rows
    convert_to_usd: bool = True  # open interest and liquidations in USD (else base units)
    rate_limit_calls: int = CALLS_PER_MINUTE  # call units (one per symbol) per rate_limit_period_s, process-wide
    rate_limit_period_s: float = 60.0  # seconds
