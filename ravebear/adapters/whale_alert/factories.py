"""Build Whale Alert data clients for a TradingNode (`node.add_data_client_factory("WHALE_ALERT", WhaleAlertLiveDataClientFactory)`)."""

from __future__ import annotations

import asyncio

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, Logger, MessageBus
from nautilus_trader.live.factories import LiveDataClientFactory
from nautilus_trader.model.identifiers import ClientId

from ravebear.adapters.whale_alert.config import WhaleAlertDataClientConfig
from ravebear.adapters.whale_alert.constants import WHALE_ALERT
from ravebear.adapters.whale_alert.data import WhaleAlertDataClient
from ravebear.adapters.whale_alert.http import WhaleAlertHttpClient


class WhaleAlertLiveDataClientFactory(LiveDataClientFactory):
    """Create `WhaleAlertDataClient`s; the key is read from WHALE_ALERT_API_KEY (building fails without it)."""

    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: WhaleAlertDataClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> WhaleAlertDataClient:
        """Create a client named `name` (its ClientId; WHALE_ALERT by default)."""
        http = WhaleAlertHttpClient(config.base_url, Logger(WHALE_ALERT), config.retry_policy(), config.rate_limit_calls, config.rate_limit_period_s)
        return WhaleAlertDataClient(loop=loop, client_id=ClientId(name or WHALE_ALERT), msgbus=msgbus, cache=cache, clock=clock, config=config, http=http)
