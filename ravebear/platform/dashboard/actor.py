"""`DashboardActor`: the thin shell a node runs: a timer rebuilds the snapshot and redraws one `rich.live.Live` in place."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig
from rich.console import Console
from rich.live import Live

from ravebear.platform.dashboard.render import render
from ravebear.platform.dashboard.snapshot import DashboardSnapshot, snapshot

TIMER_NAME = "dashboard_refresh"


class DashboardConfig(ActorConfig, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How often and how much the dashboard shows."""

    refresh_secs: float = 1.0  # seconds between redraws, on the node's clock
    instrument_ids: tuple[str, ...] = ()  # instruments shown; empty: every instrument
    max_orders: int = 20  # working orders listed; the rest are counted
    levels_per_side: int = 2  # nearest supports and resistances listed per instrument
    data_clock: bool = False  # a replay: show the time of the latest bar (the node's own clock is the wall clock)
    width: int = 120  # columns drawn when stdout is not a terminal and COLUMNS is unset (a log file, a pipe)

    def __post_init__(self) -> None:
        if not self.refresh_secs > 0:  # also NaN
            raise ValueError(f"dashboard refresh_secs must be > 0, got {self.refresh_secs}")
        for name in ("max_orders", "levels_per_side", "width"):
            if getattr(self, name) < 0:
                raise ValueError(f"dashboard {name} must be >= 0, got {getattr(self, name)}")



# -- the actor -------------------------------------------------------------------------------


class DashboardActor(Actor):
    """Redraw the dashboard in place every `refresh_secs` on the node's clock."""

    def __init__(self, config: DashboardConfig | None = None, console: Console | None = None) -> None:
        super().__init__(config or DashboardConfig())
        self.console = console  # None: a stdout console is made at start
        self.live: Live | None = None
        self.redraws = 0
        self.last_snapshot: DashboardSnapshot | None = None
        self._strategies: Callable[[], Iterable[Any]] | None = None
        self.last_error = ""  # the latest refresh failure, also logged

    def attach(self, strategies: Callable[[], Iterable[Any]]) -> None:
        """Give the dashboard the node's strategies, e.g. `actor.attach(node.trader.strategies)`."""
        self._strategies = strategies

    def on_start(self) -> None:
        """Start the live display and the refresh timer."""
        if self.console is None:  # a terminal's own width; else COLUMNS, else config.width (rich would use 80)
            on_terminal = sys.stdout.isatty() or bool(os.environ.get("COLUMNS"))
            self.console = Console(width=None if on_terminal else self.config.width)
        self.live = Live(console=self.console, screen=False, transient=False, auto_refresh=False,
                         redirect_stdout=False, redirect_stderr=False)  # fmt: skip
        self.live.start()
        self.refresh()
        interval = timedelta(seconds=self.config.refresh_secs)
        self.clock.set_timer(TIMER_NAME, interval=interval, callback=self._on_timer)

    def on_stop(self) -> None:
        """Stop the timer, draw the last frame and release the terminal."""
        if TIMER_NAME in self.clock.timer_names:
            self.clock.cancel_timer(TIMER_NAME)
        if self.live is not None:
            self.refresh(draw=False)
            self.live.stop()  # draws the last frame (the only one on a console that is not a terminal)
            self.live = None

    def refresh(self, draw: bool = True) -> None:
        """Rebuild the snapshot and redraw; a failure is logged, never raised into the node."""
        if self.live is None:
            return
        config = self.config
        try:
            strategies = list(self._strategies()) if self._strategies is not None else []
            now = self.data_time() if config.data_clock else self.clock.timestamp_ns()
            snap = snapshot(self.cache, self.portfolio, strategies, now, instrument_ids=config.instrument_ids,
                            max_orders=config.max_orders, levels_per_side=config.levels_per_side, data_clock=config.data_clock)  # fmt: skip
            self.live.update(render(snap), refresh=draw)
        except Exception as error:  # the dashboard must not take the node down
            message = f"dashboard refresh failed: {type(error).__name__}: {error}"
            if message != self.last_error:
                self.last_error = message
                self.log.error(message)
            return
        self.last_snapshot = snap
        self.redraws += 1

    def data_time(self) -> int:
        """UNIX ns of the latest bar in the cache (its close), 0 before the first one."""
        latest = 0
        for bar_type in self.cache.bar_types():
            bar = self.cache.bar(bar_type)
            if bar is not None and bar.ts_event > latest:
                latest = bar.ts_event
        return latest

    def _on_timer(self, event: Any) -> None:
        self.refresh()
