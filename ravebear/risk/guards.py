"""Account-wide guards every strategy checks before an entry, and the kill switch.

Pure Python: a strategy holds one `RiskGuards`, feeds it equity with `on_equity` and asks
`check_entry` before each entry with figures from the nautilus portfolio (notionals are
absolute, in the quote currency). Each refusal, halt or alert is kept in `RiskGuards.events`
for the risk report. The limits and the kill switch never block exits.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import msgspec

from ravebear.ranges import Range, check_ranges
from ravebear.time_units import NS_PER_DAY, NS_PER_MINUTE, NS_PER_SECOND

ORDER_RATE_WINDOW_NS = NS_PER_MINUTE


GUARD_RANGES = {
    "max_open_positions": Range(0, 1_000, "positions", note="0 = off"),
    "max_instrument_exposure_pct": Range(0, 10_000, "% of equity", note="0 = off"),
    "max_total_exposure_pct": Range(0, 10_000, "% of equity", note="0 = off"),
    "daily_loss_limit_pct": Range(0, 100, "% of the day's first equity", note="0 = off"),
    "max_drawdown_pct": Range(0, 100, "% from the equity peak", note="0 = off"),
    "max_orders_per_minute": Range(0, 10_000, "orders a minute", note="0 = off"),
    "max_notional_per_order": Range(0, None, "quote currency", note="0 = off"),
}


class GuardLimits(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Account-wide limits; every limit is off at 0."""

    max_open_positions: int = 3  # positions open across the account
    max_instrument_exposure_pct: float = 150.0  # notional of one instrument, % of equity
    max_total_exposure_pct: float = 300.0  # gross notional of all positions, % of equity
    daily_loss_limit_pct: float = 3.0  # loss since the UTC day's first equity, %; blocks entries until the next UTC day
    max_drawdown_pct: float = 10.0  # equity fall from its peak, %; trips the kill switch
    flatten_on_kill: bool = True  # the kill switch also closes positions (it always cancels working orders)
    max_orders_per_minute: int = 30  # orders a strategy may submit in any rolling 60 s
    max_notional_per_order: float = 0.0  # quote currency, also given to nautilus's RiskEngine

    def __post_init__(self) -> None:
        check_ranges(self, GUARD_RANGES, "guards.")


