"""Exit plans: where the protective stop, the take-profits, the break-even move and the trailing exit go.

Pure price arithmetic shared by every strategy; the orders themselves are placed by
`ravebear.strategies.position_manager.PositionManager`. Distances are in basis points of the entry price
or in R (multiples of the entry-to-stop distance). Sides are +1 (long) and -1 (short).
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from ravebear.ranges import Range, check_ranges


class TakeProfit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One take-profit: `fraction` of the entry size closed at `r` times the risk."""

    r: float  # target distance, multiples of the entry-to-stop distance
    fraction: float = 1.0  # share of the entry size; the last target closes whatever is left


EXIT_RANGES = {
    "stop_buffer_bps": Range(0, 1_000, "bps"),
    "min_stop_bps": Range(0, 5_000, "bps"),
    "max_stop_bps": Range(0, 5_000, "bps", low_open=True),
    "trailing_offset_bps": Range(0, 5_000, "bps", note="0 = the ATR multiple, or no trailing exit"),
    "trailing_atr_multiple": Range(0, 100, "x ATR", note="0 = off"),
    "atr_period": Range(1, 10_000, "candles"),
    "trailing_activation_r": Range(0, 100, "R"),
    "breakeven_after_r": Range(0, 100, "R", note="0 = never"),
    "breakeven_offset_bps": Range(0, 1_000, "bps"),
    "max_hold_bars": Range(0, 1_000_000, "candles", note="0 = never"),
}


class ExitSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How every entry is protected and closed (units in the comments)."""

    stop_buffer_bps: float = 6.0  # stop beyond the signal's invalidation price, bps
    min_stop_bps: float = 50.0  # stop at least this far from the entry, bps (fees are ~10 bps a round trip)
    max_stop_bps: float = 300.0  # a wider stop skips the trade, bps
    take_profits: tuple[TakeProfit, ...] = (TakeProfit(r=1.5),)  # the last one rides on the entry's bracket
    trailing_offset_bps: float = 0.0  # trailing stop distance, bps of price (0: use the ATR multiple, or no trailing exit)
    trailing_atr_multiple: float = 0.0  # trailing distance as a multiple of the ATR (used when trailing_offset_bps is 0)
    atr_period: int = 14  # candles of the strategy's base timeframe
    trailing_activation_r: float = 1.0  # the trailing stop arms once price is this many R in favour (0: at once)
    breakeven_after_r: float = 0.0  # move the stop to break-even once price reached this many R (0: never)
    breakeven_offset_bps: float = 12.0  # the break-even stop sits this far past the entry, bps (covers the fees)
    max_hold_bars: int = 0  # close at market after this many base candles (0: never)

    def __post_init__(self) -> None:
        check_ranges(self, EXIT_RANGES, "exits.")
        if not self.take_profits:
            raise ValueError("exits.take_profits needs at least one target (the entry's bracket carries the last one)")
        total = sum(tp.fraction for tp in self.take_profits[:-1])
        if any(tp.r <= 0 or not 0 < tp.fraction <= 1 for tp in self.take_profits) or total >= 1:
            raise ValueError("exits.take_profits: each r must be > 0, each fraction in (0, 1], and the partial fractions must sum below 1")
        if any(b.r <= a.r for a, b in zip(self.take_profits, self.take_profits[1:], strict=False)):
            raise ValueError("exits.take_profits: targets must be in increasing r")
        if self.min_stop_bps > self.max_stop_bps:
            raise ValueError("exits.min_stop_bps must not exceed exits.max_stop_bps")

    @property
    def trailing(self) -> bool:
        """True when a trailing exit is configured."""
        return self.trailing_offset_bps > 0 or self.trailing_atr_multiple > 0


@dataclass(frozen=True)
class ExitPlan:
    """Prices of one entry's exits."""

    side: int  # +1 long, -1 short
    entry: float
    stop: float
    targets: tuple[tuple[float, float], ...]  # (price, fraction), in order
    breakeven_trigger: float | None  # price that moves the stop to `breakeven_stop`
    breakeven_stop: float | None
    trailing_activation: float | None  # price that arms the trailing stop (None: no trailing exit)

    @property
    def risk_per_unit(self) -> float:
        """Entry-to-stop distance in price."""
        return abs(self.entry - self.stop)


def stop_price(side: int, entry: float, invalidation: float, settings: ExitSettings) -> tuple[float | None, str]:
    """Return the protective stop beyond `invalidation`, or (None, reason) when it is too wide or wrong-sided."""
    buffered = invalidation * (1.0 - side * settings.stop_buffer_bps * 1e-4)
    widest_min = entry * (1.0 - side * settings.min_stop_bps * 1e-4)
    stop = min(buffered, widest_min) if side > 0 else max(buffered, widest_min)
    distance_bps = abs(entry - stop) / entry * 1e4
    if distance_bps > settings.max_stop_bps:
        return None, f"stop {distance_bps:.1f} bps from entry is wider than exits.max_stop_bps {settings.max_stop_bps:g}"
    return stop, ""


def exit_plan(side: int, entry: float, stop: float, settings: ExitSettings) -> ExitPlan:
    """Return the take-profit, break-even and trailing-activation prices for an entry."""
    risk = abs(entry - stop)
    targets = tuple((entry + side * tp.r * risk, tp.fraction) for tp in settings.take_profits)
    breakeven_trigger = breakeven_stop = None
    if settings.breakeven_after_r > 0:
        breakeven_trigger = entry + side * settings.breakeven_after_r * risk
        breakeven_stop = entry * (1.0 + side * settings.breakeven_offset_bps * 1e-4)
    activation = None
    if settings.trailing:
        activation = entry + side * settings.trailing_activation_r * risk
    return ExitPlan(side, entry, stop, targets, breakeven_trigger, breakeven_stop, activation)


def trailing_offset(price: float, atr: float, settings: ExitSettings) -> tuple[str, float]:
    """Return ("bps", offset) or ("price", offset) for the trailing stop; ("", 0) when none can be set."""
    if settings.trailing_offset_bps > 0:
        return "bps", settings.trailing_offset_bps
    if settings.trailing_atr_multiple > 0 and atr > 0:
        return "price", settings.trailing_atr_multiple * atr
    return "", 0.0


def reached(side: int, price_extreme: float, level: float) -> bool:
    """True when a favourable extreme (high for longs, low for shorts) reached `level`."""
    return price_extreme >= level if side > 0 else price_extreme <= level
