"""Stablecoin live data client: polls each configured source and publishes supply and dominance changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ravebear.adapters.common.live import AltDataClient
from ravebear.adapters.stablecoins.constants import COINGECKO_API_KEY_ENV
from ravebear.catalog.alt_data.types import Dominance, StablecoinSupply

if TYPE_CHECKING:
    from ravebear.adapters.stablecoins.config import StablecoinsDataClientConfig
    from ravebear.adapters.stablecoins.sources import StablecoinSource


class StablecoinsDataClient(AltDataClient):
    """Publish `StablecoinSupply` and `Dominance` from pluggable sources (DefiLlama, CoinGecko by default)."""

    service = "Stablecoins"
    api_key_env = COINGECKO_API_KEY_ENV

    def __init__(self, *args: Any, sources: list[StablecoinSource], config: StablecoinsDataClientConfig, **kwargs: Any) -> None:
        super().__init__(*args, config=config, **kwargs)
        self._config = config
        self._sources = sources
        for source in sources:
            source.set_log(self.log)
        self._last: dict[tuple[str, str], tuple[int, float]] = {}  # (type, asset) -> (ts_event, value) published

    def supported_types(self) -> tuple[type, ...]:
        return tuple(dict.fromkeys(cls for source in self._sources for cls in source.publishes))

    def _poll_interval_s(self, cls: type) -> float:
        return self._config.poll_interval_s

    async def _close(self) -> None:
        for source in self._sources:
            await source.close()

    async def _poll_once(self, cls: type) -> list[Any]:
        out: list[Any] = []
        for source in self._sources:
            if cls not in source.publishes:
                continue
            result = await source.latest(self._clock.timestamp_ns())
            for error in result.errors:
                self.log.error(f"{source.name} skipped a record: {error}")
            out.extend(record for record in result.records if type(record) is cls and self._changed(record))
        return out

    def _changed(self, record: Any) -> bool:
        if isinstance(record, StablecoinSupply):
            key, value = ("supply", record.asset), record.circulating_usd
        elif isinstance(record, Dominance):
            key, value = ("dominance", record.asset), record.percent
        else:
            return True
        last = self._last.get(key)
        # supply points carry the poll time (the API has none): publish when the value moves;
        # dominance carries CoinGecko's update time: publish each new update
        if last is not None and (last[1] == value if isinstance(record, StablecoinSupply) else last[0] >= record.ts_event):
            return False
        self._last[key] = (record.ts_event, value)
        return True
