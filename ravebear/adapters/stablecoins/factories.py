"""Build stablecoin data clients for a TradingNode (`node.add_data_client_factory("STABLECOINS", StablecoinsLiveDataClientFactory)`)."""

from __future__ import annotations

import asyncio

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, Logger, MessageBus
from nautilus_trader.live.factories import LiveDataClientFactory
from nautilus_trader.model.identifiers import ClientId

from ravebear.adapters.common.redact import Redactor
from ravebear.adapters.stablecoins.config import StablecoinsDataClientConfig
from ravebear.adapters.stablecoins.constants import STABLECOINS
from ravebear.adapters.stablecoins.data import StablecoinsDataClient
from ravebear.adapters.stablecoins.sources import build_sources


class StablecoinsLiveDataClientFactory(LiveDataClientFactory):
    """Create `StablecoinsDataClient`s with the configured sources."""

    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: StablecoinsDataClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> StablecoinsDataClient:
        """Create a client named `name` (its ClientId; STABLECOINS by default)."""
        redactor = Redactor()
        sources = build_sources(config, Logger(STABLECOINS), redactor)
        return StablecoinsDataClient(
            loop=loop, client_id=ClientId(name or STABLECOINS), msgbus=msgbus, cache=cache, clock=clock,
            config=config, sources=sources, redactor=redactor,
        )  # fmt: skip
