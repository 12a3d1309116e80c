"""A LiveDataClient base for polling adapters: one task per subscribed type, typed publishing, fault handling.

A subclass maps each data class it serves to a coroutine that fetches new records
(`_poll_once`) and says how often to poll. The base publishes each record as
`CustomData(DataType(cls), record)` (the DataType an actor subscribes to with
`subscribe_data(DataType(cls), client_id=...)`), logs failed polls and keeps polling, and on an
authentication failure logs one error naming the environment variable and stops every task of
this client, leaving the node running.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from nautilus_trader.live.data_client import LiveDataClient
from nautilus_trader.model.data import CustomData, DataType

from ravebear.adapters.common.errors import AuthError, MissingCredentialError
from ravebear.adapters.common.redact import RedactingLog, Redactor

if TYPE_CHECKING:
    from nautilus_trader.cache.cache import Cache
    from nautilus_trader.common.component import LiveClock, MessageBus
    from nautilus_trader.config import NautilusConfig
    from nautilus_trader.data.messages import RequestData, SubscribeData, UnsubscribeData
    from nautilus_trader.model.identifiers import ClientId


class AltDataClient(LiveDataClient):
    """Base of RaveBear's alternative-data clients."""

    service: str = ""  # name used in logs, e.g. "Coinalyze"
    api_key_env: str | None = None  # environment variable of the API key, named in auth errors

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        client_id: ClientId,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        config: NautilusConfig,
        redactor: Redactor,
    ) -> None:
        super().__init__(loop=loop, client_id=client_id, venue=None, msgbus=msgbus, cache=cache, clock=clock, config=config)
        self.redact = redactor
        self.log = RedactingLog(self._log, redactor)
        self._loops: dict[type, asyncio.Task] = {}
        self._stopped: str | None = None  # why this client stopped for good (auth failure)
        self.published = 0

    # -- to implement ----------------------------------------------------------------------

    def supported_types(self) -> tuple[type, ...]:
        """Return the data classes this client publishes."""
        raise NotImplementedError

    def _loop_for(self, cls: type) -> Callable[[], Awaitable[None]]:
        """Return the coroutine function that serves `cls` until cancelled (default: poll every interval)."""
        return lambda: self._poll_forever(cls)

    async def _poll_once(self, cls: type) -> list[Any]:
        """Fetch and return the new records of `cls` (polling clients)."""
        raise NotImplementedError

    def _poll_interval_s(self, cls: type) -> float:
        """Return seconds between two polls of `cls`."""
        raise NotImplementedError

    async def _close(self) -> None:
        """Close HTTP sessions and sockets."""

    # -- LiveDataClient ----------------------------------------------------------------------

    async def _connect(self) -> None:
        # Nothing to open yet: sessions are created by the first request, so a dead or
        # misconfigured service never delays the node's start.
        return None

    async def _disconnect(self) -> None:
        await self._cancel_loops()
        await self._close()

    async def _subscribe(self, command: SubscribeData) -> None:
        cls = command.data_type.type
        if cls not in self.supported_types():
            names = ", ".join(t.__name__ for t in self.supported_types())
            self.log.error(f"{self.service} does not publish {cls.__name__} (it publishes {names})")
            return
        if self._stopped is not None:
            self.log.error(f"{self.service} is stopped ({self._stopped}); {cls.__name__} will not be published")
            return
        if cls not in self._loops or self._loops[cls].done():
            self._loops[cls] = self.create_task(self._guarded(cls), log_msg=f"{self.service}:{cls.__name__}")

    async def _unsubscribe(self, command: UnsubscribeData) -> None:
        task = self._loops.pop(command.data_type.type, None)
        if task is not None:
            task.cancel()

    async def _request(self, request: RequestData) -> None:
        self.log.warning(f"{self.service}: requests are not supported; use the history download for past data")

    # -- helpers ---------------------------------------------------------------------------

    def publish(self, record: Any) -> None:
        """Send one record to the DataEngine under `DataType(type(record))`."""
        self._handle_data(CustomData(DataType(type(record)), record))
        self.published += 1

    @property
    def stopped_reason(self) -> str | None:
        """Return why the client stopped for good, or None while it runs."""
        return self._stopped

    def stop_for_auth(self, error: AuthError | MissingCredentialError) -> None:
        """Log one error naming the environment variable and stop every task of this client."""
        if self._stopped is not None:
            return
        self._stopped = str(error)
        self.log.error(f"{error}; {self.service} polling stopped, the node keeps running")
        current = asyncio.current_task()
        for task in self._loops.values():
            if task is not current:
                task.cancel()

    async def _guarded(self, cls: type) -> None:
        try:
            await self._loop_for(cls)()
        except asyncio.CancelledError:
            raise
        except (AuthError, MissingCredentialError) as exc:
            self.stop_for_auth(exc)
        except Exception as exc:  # a bug must not leak a traceback with secrets, nor kill the node
            self.log.error(f"{self.service} {cls.__name__} stopped: {type(exc).__name__}: {exc}")

    async def _poll_forever(self, cls: type) -> None:
        while self._stopped is None:
            try:
                for record in await self._poll_once(cls):
                    self.publish(record)
            except (AuthError, MissingCredentialError):
                raise
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.log.error(f"{self.service} {cls.__name__} poll failed: {exc}; next poll in {self._poll_interval_s(cls):g}s")
            await asyncio.sleep(self._poll_interval_s(cls))

    async def _cancel_loops(self) -> None:
        tasks = [task for task in self._loops.values() if not task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._loops.clear()
