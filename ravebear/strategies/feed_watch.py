"""`FeedWatch`: a live strategy's `FeedWatchdog` wired to the node: the timer, the loop hand-off, the order events, the guards.

On a live clock (paper and live nodes, never in a backtest, where a data gap is not a stall) it
halts new entries while the strategy's market data or the venue's order updates stall, and
resumes them when the feed is healthy. A stall blocks entries only: positions keep their stops at
the venue and nothing is flattened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from nautilus_trader.common.component import LiveClock
from nautilus_trader.model.events import OrderDenied, OrderEmulated, OrderInitialized, OrderPendingCancel, OrderPendingUpdate, OrderReleased, OrderSubmitted

from ravebear.risk.feed_watchdog import FeedWatchdog, FeedWatchdogSettings
from ravebear.risk.guards import GuardEvent, RiskGuards

FEED_TIMER = "ravebear-feed-watchdog"
FEED_STALLED = "feed_stalled"
ORDER_EVENTS = "events.order.*"
_LOCAL_ORDER_EVENTS = (OrderInitialized, OrderDenied, OrderEmulated, OrderReleased)  # not answers of the venue


class FeedWatch:
    """Watch one instrument's bars and every order on its venue; block and resume entries through the guards."""

    def __init__(
        self,
        settings: FeedWatchdogSettings,
        instrument_id: Any,
        clock: Any,
        msgbus: Any,
        cache: Any,
        log: Any,
        guards: RiskGuards,
        publish: Callable[[GuardEvent], None],
    ) -> None:
        self._instrument_key = instrument_id.value
        self._venue = instrument_id.venue
        self._clock = clock
        self._msgbus = msgbus
        self._cache = cache
        self._log = log
        self._guards = guards
        self._publish = publish
        self.settings = settings
        self.watchdog = FeedWatchdog(settings, self._instrument_key, clock.timestamp_ns())
        self.running = True  # False once stopped: a check already handed to the loop does nothing
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()  # the node's loop, where the checks run
        except RuntimeError:  # started outside the node's loop: check on the timer's thread
            self._loop = None

    @classmethod
    def start(cls, settings: FeedWatchdogSettings, strategy: Any, guards: RiskGuards, publish: Callable[[GuardEvent], None]) -> FeedWatch | None:
        """Start watching for a strategy on a live clock with a stall limit set; None otherwise (backtests)."""
        if not isinstance(strategy.clock, LiveClock) or not settings.enabled:
            return None
        watch = cls(settings, strategy.config.instrument_id, strategy.clock, strategy.msgbus, strategy.cache, strategy.log, guards, publish)
        if settings.order_update_stall_s > 0:
            # every strategy's orders on the venue: one stalled execution feed blinds all of them, and a
            # strategy with an order of its own in flight is not entering anyway
            watch._msgbus.subscribe(ORDER_EVENTS, watch._on_venue_order_event)
        watch._clock.set_timer(FEED_TIMER, timedelta(seconds=settings.check_interval_s), callback=watch._on_timer)
        return watch

    def stop(self) -> None:
        """Cancel the timer and the subscription; lift a block still in force (a restarted strategy gets a new watch)."""
        self.running = False
        if FEED_TIMER in self._clock.timer_names:
            self._clock.cancel_timer(FEED_TIMER)
        if self._msgbus.is_subscribed(ORDER_EVENTS, self._on_venue_order_event):
            self._msgbus.unsubscribe(ORDER_EVENTS, self._on_venue_order_event)
        watchdog = self.watchdog
        if watchdog.stalled:  # no block without a watchdog to lift it
            detail = f"feed watchdog stopped with the strategy while halted ({watchdog.reason}): block lifted"
            event = self._guards.resume_entries(self._clock.timestamp_ns(), FEED_STALLED, self._instrument_key, detail)
            if event is not None:
                self._publish(event)

    def on_market_data(self) -> None:
        """Record that market data arrived now (wall time: a replayed bar's ts is history)."""
        self.watchdog.on_market_data(self._clock.timestamp_ns())

    def _on_venue_order_event(self, event: Any) -> None:
        """An order event of any strategy: does the order now wait for the venue, or did the venue answer?"""
        if not self.running or event.instrument_id.venue != self._venue or isinstance(event, _LOCAL_ORDER_EVENTS):
            return
        watchdog = self.watchdog
        now = self._clock.timestamp_ns()  # wall time: a sandbox's events carry the replayed data's time
        order_id = event.client_order_id.value
        if isinstance(event, OrderSubmitted):
            order = self._cache.order(event.client_order_id)
            if order is None or order.parent_order_id is None:  # a bracket's stop/target is placed by the venue once the entry fills
                watchdog.on_order_waiting(order_id, now, "submitted")
        elif isinstance(event, OrderPendingCancel):
            watchdog.on_order_waiting(order_id, now, "pending cancel")
        elif isinstance(event, OrderPendingUpdate):
            watchdog.on_order_waiting(order_id, now, "pending modify")
        else:
            watchdog.on_order_update(order_id, now)

    def _on_timer(self, _event: Any) -> None:
        # nautilus 1.231's LiveClock calls timer callbacks on its own (Rust) threads, not the node's event
        # loop: hand the check to the loop, where bars, order events and entries are handled
        loop = self._loop
        if loop is None:
            self.check()
            return
        try:
            loop.call_soon_threadsafe(self.check)
        except RuntimeError:  # the loop is closed: the node is gone
            pass

    def check(self) -> None:
        """Halt new entries when a feed stalled, resume them when every feed is healthy again."""
        if not self.running:
            return
        now = self._clock.timestamp_ns()
        for change in self.watchdog.check(now):
            if change.stalled:
                self._log.error(f"FEED STALLED: {change.detail} (open positions keep their stops at the venue; nothing is flattened)")
                self._publish(self._guards.block_entries(now, FEED_STALLED, self._instrument_key, change.detail))
            else:
                event = self._guards.resume_entries(now, FEED_STALLED, self._instrument_key, change.detail)
                if event is not None:
                    self._publish(event)

