"""Watch the Redis that keeps a node's state: refuse new entries while it is gone, save the state again when it is back.

nautilus 1.231 writes the cache to Redis from a Rust thread and says nothing when Redis dies: the
writes of the outage are lost, the node trades on, and a restart would come back to stale state.
It reconnects by itself when Redis returns, but only writes what changes from then on (a restarted
Redis without persistence holds a few new keys and nothing else). So the node:
- asks Redis for a PING every `node.redis.check_s` seconds (its own connection, on the node's loop);
- on the first failed PING logs one ERROR and blocks new entries in every strategy through its
  guards (`RiskGuards.block_entries`, guard `state_store`: each refused entry is a counted block with
  the reason); positions keep their exits at the venue, and exits are never blocked;
- when Redis answers again, waits until nautilus's own writer has caught up (a probe value written
  through it shows up in Redis), writes the node's whole state again (`resave_state`: instruments,
  the account, every order and position with all its events, each strategy's state) and waits until
  that has landed too, then says so and lifts the block. Both waits matter: the two writers are two
  connections, and an event of nautilus's landing after the rewrite of its order doubles it there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

STATE_STORE_GUARD = "state_store"
PING = b"*1\r\n$4\r\nPING\r\n"
PROBE_KEY = "ravebear.state_probe"  # a general cache key: written through a writer, read back to know it caught up
PROBE_WAIT_S = 10.0


async def redis_problem(host: str, port: int, timeout_s: float) -> str | None:
    """None when Redis at host:port answers PING within timeout_s; else what went wrong, in a few words."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    except (OSError, asyncio.TimeoutError) as exc:
        return getattr(exc, "strerror", None) or "no answer"
    try:
        writer.write(PING)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout_s)
    except (OSError, asyncio.TimeoutError) as exc:
        return getattr(exc, "strerror", None) or "no answer to PING"
    finally:
        writer.close()
    return None if line.startswith(b"+PONG") else f"answered PING with {line[:60]!r}"


def resave_state(kernel: Any, cache_config: Any) -> dict[str, int]:
    """Write the node's whole state to its Redis again, through a second nautilus cache adapter; return what was written.

    Each order, position and account is rebuilt event by event on a copy and written with nautilus's
    own add/update calls, so the stored form is exactly what nautilus writes and loads.
    """
    import msgspec
    from nautilus_trader.accounting.factory import AccountFactory
    from nautilus_trader.cache.database import CacheDatabaseAdapter
    from nautilus_trader.model.orders.unpacker import OrderUnpacker
    from nautilus_trader.model.position import Position
    from nautilus_trader.serialization.serializer import MsgSpecSerializer

    config = cache_config
    serializer = MsgSpecSerializer(
        encoding=msgspec.msgpack if config.encoding.lower() == "msgpack" else msgspec.json,
        timestamps_as_str=True, timestamps_as_iso8601=config.timestamps_as_iso8601,
    )  # fmt: skip  # as the kernel builds its own (system/kernel.py)
    database = CacheDatabaseAdapter(trader_id=kernel.trader_id, instance_id=kernel.instance_id, serializer=serializer, config=config)
    cache = kernel.cache
    probe = _Probe(kernel, config)
    try:
        instruments = cache.instruments()
        currencies = {c for i in instruments for c in (i.get_base_currency(), i.quote_currency, i.get_settlement_currency()) if c is not None}
        for currency in currencies:
            database.add_currency(currency)
        for instrument in cache.instruments():
            database.add_instrument(instrument)
        for account in cache.accounts():
            events = account.events
            copy = AccountFactory.create(events[0])
            database.add_account(copy)
            for event in events[1:]:
                copy.apply(event)
                database.update_account(copy)
        for order in cache.orders():
            database.delete_order(order.client_order_id)  # nautilus may have pushed a new event onto it since Redis returned
            events = order.events
            copy = OrderUnpacker.from_init(events[0])
            database.add_order(copy, cache.position_id(order.client_order_id), cache.client_id(order.client_order_id))
            for event in events[1:]:
                copy.apply(event)
                database.update_order(copy)
        for position in cache.positions():
            fills = position.events
            copy = Position(cache.instrument(position.instrument_id), fills[0])
            database.add_position(copy)  # replaces what is stored under its id
            for fill in fills[1:]:
                copy.apply(fill)
                database.update_position(copy)
        for strategy in kernel.trader.strategies():
            database.update_strategy(strategy)
        for actor in kernel.trader.actors():
            database.update_actor(actor)
        token = probe.token()
        database.add(PROBE_KEY, token)
        probe.wait_sync(token)  # the node's loop waits: nothing new may reach nautilus's writer before this landed
    finally:
        database.close()
        probe.close()
    return {"orders": len(cache.orders()), "positions": len(cache.positions()), "strategies": len(kernel.trader.strategies())}


