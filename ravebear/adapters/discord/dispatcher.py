"""Send alerts to Discord without ever blocking the node: `submit` hands an alert to a background thread
that routes it, drops repeats, sends it within the rate limits, merges a backlog into digests, and
dead-letters what cannot be delivered (replayed on the next start)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ravebear.adapters.common.redact import LogSink
from ravebear.adapters.discord.alerts import Alert
from ravebear.adapters.discord.dead_letter import DeadLetters
from ravebear.adapters.discord.payload import digest_messages, plain_message, single_message
from ravebear.adapters.discord.routing import AlertGate, Routes
from ravebear.adapters.discord.webhook import WebhookClient


@dataclass
class DispatchStats:
    """What the dispatcher did since it started."""

    submitted: int = 0
    repeats: int = 0  # dropped inside their cooldown
    unrouted: int = 0  # no configured channel takes them
    messages: int = 0  # webhook messages sent
    alerts_sent: int = 0  # alert deliveries (an alert in two channels counts twice)
    merged: int = 0  # of those, delivered inside a digest
    plain_fallbacks: int = 0  # embeds Discord refused, delivered as text
    dead_lettered: int = 0
    replayed: int = 0
    rate_limited: int = 0  # 429s met
    latencies_s: list[float] = field(default_factory=list)  # submit -> delivered, per alert delivery


@dataclass
class _Pending:
    alert: Alert
    submitted: float  # monotonic
    replay: bool = False


class AlertDispatcher:
    """One background sender for all channels; `clients` maps a channel name to its webhook."""

    def __init__(self, routes: Routes, clients: dict[str, WebhookClient], dead_letters: DeadLetters, log: LogSink,
                 cooldown_s: float = 300.0, digest_after: int = 3, on_outcome: Callable[[str, Alert, str], None] | None = None) -> None:
        self.routes = routes
        self.clients = clients
        self.dead_letters = dead_letters
        self.log = log
        self.gate = AlertGate(cooldown_s)
        self.digest_after = digest_after
        self.stats = DispatchStats()
        self.on_outcome = on_outcome  # (channel, alert, sent | merged | dead_lettered), called on the sender thread
        self._queues: dict[str, deque[_Pending]] = {name: deque() for name in clients}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="discord-alerts", daemon=True)
        self._wake: dict[str, asyncio.Event] = {}
        self._inflight: dict[str, list[_Pending]] = {}  # channel -> the batch being sent
        self._replaying = 0
        self._inbox: deque[tuple[Alert, float]] = deque()  # deque appends and pops are thread-safe
        self._woken = False
        self._workers: list[asyncio.Task] = []
        self._started = threading.Event()

    # -- the node's side (any thread; never waits) ---------------------------------------------

    def start(self) -> None:
        """Check the dead-letter folder, start the sender and queue the last run's dead letters first."""
        self.dead_letters.check_writable()
        self._thread.start()
        self._started.wait(10)
        self._loop.call_soon_threadsafe(self._replay_dead_letters)

    def submit(self, alert: Alert) -> None:
        """Hand one alert to the sender and return at once (a deque append; the sender is woken once per batch)."""
        self._inbox.append((alert, time.monotonic()))
        if not self._woken:
            self._woken = True
            self._loop.call_soon_threadsafe(self._take_inbox)

    def close(self, timeout_s: float = 10.0) -> DispatchStats:
        """Deliver what is queued within `timeout_s`, dead-letter the rest, stop the thread."""
        if self._thread.is_alive():
            future = asyncio.run_coroutine_threadsafe(self._drain(timeout_s), self._loop)
            try:
                future.result(timeout_s + 15)
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(10)
        return self.stats

    # -- the sender thread -----------------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        for name in self.clients:
            self._wake[name] = asyncio.Event()
            self._workers.append(self._loop.create_task(self._channel_worker(name)))
        self._started.set()
        self._loop.run_forever()

    def _take_inbox(self) -> None:
        self._woken = False  # before draining: an alert appended from now on schedules another call
        while self._inbox:
            self._accept(*self._inbox.popleft())

    def _accept(self, alert: Alert, submitted: float) -> None:
        self.stats.submitted += 1
        if not self.gate.admit(alert):
            self.stats.repeats += 1
            return
        channels = [c for c in self.routes.channels_for(alert) if c in self.clients]
        if not channels:
            self.stats.unrouted += 1
            return
        for channel in channels:
            self._queues[channel].append(_Pending(alert, submitted))
            self._wake[channel].set()

    def _replay_dead_letters(self) -> None:
        batches = self.dead_letters.take_for_replay()
        if self.dead_letters.skipped:
            self.log.warning(f"discord: {self.dead_letters.skipped} unreadable dead-letter lines kept in {self.dead_letters.unreadable}")
        now = time.monotonic()
        replay: dict[str, list[Alert]] = {}
        for channel, alerts in batches:
            if channel in self.clients:
                replay.setdefault(channel, []).extend(alerts)
            else:
                self.dead_letters.add(channel, alerts, f"channel {channel!r} is not configured now")
        for channel, alerts in replay.items():  # ahead of new alerts, in their original order
            self._queues[channel].extendleft(_Pending(alert, now, replay=True) for alert in reversed(alerts))
            self._replaying += len(alerts)
            self._wake[channel].set()
        if batches:
            self.log.info(f"discord: replaying {sum(len(a) for _, a in batches)} dead-lettered alerts")
        if not self._replaying:
            self.dead_letters.replay_done()

    async def _channel_worker(self, channel: str) -> None:
        queue, wake, client = self._queues[channel], self._wake[channel], self.clients[channel]
        while True:
            if not queue:
                wake.clear()
                await wake.wait()
            batch = self._inflight[channel] = self._next_batch(queue)  # left in place if the task is cancelled mid-send
            try:
                if len(batch) == 1:
                    await self._deliver_one(client, batch[0])
                else:
                    for message in digest_messages([p.alert for p in batch], channel):
                        count = sum(len(e["fields"]) for e in message["embeds"])
                        result = await client.send(message)
                        part, batch = batch[:count], batch[count:]
                        self._inflight[channel] = batch
                        self.stats.rate_limited += result.rate_limited
                        if result.outcome == "sent":
                            self._delivered(part, merged=True, channel=channel)
                        else:
                            self._dead_letter(channel, part, result.detail)
            except Exception as exc:  # a bug must not silence every later alert: keep the batch and go on
                self.log.error(f"discord {channel}: {type(exc).__name__}: {exc}")
                self._dead_letter(channel, self._inflight.get(channel, []), f"{type(exc).__name__}: {exc}")
            self._inflight.pop(channel, None)

    def _next_batch(self, queue: deque[_Pending]) -> list[_Pending]:
        for index, pending in enumerate(queue):  # high-confidence first, alone
            if self.routes.is_high_conf(pending.alert):
                del queue[index]
                return [pending]
        if len(queue) < self.digest_after:
            return [queue.popleft()]
        batch = list(queue)
        queue.clear()
        return batch

    async def _deliver_one(self, client: WebhookClient, pending: _Pending) -> None:
        result = await client.send(single_message(pending.alert))
        self.stats.rate_limited += result.rate_limited
        if result.outcome == "rejected":
            self.log.warning(f"discord {client.channel}: Discord refused the embed ({result.detail}); sending it as text")
            result = await client.send(plain_message(pending.alert))
            self.stats.plain_fallbacks += result.outcome == "sent"
        if result.outcome == "sent":
            self._delivered([pending], merged=False, channel=client.channel)
        else:
            self._dead_letter(client.channel, [pending], result.detail)

    def _delivered(self, batch: list[_Pending], merged: bool, channel: str) -> None:
        self._tell(channel, batch, "merged" if merged else "sent")
        now = time.monotonic()
        self.stats.messages += 1
        self.stats.alerts_sent += len(batch)
        self.stats.merged += len(batch) if merged else 0
        self.stats.latencies_s += [now - p.submitted for p in batch]
        self._replayed(batch)

    def _dead_letter(self, channel: str, batch: list[_Pending], reason: str) -> None:
        self.log.warning(f"discord {channel}: {len(batch)} alerts not delivered ({reason}); kept in {self.dead_letters.path}")
        self.dead_letters.add(channel, [p.alert for p in batch], reason)
        self.stats.dead_lettered += len(batch)
        self._tell(channel, batch, "dead_lettered")
        self._replayed(batch)

    def _tell(self, channel: str, batch: list[_Pending], outcome: str) -> None:
        if self.on_outcome is not None:
            for pending in batch:
                self.on_outcome(channel, pending.alert, outcome)

    def _replayed(self, batch: list[_Pending]) -> None:
        done = sum(p.replay for p in batch)
        if done:
            self.stats.replayed += done
            self._replaying -= done
            if self._replaying == 0:
                self.dead_letters.replay_done()

    async def _drain(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        self._take_inbox()
        while (any(self._queues.values()) or self._inflight or self._inbox) and time.monotonic() < deadline:
            self._take_inbox()
            await asyncio.sleep(0.02)
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        for channel, batch in list(self._inflight.items()):  # cut off mid-send: kept (a replay may repeat it; losing it is worse)
            self._dead_letter(channel, batch, "the node stopped while it was being sent")
        for channel, queue in self._queues.items():
            if queue:
                self._dead_letter(channel, list(queue), "the node stopped before it was sent")
                queue.clear()
        for client in self.clients.values():
            await client.close()