@dataclass(frozen=True, slots=True)
class GuardEvent:
    """One decision of the guards that blocked, halted, flattened, resumed or alerted."""

    ts: int  # UNIX ns
    guard: str  # max_open_positions, instrument_exposure, total_exposure, daily_loss, kill_switch,
    # order_rate, order_notional, feed_stalled, or an alert's name (exit_flip, no_stop, ...)
    action: str  # blocked, halted, flattened, resumed or alert
    instrument_id: str
    strategy_id: str
    detail: str  # a sentence with the figures

    def as_dict(self) -> dict:
        """Return the event as a flat dict for CSV or JSON."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class GuardDecision:
    """Whether an entry or order may go, and the event that refused it."""

    allowed: bool
    event: GuardEvent | None = None


ALLOWED = GuardDecision(allowed=True)


class RiskGuards:
    """The account-wide limits and kill switch of one strategy.

    Call `on_equity` whenever the account equity changes (every bar in a backtest): it keeps the
    peak and the UTC day's first equity, trips the kill switch and starts or ends the daily-loss
    block. `check_entry` reads that state and does not update it, so feed the equity first; a
    daily-loss block never outlives its UTC day, even when no equity arrived since midnight.
    """

    def __init__(self, limits: GuardLimits, strategy_id: str = "") -> None:
        self.limits = limits
        self.strategy_id = strategy_id
        self.halted = False
        self.events: list[GuardEvent] = []
        self._peak = math.nan
        self._peak_ts = 0
        self._last_equity = math.nan
        self._last_ts = 0
        self._day = -1
        self._day_start_equity = math.nan
        self._day_start_ts = 0
        self._halt_detail = ""
        self._daily_detail = ""
        self._entry_blocks: dict[str, str] = {}  # guard -> why it blocks entries (block_entries .. resume_entries)
        self._orders: deque[int] = deque()
        # the limits check_entry reads, as plain attributes (it runs on every entry signal)
        self._max_notional_per_order = limits.max_notional_per_order
        self._max_open_positions = limits.max_open_positions
        self._max_instrument_exposure_pct = limits.max_instrument_exposure_pct
        self._max_total_exposure_pct = limits.max_total_exposure_pct
        self._max_orders_per_minute = limits.max_orders_per_minute

    @property
    def daily_loss_blocked(self) -> bool:
        """True while the daily loss limit blocks entries (until the next UTC day)."""
        return bool(self._daily_detail)

    @property
    def daily_loss_detail(self) -> str:
        """Why the daily loss limit blocks entries (the figures and until when), else ""."""
        return self._daily_detail

    def day_start_equity(self, now_ns: int) -> float | None:
        """The first equity of the UTC day of `now_ns` (what the daily loss limit measures from), or None when none was seen that day."""
        start = self._day_start_equity
        if self._day != now_ns // NS_PER_DAY or start is None or start != start:  # None: NaN restored from JSON
            return None
        return start

    @property
    def entries_blocked(self) -> str:
        """Why entries are blocked by `block_entries` (e.g. a stalled feed), else ""."""
        return "; ".join(self._entry_blocks.values())

    # -- equity ---------------------------------------------------------------------------

    def on_equity(self, ts: int, equity: float) -> list[GuardEvent]:
        """Update the peak and the UTC day's first equity; return the events this update caused."""
        if math.isnan(equity):
            return [self.alert(ts, "equity", "", "equity is NaN: update ignored")]
        new: list[GuardEvent] = []
        self._last_ts, self._last_equity = ts, equity
        day = ts // NS_PER_DAY
        if day != self._day:
            if self._daily_detail:
                detail = f"new UTC day {_date(ts)}: entries allowed again (day starts at equity {equity:,.2f})"
                new.append(self._record(ts, "daily_loss", "resumed", "", detail))
                self._daily_detail = ""
            self._day, self._day_start_equity, self._day_start_ts = day, equity, ts
        if not equity <= self._peak:  # also the first update, when the peak is NaN
            self._peak, self._peak_ts = equity, ts
        limits = self.limits
        if limits.max_drawdown_pct > 0 and not self.halted and self._peak > 0:
            drawdown = (self._peak - equity) / self._peak * 100
            if drawdown >= limits.max_drawdown_pct:
                self.halted = True
                self._halt_detail = (
                    f"drawdown {drawdown:.2f} % >= limit {limits.max_drawdown_pct:.2f} % "
                    f"(equity {equity:,.2f} from peak {self._peak:,.2f} at {_time(self._peak_ts)})"
                )
                cleanup = "cancel working orders"
                if limits.flatten_on_kill:
                    cleanup += " and flatten positions"
                new.append(self._record(ts, "kill_switch", "halted", "", f"{self._halt_detail}: {cleanup}"))
        if limits.daily_loss_limit_pct > 0 and not self._daily_detail and self._day_start_equity > 0:
            loss = (self._day_start_equity - equity) / self._day_start_equity * 100
            if loss >= limits.daily_loss_limit_pct:
                self._daily_detail = (
                    f"daily loss {loss:.2f} % >= limit {limits.daily_loss_limit_pct:.2f} % "
                    f"(equity {equity:,.2f} from {self._day_start_equity:,.2f} at {_clock(self._day_start_ts)} UTC); "
                    f"entries blocked until {_date((day + 1) * NS_PER_DAY)} 00:00 UTC"
                )
                new.append(self._record(ts, "daily_loss", "blocked", "", self._daily_detail))
        return new

    # -- entries and orders ---------------------------------------------------------------

    def check_entry(
        self,
        ts: int,
        instrument_id: str,
        notional: float,
        equity: float,
        open_positions: int,
        instrument_exposure: float,
        total_exposure: float,
    ) -> GuardDecision:
        """Allow or block an entry of `notional`, given the account's open positions and exposures now.

        Checks, first failure wins: kill switch, daily loss, entry blocks (`block_entries`), order
        notional, open positions, instrument exposure (open + this order), total exposure (open +
        this order), order rate.
        """
        if self.halted:
            return self._block(ts, "kill_switch", instrument_id, f"trading halted: {self._halt_detail}")
        if self._daily_detail and ts // NS_PER_DAY == self._day:  # a later day lifts it even before on_equity
            return self._block(ts, "daily_loss", instrument_id, self._daily_detail)
        if self._entry_blocks:
            return self.check_blocks(ts, instrument_id)
        if not notional >= 0:  # also NaN
            detail = f"order notional {notional} is not a non-negative number"
            return self._block(ts, "order_notional", instrument_id, detail)
        max_notional = self._max_notional_per_order
        if 0 < max_notional < notional:
            detail = f"order notional {notional:,.2f} > limit {max_notional:,.2f}"
            return self._block(ts, "order_notional", instrument_id, detail)
        max_open = self._max_open_positions
        if 0 < max_open <= open_positions:
            detail = f"{open_positions} open positions >= limit {max_open}"
            return self._block(ts, "max_open_positions", instrument_id, detail)
        instrument_limit, total_limit = self._max_instrument_exposure_pct, self._max_total_exposure_pct
        if instrument_limit > 0 or total_limit > 0:
            if not equity > 0:
                guard = "instrument_exposure" if instrument_limit > 0 else "total_exposure"
                return self._block(ts, guard, instrument_id, f"equity {equity:,.2f} is not positive: no exposure allowed")
            if 0 < instrument_limit < (instrument_exposure + notional) / equity * 100:
                what = f"{instrument_id} exposure"
                detail = _exposure_detail(what, instrument_exposure, notional, equity, instrument_limit)
                return self._block(ts, "instrument_exposure", instrument_id, detail)
            if 0 < total_limit < (total_exposure + notional) / equity * 100:
                detail = _exposure_detail("total exposure", total_exposure, notional, equity, total_limit)
                return self._block(ts, "total_exposure", instrument_id, detail)
        return self.check_order(ts, instrument_id)

    def check_order(self, ts: int, instrument_id: str) -> GuardDecision:
        """Allow or block an order by the rolling per-minute order count (use it for entries, never exits)."""
        limit = self._max_orders_per_minute
        if limit <= 0:
            return ALLOWED
        orders = self._orders
        oldest = ts - ORDER_RATE_WINDOW_NS
        while orders and orders[0] <= oldest:
            orders.popleft()
        if len(orders) >= limit:
            detail = f"{len(orders)} orders in the last 60 s >= limit {limit} per minute"
            return self._block(ts, "order_rate", instrument_id, detail)
        return ALLOWED

    def check_blocks(self, ts: int, instrument_id: str) -> GuardDecision:
        """Allow or block an entry by the blocks `block_entries` set (the first one set wins)."""
        if not self._entry_blocks:
            return ALLOWED
        guard, detail = next(iter(self._entry_blocks.items()))
        return self._block(ts, guard, instrument_id, detail)

    def block_entries(self, ts: int, guard: str, instrument_id: str, detail: str) -> GuardEvent:
        """Block new entries until `resume_entries(guard)` (exits are never blocked); record why.

        Blocking again under the same guard adds `detail` to the reason entries are refused with.
        """
        previous = self._entry_blocks.get(guard)
        self._entry_blocks[guard] = f"{previous}; {detail}" if previous else detail
        return self._record(ts, guard, "blocked", instrument_id, detail)

    def resume_entries(self, ts: int, guard: str, instrument_id: str, detail: str) -> GuardEvent | None:
        """Lift the entry block of `guard` and record it; None when it was not blocking."""
        if self._entry_blocks.pop(guard, None) is None:
            return None
        return self._record(ts, guard, "resumed", instrument_id, detail)

    def record_order(self, ts: int) -> None:
        """Count a submitted order (entry or exit) in the rolling order rate."""
        if self._max_orders_per_minute > 0:
            self._orders.append(ts)

    # -- events and operator actions ------------------------------------------------------

    def alert(self, ts: int, guard: str, instrument_id: str, detail: str) -> GuardEvent:
        """Record an event that blocks nothing, e.g. an exit that would have flipped the position."""
        return self._record(ts, guard, "alert", instrument_id, detail)

    def record_flatten(self, ts: int, instrument_id: str, detail: str) -> GuardEvent:
        """Record that the kill switch closed a position."""
        return self._record(ts, "kill_switch", "flattened", instrument_id, detail)

    _STATE = ("halted", "_peak", "_peak_ts", "_last_equity", "_last_ts", "_day", "_day_start_equity", "_day_start_ts", "_halt_detail", "_daily_detail")

    def state(self) -> dict:
        """The guards' memory (peak, UTC day, halt), JSON-ready, for a node to save across a restart."""
        return {name: getattr(self, name) for name in self._STATE}

    def restore(self, state: dict) -> None:
        """Take back what `state()` returned (unknown keys are ignored)."""
        for name in self._STATE:
            if name in state:
                setattr(self, name, state[name])

    def reset(self) -> None:
        """Clear the kill switch (operator action); the drawdown is measured from the current equity again."""
        if not self.halted:
            return
        self.halted = False
        self._halt_detail = ""
        self._peak, self._peak_ts = self._last_equity, self._last_ts
        detail = f"kill switch reset by the operator; peak equity re-based to {self._last_equity:,.2f}"
        self._record(self._last_ts, "kill_switch", "resumed", "", detail)

    def _block(self, ts: int, guard: str, instrument_id: str, detail: str) -> GuardDecision:
        return GuardDecision(allowed=False, event=self._record(ts, guard, "blocked", instrument_id, detail))

    def _record(self, ts: int, guard: str, action: str, instrument_id: str, detail: str) -> GuardEvent:
        event = GuardEvent(ts, guard, action, instrument_id, self.strategy_id, detail)
        self.events.append(event)
        return event