def dispose_without_redis(node: Any) -> None:
    """Stop what a disposal stops, except the cache: its Redis writer would wait without end for a Redis that is gone.

    nautilus 1.231's cache writer flushes what it holds when the cache is disposed and retries a Redis
    that is gone forever, holding the GIL (a thread does not help): the node would never exit. The
    writes are lost either way, and the user was told.
    """
    kernel = node.kernel
    for component in (kernel.data_engine, kernel.risk_engine, kernel.exec_engine, kernel.trader):
        if not component.is_disposed:
            component.dispose()


class _Probe:
    """Read back the probe key of the node's trader from Redis."""

    def __init__(self, kernel: Any, cache_config: Any) -> None:
        import redis

        self.key = f"trader-{kernel.trader_id.value}:general:{PROBE_KEY}"  # nautilus's key layout (use_trader_prefix)
        database = cache_config.database
        self.client = redis.Redis(host=database.host, port=database.port, socket_timeout=2.0)

    @staticmethod
    def token() -> bytes:
        import uuid

        return uuid.uuid4().hex.encode()

    def landed(self, token: bytes) -> bool:
        import redis

        try:
            return self.client.get(self.key) == token
        except redis.RedisError:
            return False

    def wait_sync(self, token: bytes) -> bool:
        import time

        deadline = time.monotonic() + PROBE_WAIT_S
        while not self.landed(token):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    async def wait(self, token: bytes) -> bool:
        deadline = asyncio.get_running_loop().time() + PROBE_WAIT_S
        while not self.landed(token):
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    def close(self) -> None:
        self.client.close()


class StateStoreWatch:
    """Check the node's Redis every `interval_s`; block entries while it is gone, save everything again when it returns."""

    def __init__(self, node: Any, cache_config: Any, interval_s: float, data_time: Callable[[], int]) -> None:
        from nautilus_trader.common.component import Logger

        self.node = node
        self.cache_config = cache_config  # the node's CacheConfig: Redis address, encoding
        host, port = cache_config.database.host, cache_config.database.port
        self.host, self.port = host, port
        self.interval_s = interval_s
        self.data_time = data_time  # guard events carry data time (a replay's, not the wall clock)
        self.down: str | None = None  # why Redis is gone, while it is
        self.outages = 0
        self._log = Logger("StateStore")

    async def run(self) -> None:
        """Check until cancelled."""
        while True:
            await asyncio.sleep(self.interval_s)
            await self.check()

    async def check(self) -> None:
        """One PING; act on a change (gone, or back)."""
        problem = await redis_problem(self.host, self.port, min(self.interval_s, 2.0))
        if problem is not None and self.down is None:
            self.down = problem
            self.outages += 1
            self._log.error(
                f"Redis at {self.host}:{self.port} is gone ({problem}): the node's state is not being kept; "
                "new entries are refused until it is back (open positions keep their exits)",
            )
            self._for_each_strategy("block")
        elif problem is None and self.down is not None:
            kernel = self.node.kernel
            probe = _Probe(kernel, self.cache_config)
            token = probe.token()
            kernel.cache.add(PROBE_KEY, token)  # through nautilus's writer, behind whatever it still had queued
            caught_up = await probe.wait(token)
            probe.close()
            if not caught_up:
                return  # nautilus's writer has not reconnected yet: the next check tries again
            written = resave_state(kernel, self.cache_config)
            self._log.warning(
                f"Redis at {self.host}:{self.port} answers again: state saved again "
                f"({written['orders']} orders, {written['positions']} positions, {written['strategies']} strategies); entries allowed again",
            )
            self._for_each_strategy("resume")
            self.down = None

    def report_if_down(self) -> None:
        """At stop: say that the final state was not saved when Redis is still gone."""
        if self.down is not None:
            self._log.error(
                f"the node stopped while Redis at {self.host}:{self.port} was gone ({self.down}): its final state was not saved; "
                "a restart with this trader id would come back to the state before the outage",
            )

    def _for_each_strategy(self, action: str) -> None:
        from ravebear.risk.topics import GUARD_TOPIC

        ts = self.data_time()
        detail = f"Redis at {self.host}:{self.port} " + (f"is gone ({self.down}): state not kept" if action == "block" else "answers again: state saved again")
        for strategy in self.node.trader.strategies():
            guards = getattr(strategy, "guards", None)
            if guards is None:
                continue
            instrument_id = strategy.config.instrument_id.value if getattr(strategy.config, "instrument_id", None) else ""
            if action == "block":
                event = guards.block_entries(ts, STATE_STORE_GUARD, instrument_id, detail)
            else:
                event = guards.resume_entries(ts, STATE_STORE_GUARD, instrument_id, detail)
            if event is not None:
                self.node.kernel.msgbus.publish(GUARD_TOPIC, event)
