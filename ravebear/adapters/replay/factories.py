"""Factory of the catalog replay data client."""

from __future__ import annotations

import asyncio
from typing import Any

from nautilus_trader.live.factories import LiveDataClientFactory

from ravebear.adapters.replay.config import ReplayDataClientConfig
from ravebear.adapters.replay.data import ReplayDataClient


class ReplayDataClientFactory(LiveDataClientFactory):
    """Build a `ReplayDataClient` for a TradingNode."""

    @staticmethod
    def create(loop: asyncio.AbstractEventLoop, name: str, config: ReplayDataClientConfig, msgbus: Any, cache: Any, clock: Any) -> ReplayDataClient:  # noqa: PLR0913 - nautilus's signature
        """Return the client; `bind(node.kernel)` it after `node.build()`."""
        return ReplayDataClient(loop, msgbus, cache, clock, config, name)