ACCOUNT_GUARDS = ("daily_loss", "kill_switch")  # guards that watch the account's equity: every strategy copy trips them alike


def account_event_key(event: GuardEvent) -> tuple[str, str, int] | None:
    """The key under which every strategy copy records the same account-wide event, None for a copy's own event.

    Each copy keeps its own `RiskGuards` on the shared account equity, so a daily-loss block, its end and
    a kill-switch halt are recorded once per copy, each with the figures and the minute that copy saw (copies
    get their candles one by one, and a gap delays one): the same guard and action on one UTC day is the
    same event. A refused entry or a flatten names an instrument and is the copy's own.
    """
    if event.guard not in ACCOUNT_GUARDS or event.instrument_id or event.action not in ("blocked", "resumed", "halted"):
        return None
    return event.guard, event.action, event.ts // NS_PER_DAY


def _exposure_detail(what: str, existing: float, notional: float, equity: float, limit: float) -> str:
    after = existing + notional
    return (
        f"{what} {after:,.2f} is {after / equity * 100:.2f} % of equity {equity:,.2f} > limit {limit:.2f} % "
        f"(open {existing:,.2f} + order {notional:,.2f})"
    )


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts // NS_PER_SECOND, tz=UTC)


def _date(ts: int) -> str:
    return _utc(ts).strftime("%Y-%m-%d")


def _clock(ts: int) -> str:
    return _utc(ts).strftime("%H:%M")


def _time(ts: int) -> str:
    return _utc(ts).strftime("%Y-%m-%d %H:%M UTC")
