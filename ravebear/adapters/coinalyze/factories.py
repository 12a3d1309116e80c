"""Build Coinalyze data clients for a TradingNode (`node.add_data_client_factory("COINALYZE", CoinalyzeLiveDataClientFactory)`)."""

from __future__ import annotations

import asyncio

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.live.factories import LiveDataClientFactory
from nautilus_trader.model.identifiers import ClientId

from ravebear.adapters.coinalyze.config import CoinalyzeDataClientConfig
from ravebear.adapters.coinalyze.constants import COINALYZE
from ravebear.adapters.coinalyze.data import CoinalyzeDataClient
from ravebear.adapters.coinalyze.http import CoinalyzeHttpClient


class CoinalyzeLiveDataClientFactory(LiveDataClientFactory):
    """Create `CoinalyzeDataClient`s; the key is read from COINALYZE_API_KEY."""

    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: CoinalyzeDataClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> CoinalyzeDataClient:
        """Create a client named `name` (its ClientId; COINALYZE by default)."""
        return CoinalyzeDataClient(
            loop=loop,
            client_id=ClientId(name or COINALYZE),
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            config=config,
            http=_http(config, clock),
        )


def _http(config: CoinalyzeDataClientConfig, clock: LiveClock) -> CoinalyzeHttpClient:
    from nautilus_trader.common.component import Logger

    # Raises MissingCredentialError naming COINALYZE_API_KEY when it is not set: the node does not build.
    return CoinalyzeHttpClient(config.base_url, Logger(COINALYZE), config.retry_policy(), config.rate_limit_calls, config.rate_limit_period_s)
