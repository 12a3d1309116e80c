"""Whale Alert API facts (see shared/data/API_FORMATS.md)."""

from __future__ import annotations

from typing import Final

WHALE_ALERT: Final = "WHALE_ALERT"  # client id and factory name
SERVICE: Final = "Whale Alert"
API_KEY_ENV: Final = "WHALE_ALERT_API_KEY"
API_KEY_HEADER: Final = "X-WA-API-KEY"  # v1 REST; keeps the key out of URLs
BASE_URL: Final = "https://api.whale-alert.io/v1"
WS_URL: Final = "wss://leviathan.whale-alert.io/ws"  # the key goes in the `api_key` query parameter
RATE_LIMITER_NAME: Final = "whale_alert"
FREE_PLAN_CALLS_PER_MINUTE: Final = 10
MAX_PAGE_LIMIT: Final = 100  # v1 /transactions `limit`
WS_MIN_VALUE_USD: Final = 100_000  # subscribe_alerts refuses lower thresholds

FLOW_INFLOW: Final = "exchange_inflow"
FLOW_OUTFLOW: Final = "exchange_outflow"
FLOW_INTERNAL: Final = "exchange_internal"
FLOW_NONE: Final = "none"
