"""Stalled-feed detection: market data or order updates that stopped arriving while the socket stays open.

nautilus's OKX adapter can stop handling WebSocket messages after a frame it does not recognise
while the connection stays up, so a live node may silently stop receiving bars or order updates.
`FeedWatchdog` is fed wall-clock arrival times (UNIX ns) and, on each `check`, says when a feed
stalled and when it is healthy again. A stall halts new entries only: positions keep their
venue-side stop and exits, and nothing is flattened.

Pure Python: a strategy feeds it (`on_market_data`, `on_order_waiting`, `on_order_update`) and
calls `check` from a timer; state changes happen only in `check`, so entries resume at the first
check that finds every feed healthy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import msgspec

from ravebear.time_units import NS_PER_SECOND
MARKET_DATA = "market_data"


class FeedWatchdogSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """When a feed counts as stalled (seconds of wall-clock time; a limit of 0 turns that check off)."""

    market_data_stall_s: float = 150.0  # no market data (1m bar) for the instrument this long, s; bars come every 60 s
    order_update_stall_s: float = 15.0  # an order waiting for the venue's answer (submit, cancel, modify) this long, s
    check_interval_s: float = 1.0  # how often the watchdog checks, s

    def __post_init__(self) -> None:
        for name in ("market_data_stall_s", "order_update_stall_s", "check_interval_s"):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):  # also rejects NaN
                raise ValueError(f"feed_watchdog.{name} must be a finite number >= 0 (0 = off), got {value}")
        if self.enabled and self.check_interval_s <= 0:
            raise ValueError(f"feed_watchdog.check_interval_s must be > 0 while a stall limit is set, got {self.check_interval_s}")

    @property
    def enabled(self) -> bool:
        """True when at least one of the two checks is on."""
        return self.market_data_stall_s > 0 or self.order_update_stall_s > 0


@dataclass(frozen=True, slots=True)
class FeedStateChange:
    """A stall began (`stalled`), or every feed is healthy again."""

    ts: int  # UNIX ns of the check that saw it
    stalled: bool
    detail: str  # a sentence naming what stalled, for how long, and the limit


class FeedWatchdog:
    """Detect a stalled market-data or order-update feed of one instrument's strategy.

    - market data: stalled when nothing arrived for `market_data_stall_s` since the last item
      (or since the watchdog started, if nothing ever came);
    - order updates: stalled when an order waited `order_update_stall_s` for the venue's answer
      (submitted and not accepted/rejected yet, or pending cancel/modify).
    Each new stalled condition is one change; the halt ends with one change once no condition is
    left. An order the venue never answers keeps entries halted until it is settled (a restart
    with reconciliation).
    """

    def __init__(self, settings: FeedWatchdogSettings, instrument_id: str, start_ns: int) -> None:
        self.settings = settings
        self.instrument_id = instrument_id
        self._market_data_limit_ns = int(settings.market_data_stall_s * NS_PER_SECOND)
        self._order_limit_ns = int(settings.order_update_stall_s * NS_PER_SECOND)
        self._last_market_data_ns = start_ns
        self._waiting: dict[str, tuple[int, str]] = {}  # order id -> (waiting since, what for)
        self._active: set[str] = set()  # conditions stalled at the last check
        self._reasons: list[str] = []  # the sentences that reported each stall of the current halt
        self._halted_since: int | None = None

    @property
    def stalled(self) -> bool:
        """True while new entries are halted."""
        return self._halted_since is not None

    @property
    def reason(self) -> str:
        """Why entries are halted: every stall reported since the halt began, else ""."""
        return "; ".join(self._reasons)

    @property
    def waiting_orders(self) -> int:
        """Orders waiting for the venue's answer now."""
        return len(self._waiting)

    def on_market_data(self, ts: int) -> None:
        """Record a market data item that arrived at wall time `ts`."""
        if ts > self._last_market_data_ns:
            self._last_market_data_ns = ts

    def on_order_waiting(self, order_id: str, ts: int, what: str = "submitted") -> None:
        """Record an order that now waits for the venue (`what`: submitted, pending cancel, pending modify)."""
        since, _ = self._waiting.get(order_id, (ts, what))
        self._waiting[order_id] = (since, what)

    def on_order_update(self, order_id: str, ts: int) -> None:
        """Record the venue's answer for an order (accepted, rejected, filled, canceled, updated...)."""
        self._waiting.pop(order_id, None)

    def check(self, now: int) -> list[FeedStateChange]:
        """Compare the last arrivals with the limits at wall time `now`; return the state changes."""
        changes: list[FeedStateChange] = []
        current: dict[str, str] = {}
        limit = self._market_data_limit_ns
        if limit > 0 and now - self._last_market_data_ns >= limit:
            silent = (now - self._last_market_data_ns) / NS_PER_SECOND
            current[MARKET_DATA] = (
                f"no market data for {self.instrument_id} for {silent:.1f} s "
                f"(limit {self.settings.market_data_stall_s:g} s): new entries halted"
            )
        limit = self._order_limit_ns
        if limit > 0:
            for order_id, (since, what) in self._waiting.items():
                if now - since >= limit:
                    waited = (now - since) / NS_PER_SECOND
                    current[f"order {order_id}"] = (
                        f"no venue answer for order {order_id} ({what}) for {waited:.1f} s "
                        f"(limit {self.settings.order_update_stall_s:g} s): new entries halted"
                    )
        for key, detail in current.items():
            if key not in self._active:
                changes.append(FeedStateChange(now, True, detail))
                self._reasons.append(detail)
                if self._halted_since is None:
                    self._halted_since = now
        self._active = set(current)
        if self._halted_since is not None and not current:
            halted = (now - self._halted_since) / NS_PER_SECOND
            changes.append(FeedStateChange(now, False, f"feed healthy again after {halted:.1f} s: entries resume"))
            self._halted_since = None
            self._reasons = []
        return changes
