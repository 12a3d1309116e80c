"""Whale Alert client configuration. The API key comes from the environment variable WHALE_ALERT_API_KEY only."""

from __future__ import annotations

from ravebear.adapters.common.config import AltDataClientConfig
from ravebear.adapters.whale_alert.constants import BASE_URL, FREE_PLAN_CALLS_PER_MINUTE, WS_URL

# Labels the WebSocket API uses for exchanges (its `from`/`to` are labels, not owner types).
DEFAULT_EXCHANGE_LABELS = (
    "binance", "okx", "okex", "coinbase", "kraken", "bitfinex", "bybit", "huobi", "htx", "kucoin", "gemini",
    "bitstamp", "gate.io", "crypto.com", "upbit", "bithumb", "bitget", "mexc", "poloniex", "deribit", "bitmex",
)  # fmt: skip


class WhaleAlertDataClientConfig(AltDataClientConfig, frozen=True, forbid_unknown_fields=True):
    """What counts as a whale, and how transfers are fetched."""

    base_url: str = BASE_URL
    ws_url: str = WS_URL
    use_websocket: bool = True  # True: WebSocket alerts (subscribe_alerts); False: poll v1 REST /transactions
    min_value_usd: float = 1_000_000.0  # smallest transfer fetched, USD (REST >= 500k on the free plan, WS >= 100k)
    tiers_usd: tuple[float, ...] = (1_000_000.0, 10_000_000.0, 50_000_000.0)  # tier n = transfer >= tiers_usd[n-1], USD
    blockchains: tuple[str, ...] = ()  # WS filter, e.g. ("ethereum", "tron"); () = all
    symbols: tuple[str, ...] = ()  # asset filter, lower case, e.g. ("usdt", "btc"); () = all
    transaction_types: tuple[str, ...] = ()  # WS filter: transfer, mint, burn, lock, unlock; () = all
    exchange_labels: tuple[str, ...] = DEFAULT_EXCHANGE_LABELS  # WS labels counted as exchanges (case-insensitive)
    poll_interval_s: float = 60.0  # REST: seconds between polls
    lookback_s: float = 600.0  # REST: how far back the first poll starts, seconds
    page_limit: int = 100  # REST: transactions per page (max 100)
    reconnect_delay_s: float = 1.0  # WS: first reconnect wait, seconds; doubles up to max_reconnect_delay_s
    max_reconnect_delay_s: float = 60.0  # WS: seconds
    heartbeat_s: float = 30.0  # WS ping interval, seconds
    rate_limit_calls: int = FREE_PLAN_CALLS_PER_MINUTE  # REST requests per rate_limit_period_s, process-wide
    rate_limit_period_s: float = 60.0  # seconds
