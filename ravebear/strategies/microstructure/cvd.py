"""Cumulative volume delta (CVD) and spot-vs-perp divergence.

Delta of a trade = +size when the buyer was the aggressor, -size when the seller was. CVD is the
running sum of deltas: over everything fed (`total`), since the current session began (`session`,
reset at each boundary of `sessions.SessionClock`), and over the trailing `window_s` seconds
(`window`: trades with ts in (now - window, now]).

Spot-vs-perp divergence compares the rolling deltas of a spot and a perpetual market in quote
currency (price x size x multiplier, so USDT spot, USD-M and COIN-M contracts are comparable):
`divergence` is +1 when spot buys (net spot delta >= min_quote) while the perp sells (net perp delta
<= -min_quote), -1 for the reverse, 0 otherwise. Price move over the same window (perp trades,
first to last, bps) says which side price followed (`led_by`: "spot", "perp" or "").
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from ravebear.strategies.microstructure.sessions import DEFAULT_SESSIONS, SessionClock, SessionHours
from ravebear.strategies.microstructure.types import Trade
from ravebear.time_units import NS_PER_SECOND


class RollingSum:
    """Sum of values added at times in (now - window, now]."""

    def __init__(self, window_ns: int) -> None:
        self.window_ns = window_ns
        self._items: deque[tuple[int, float]] = deque()
        self.total = 0.0

    def add(self, ts_ns: int, value: float) -> None:
        """Add a value at ts_ns and drop what fell out of the window."""
        self._items.append((ts_ns, value))
        self.total += value
        self.evict(ts_ns)

    def evict(self, now_ns: int) -> None:
        """Drop values at or before now - window."""
        items, cutoff = self._items, now_ns - self.window_ns
        while items and items[0][0] <= cutoff:
            self.total -= items.popleft()[1]
        if not items:
            self.total = 0.0  # no rounding residue once empty



@dataclass(frozen=True)
class CvdConfig:
    """CVD settings."""

    window_s: float = 300.0  # rolling CVD window, seconds
    sessions: tuple[SessionHours, ...] = DEFAULT_SESSIONS  # session buckets, UTC hours


class CvdTracker:
    """CVD of one instrument: total, per session and rolling; in base units (or contracts)."""

    def __init__(self, config: CvdConfig | None = None) -> None:
        self.config = config = config or CvdConfig()
        self.clock = SessionClock(config.sessions)
        self._rolling = RollingSum(int(config.window_s * NS_PER_SECOND))
        self.total = 0.0
        self.session = 0.0
        self.session_name = ""
        self._session_start = -1

    def update(self, trade: Trade) -> None:
        """Feed one trade (in time order)."""
        delta = trade.size if trade.aggressor > 0 else -trade.size
        session = self.clock.at(trade.ts_ns)
        if session.start_ns != self._session_start:
            self._session_start, self.session_name, self.session = session.start_ns, session.name, 0.0
        self.total += delta
        self.session += delta
        self._rolling.add(trade.ts_ns, delta)

    @property
    def window(self) -> float:
        """Rolling CVD over the last window_s seconds up to the latest trade."""
        return self._rolling.total


@dataclass(frozen=True)
class DivergenceConfig:
    """Spot-vs-perp divergence settings."""

    window_s: float = 300.0  # both rolling deltas, seconds
    min_quote: float = 100_000.0  # each side's |net delta| must reach this, quote currency (above 0)
    spot_multiplier: float = 1.0  # quote per (price x size) of a spot trade
    perp_multiplier: float = 1.0  # quote per (price x size) of a perp trade; for inverse contracts see perp_inverse
    perp_inverse: bool = False  # True: perp size is in contracts of perp_multiplier quote each (COIN-M)


@dataclass(frozen=True, slots=True)
class Divergence:
    """The state after the latest trade of either market."""

    ts_ns: int
    spot_delta_quote: float
    perp_delta_quote: float
    price_move_bps: float  # perp price, first to last trade in the window
    divergence: int  # +1 spot buying vs perp selling, -1 spot selling vs perp buying, 0 none
    led_by: str  # "spot" / "perp": whose delta has the sign of the price move; "" when no divergence


class SpotPerpDivergence:
    """Rolling quote deltas of a spot and a perp market, fed their trades in one time order."""

    def __init__(self, config: DivergenceConfig | None = None) -> None:
        self.config = config or DivergenceConfig()
        self._window_ns = window_ns = int(self.config.window_s * NS_PER_SECOND)
        self._spot, self._perp = RollingSum(window_ns), RollingSum(window_ns)
        self._perp_prices: deque[tuple[int, float]] = deque()  # (ts, price) of perp trades in the window

    def update_spot(self, trade: Trade) -> Divergence:
        """Feed a spot trade."""
        quote = trade.price * trade.size * self.config.spot_multiplier
        self._spot.add(trade.ts_ns, quote if trade.aggressor > 0 else -quote)
        return self._state(trade.ts_ns)

    def update_perp(self, trade: Trade) -> Divergence:
        """Feed a perp trade."""
        config = self.config
        quote = trade.size * config.perp_multiplier if config.perp_inverse else trade.price * trade.size * config.perp_multiplier
        self._perp.add(trade.ts_ns, quote if trade.aggressor > 0 else -quote)
        self._perp_prices.append((trade.ts_ns, trade.price))
        return self._state(trade.ts_ns)

    def _state(self, now_ns: int) -> Divergence:
        self._spot.evict(now_ns)
        self._perp.evict(now_ns)
        prices, cutoff = self._perp_prices, now_ns - self._window_ns
        while prices and prices[0][0] <= cutoff:
            prices.popleft()
        spot, perp = self._spot.total, self._perp.total
        move = (prices[-1][1] - prices[0][1]) / prices[0][1] * 1e4 if prices else 0.0
        threshold = self.config.min_quote
        divergence = 1 if spot >= threshold and perp <= -threshold else -1 if spot <= -threshold and perp >= threshold else 0
        led_by = ""
        if divergence and move:
            led_by = "spot" if (spot > 0) == (move > 0) else "perp"
        return Divergence(now_ns, spot, perp, move, divergence, led_by)
