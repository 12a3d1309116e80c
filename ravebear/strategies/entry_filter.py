"""Entry confluence filter: take a trade only when enough independent conditions agree with it.

The trader's edge formula: a setup is better when the market around it agrees. `EntryFilter`
is fed one event at a time (alternative data, bar closes, level events) and answers one
question before an entry: do the ON conditions agree with a long / short at this price?

Each ON condition answers *agree*, *disagree* or *missing* (no usable data). A neutral
reading (flat dominance, small whale flow, calm funding, ...) agrees with both sides: it is
no reason to skip the trade. `missing_data="pass"` counts a missing condition as agreeing,
`"block"` as disagreeing. The entry is allowed when the agreeing conditions number at least
`min_agree` (0: every ON condition must agree). Times are UNIX ns (`ts_event` of the data).

Conditions
----------
usdt_dominance (market-wide)
    Data: `Dominance` rows of asset USDT (of `dominance_source` only, when set).
    change = percent of the latest row at or before the check minus percent of the latest row
    at or before (check - dominance_lookback_h), in percentage points (pp).
    change >= +dominance_min_change_pct: money is parking in USDT, risk-off: disagrees with a
    long, agrees with a short. change <= -dominance_min_change_pct: the mirror. Smaller: flat,
    agrees with both. Missing: no row at or before the window start, or no row inside the window.

whale_flow (market-wide)
    Data: `WhaleTransaction` rows with flow exchange_inflow / exchange_outflow and ts_event in
    (check - whale_window_h, check]. net = inflow USD - outflow USD; transfers of the
    `whale_stablecoins` count the other way (stablecoins sent to exchanges are buying power).
    net >= +whale_min_net_usd: sell pressure: disagrees with a long, agrees with a short;
    net <= -whale_min_net_usd: the mirror; between (an empty window is 0): neutral.
    Missing: no whale transaction of any flow yet, or the latest is older than max_data_age_h.

oi_change (per instrument)
    Data: the instrument's `OpenInterest` rows whose `usd` flag equals `oi_usd`, and its price
    (bar closes through `on_data(Bar)` or `on_price`). OI change % = (OI now / OI at the window
    start - 1) x 100, "now" being the latest row at or before the check and "window start" the
    latest row at or before (check - oi_lookback_h). Price change: the check's price vs the last
    close at or before the window start.
    OI change > +oi_max_change_pct (positions piling in fast) with price down: shorts are
    pressing and the longs who bought are trapped: disagrees with a long, agrees with a short.
    With price up: the mirror. Price unchanged, or OI change <= oi_max_change_pct (falling OI
    included): neutral. Missing: no OI row at or before the window start or none inside the
    window, or no price at or before the window start.

funding (per instrument)
    Data: the latest `FundingRate` row at or before the check with `predicted` equal to
    `funding_use_predicted` (the rate as a decimal per funding period).
    rate > +funding_max_abs: longs pay and are crowded: disagrees with a long, agrees with a
    short. rate < -funding_max_abs: the mirror. Otherwise neutral. Missing: no row, NaN, or
    older than max_data_age_h.

crowding (per instrument)
    Data: the latest `LongShortRatio` row at or before the check (long / short accounts).
    ratio > crowding_max_ratio: disagrees with a long, agrees with a short; ratio <
    1 / crowding_max_ratio: the mirror; between: neutral. Missing: as funding.

wick_alignment (per instrument)
    Data: level events (`on_level_event`): an untouched wick is live from CREATED until
    TOUCHED / INVALIDATED / EXPIRED. For a long, a timeframe of `wick_alignment_timeframes`
    supports the entry when it has a live support wick at or below the entry price within
    wick_alignment_max_distance_bps ((price - wick) / price x 1e4); for a short, a live
    resistance wick at or above it within the distance. At least wick_alignment_min supporting
    timeframes: agrees, fewer: disagrees (no neutral). Missing: no level event for the
    instrument yet.

orderflow (per instrument; `orderflow_conditions.py`)
    CVD aligned or diverging, OBI toward the entry, absorption at the touched level, a whale trade nearby: read
    from the strategy's own trades and book at the entry; each refuses on its own (not counted in min_agree).

swarm (per instrument; `swarm_conditions.py`)
    at least N bots vote the entry's side, a consensus score toward it, not in a blocked regime: read from the
    SwarmActor's SwarmSignal of the entry's candle; each refuses on its own (not counted in min_agree).

Per-instrument data is keyed by the object's `instrument_id` (string form, as `check` takes it).
Time windows are deques trimmed as data arrives and at each check, so check times are expected
not to go backwards. `StablecoinSupply` and `Liquidation` rows are not used (yet) and ignored.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from nautilus_trader.model.data import Bar

from ravebear.catalog.alt_data.types import Dominance, FundingRate, LongShortRatio, OpenInterest, WhaleTransaction
from ravebear.strategies.levels.model import EventKind, LevelEvent, LevelKind, LevelSide
from ravebear.strategies.orderflow_conditions import OrderFlowConditionsConfig
from ravebear.strategies.swarm_conditions import SwarmConditionsConfig
from ravebear.time_units import NS_PER_HOUR

CONDITIONS: tuple[str, ...] = ("usdt_dominance", "whale_flow", "oi_change", "funding", "crowding", "wick_alignment")
MISSING_DATA_POLICIES: tuple[str, ...] = ("pass", "block")
SIDES: tuple[str, ...] = ("long", "short")
# the `ravebear.catalog.alt_data.types` classes each condition reads (wick_alignment reads level events)
CONDITION_DATA_TYPES: dict[str, tuple[str, ...]] = {
    "usdt_dominance": ("Dominance",),
    "whale_flow": ("WhaleTransaction",),
    "oi_change": ("OpenInterest",),
    "funding": ("FundingRate",),
    "crowding": ("LongShortRatio",),
    "wick_alignment": (),
}

_AGREE, _DISAGREE, _MISSING = 1, -1, 0
_ENDING = (EventKind.TOUCHED, EventKind.INVALIDATED, EventKind.EXPIRED)


class EntryFilterConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which conditions are ON, how many must agree, and each condition's thresholds (units in the comments)."""

    conditions: tuple[str, ...] = ()  # ON conditions, any of CONDITIONS; empty = the filter allows everything
    min_agree: int = 0  # at least this many ON conditions must agree (0 = all ON conditions)
    missing_data: str = "pass"  # a condition without data counts as agreeing ("pass") or disagreeing ("block")
    max_data_age_h: float = 24.0  # hours; whale, funding and long/short data older than this is missing (0 = no limit)
    dominance_lookback_h: float = 24.0  # hours; USDT dominance change over this window
    dominance_min_change_pct: float = 0.05  # percentage points; a smaller |change| is flat (agrees with both sides)
    dominance_source: str = ""  # only Dominance rows of this source (e.g. coingecko); "" = any source
    whale_window_h: float = 6.0  # hours; net exchange flow of whale transfers in this window
    whale_min_net_usd: float = 5_000_000.0  # USD; a smaller |net inflow| is neutral
    whale_stablecoins: tuple[str, ...] = ("usdt", "usdc", "busd", "dai", "fdusd", "tusd", "usde", "pyusd")  # lower case; flows count reversed
    oi_lookback_h: float = 4.0  # hours; open-interest and price change window
    oi_max_change_pct: float = 5.0  # percent; OI rising more than this in the window is a surge (see the module doc)
    oi_usd: bool = False  # compare OI rows in USD notional (True) or base units (False); the other kind is ignored
    funding_max_abs: float = 0.0005  # decimal per funding period (0.0005 = 0.05 %); beyond it the paying side is crowded
    funding_use_predicted: bool = False  # True: the predicted next-period rate instead of the last settled one
    crowding_max_ratio: float = 2.5  # long/short account ratio above this blocks longs; below 1/this blocks shorts
    wick_alignment_timeframes: tuple[str, ...] = ("1h", "15m", "5m")  # timeframes whose untouched wicks count
    wick_alignment_min: int = 2  # supporting timeframes needed
    wick_alignment_max_distance_bps: float = 100.0  # bps of the entry price; farther wicks do not support it
    orderflow: OrderFlowConditionsConfig = msgspec.field(default_factory=OrderFlowConditionsConfig)  # e.g. {cvd: aligned, obi_min: 0.2}
    swarm: SwarmConditionsConfig = msgspec.field(default_factory=SwarmConditionsConfig)  # e.g. {min_agree: 5, block_regimes: [volatile]}

    def __post_init__(self) -> None:
        unknown = [name for name in self.conditions if name not in CONDITIONS]
        if unknown:
            raise ValueError(f"entry_filter.conditions: unknown {', '.join(map(repr, unknown))}; known: {', '.join(CONDITIONS)}")
        if len(set(self.conditions)) != len(self.conditions):
            raise ValueError("entry_filter.conditions: a condition is listed twice")
        if not 0 <= self.min_agree <= len(self.conditions):
            raise ValueError(f"entry_filter.min_agree must be in [0, {len(self.conditions)}] (the number of ON conditions), got {self.min_agree}")
        if self.missing_data not in MISSING_DATA_POLICIES:
            raise ValueError(f"entry_filter.missing_data must be one of {', '.join(MISSING_DATA_POLICIES)}, got {self.missing_data!r}")
        for name in ("dominance_lookback_h", "whale_window_h", "oi_lookback_h"):
            if getattr(self, name) <= 0:
                raise ValueError(f"entry_filter.{name} must be > 0 hours, got {getattr(self, name)}")
        for name in ("max_data_age_h", "dominance_min_change_pct", "whale_min_net_usd", "oi_max_change_pct", "funding_max_abs",
                     "wick_alignment_max_distance_bps"):  # fmt: skip
            if getattr(self, name) < 0:
                raise ValueError(f"entry_filter.{name} must be >= 0, got {getattr(self, name)}")
        if self.crowding_max_ratio < 1:
            raise ValueError(f"entry_filter.crowding_max_ratio must be >= 1, got {self.crowding_max_ratio}")
        if "wick_alignment" in self.conditions and not 1 <= self.wick_alignment_min <= len(self.wick_alignment_timeframes):
            raise ValueError(
                f"entry_filter.wick_alignment_min must be in [1, {len(self.wick_alignment_timeframes)}] "
                f"(the number of wick_alignment_timeframes), got {self.wick_alignment_min}",
            )

    def required_data_types(self) -> tuple[str, ...]:
        """Names of the `ravebear.catalog.alt_data.types` classes the ON conditions read, sorted (a live source must serve each)."""
        return tuple(sorted({name for condition in self.conditions for name in CONDITION_DATA_TYPES[condition]}))


@dataclass(frozen=True)
class FilterVerdict:
    """The filter's answer for one entry: allowed or not, which ON conditions agreed, and why in one sentence."""

    allowed: bool
    agree: tuple[str, ...]  # agreeing conditions (neutral readings included)
    disagree: tuple[str, ...]
    missing: tuple[str, ...]  # conditions without usable data
    detail: str  # e.g. "blocked long (1/3 agree, need 3): funding +0.0712 % > 0.0500 %; whale net inflow 12.3M USD in 6 h"


def _trim(points: deque[tuple[int, float]], cutoff: int) -> None:
    while len(points) > 1 and points[1][0] <= cutoff:
        points.popleft()


def _window(points: deque[tuple[int, float]] | None, cutoff: int) -> tuple[float, float] | None:
    """Return (value at the window start, latest value) of a trimmed deque, or None without both."""
    if not points:
        return None
    _trim(points, cutoff)
    first_ts, first = points[0]
    last_ts, last = points[-1]
    if first_ts > cutoff or last_ts <= cutoff:
        return None
    return first, last


def _usd(value: float) -> str:
    size = abs(value)
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= scale:
            return f"{size / scale:.1f}{suffix} USD"
    return f"{size:.0f} USD"


def _hours(value: float) -> str:
    return f"{value:g} h"


class EntryFilter:
    """Confluence filter fed one event at a time; `check` answers whether an entry is allowed."""

    def __init__(self, config: EntryFilterConfig) -> None:
        self.config = config
        on = set(config.conditions)
        self._dominance_window = int(config.dominance_lookback_h * NS_PER_HOUR)
        self._whale_window = int(config.whale_window_h * NS_PER_HOUR)
        self._oi_window = int(config.oi_lookback_h * NS_PER_HOUR)
        self._max_age = int(config.max_data_age_h * NS_PER_HOUR) if config.max_data_age_h > 0 else 0
        self._stablecoins = frozenset(symbol.lower() for symbol in config.whale_stablecoins)
        self._wick_timeframes = frozenset(config.wick_alignment_timeframes) if "wick_alignment" in on else frozenset()

        self._dominance: deque[tuple[int, float]] = deque()
        self._whale_flows: deque[tuple[int, float]] = deque()  # (ts, signed USD: + sell pressure)
        self._whale_net = 0.0
        self._whale_last_ts: int | None = None
        self._open_interest: dict[str, deque[tuple[int, float]]] = {}
        self._prices: dict[str, deque[tuple[int, float]]] = {}
        self._funding: dict[str, tuple[int, float]] = {}
        self._ratio: dict[str, tuple[int, float]] = {}
        # instrument -> timeframe -> side -> {(created_ts, low, high): wick price}
        self._wicks: dict[str, dict[str, dict[LevelSide, dict[tuple[int, float, float], float]]]] = {}

        handlers: dict[type, Callable[[Any], None]] = {}
        if "usdt_dominance" in on:
            handlers[Dominance] = self._on_dominance
        if "whale_flow" in on:
            handlers[WhaleTransaction] = self._on_whale
        if "oi_change" in on:
            handlers[OpenInterest] = self._on_open_interest
            handlers[Bar] = self._on_bar
        if "funding" in on:
            handlers[FundingRate] = self._on_funding
        if "crowding" in on:
            handlers[LongShortRatio] = self._on_ratio
        self._handlers = handlers
        self._evaluators: list[tuple[str, Callable[[int, str, int, float], tuple[int, str]]]] = [
            (name, getattr(self, f"_eval_{name}")) for name in config.conditions
        ]
        self._required = config.min_agree or len(config.conditions)
        self._missing_agrees = config.missing_data == "pass"

    # -- feeding -------------------------------------------------------------------------

    def on_data(self, obj: Any) -> None:
        """Take any data object: alternative data and bars feed the ON conditions, anything else is ignored."""
        handler = self._handlers.get(type(obj))
        if handler is not None:
            handler(obj)
        elif type(obj).__name__ == "CustomData":  # a catalog/backtest wrapper around one of ours
            self.on_data(obj.data)

    def on_price(self, instrument_id: str, ts: int, price: float) -> None:
        """Record an instrument's price (a bar close) at ts (ns), for the oi_change condition."""
        if "oi_change" not in self.config.conditions:
            return
        points = self._prices.get(instrument_id)
        if points is None:
            points = self._prices[instrument_id] = deque()
        points.append((ts, price))
        _trim(points, ts - self._oi_window)

    def on_level_event(self, instrument_id: str, event: LevelEvent) -> None:
        """Keep the live untouched wicks of an instrument per timeframe (created -> live; touched/invalidated/expired -> gone)."""
        books = self._wicks.get(instrument_id)
        if books is None:
            books = self._wicks[instrument_id] = {}
        level = event.level
        if level.kind is not LevelKind.WICK or level.timeframe not in self._wick_timeframes:
            return
        sides = books.get(level.timeframe)
        if sides is None:
            sides = books[level.timeframe] = {LevelSide.SUPPORT: {}, LevelSide.RESISTANCE: {}}
        live = sides.get(level.side)
        if live is None:
            return
        key = (level.created_ts, level.low, level.high)
        if event.kind is EventKind.CREATED:
            live[key] = (level.low + level.high) * 0.5
        elif event.kind in _ENDING:
            live.pop(key, None)

    def _on_dominance(self, row: Dominance) -> None:
        if row.asset != "USDT" or (self.config.dominance_source and row.source != self.config.dominance_source):
            return
        if math.isnan(row.percent):
            return
        self._dominance.append((row.ts_event, row.percent))
        _trim(self._dominance, row.ts_event - self._dominance_window)

    def _on_whale(self, row: WhaleTransaction) -> None:
        ts = row.ts_event
        if self._whale_last_ts is None or ts > self._whale_last_ts:
            self._whale_last_ts = ts
        flow = row.flow
        if flow == "exchange_inflow":
            signed = row.amount_usd
        elif flow == "exchange_outflow":
            signed = -row.amount_usd
        else:
            return
        if math.isnan(signed):
            return
        if row.symbol.lower() in self._stablecoins:
            signed = -signed
        self._whale_flows.append((ts, signed))
        self._whale_net += signed
        self._expire_whales(ts - self._whale_window)

    def _expire_whales(self, cutoff: int) -> None:
        flows = self._whale_flows
        while flows and flows[0][0] <= cutoff:
            self._whale_net -= flows.popleft()[1]
        if not flows:
            self._whale_net = 0.0  # no float residue once the window is empty

    def _on_open_interest(self, row: OpenInterest) -> None:
        if row.usd != self.config.oi_usd or math.isnan(row.close):
            return
        instrument_id = row.instrument_id.value
        points = self._open_interest.get(instrument_id)
        if points is None:
            points = self._open_interest[instrument_id] = deque()
        points.append((row.ts_event, row.close))
        _trim(points, row.ts_event - self._oi_window)

    def _on_bar(self, bar: Bar) -> None:
        self.on_price(bar.bar_type.instrument_id.value, bar.ts_event, bar.close.as_double())

    def _on_funding(self, row: FundingRate) -> None:
        if row.predicted == self.config.funding_use_predicted:
            self._funding[row.instrument_id.value] = (row.ts_event, row.close)

    def _on_ratio(self, row: LongShortRatio) -> None:
        self._ratio[row.instrument_id.value] = (row.ts_event, row.ratio)

    # -- the state itself (the ledger records it at each level touch) ----------------------

    def market_state(self, ts: int, instrument_id: str) -> dict[str, float | None]:
        """The figures the data conditions read at ts, None where no data is held (or the condition is off):
        USDT dominance and its change over dominance_lookback_h (pp), whale net flow over whale_window_h (USD,
        + toward exchanges, stablecoins flipped), open interest and its change over oi_lookback_h (%),
        funding (a fraction per period) and the long/short ratio. Stale data (max_data_age_h) reads as None."""
        dominance = _window(self._dominance, ts - self._dominance_window)
        latest_dominance = self._dominance[-1][1] if self._dominance and self._fresh(ts, self._dominance[-1][0]) else None
        whale = None
        if self._whale_last_ts is not None and self._fresh(ts, self._whale_last_ts):
            self._expire_whales(ts - self._whale_window)
            whale = self._whale_net
        points = self._open_interest.get(instrument_id)
        oi = _window(points, ts - self._oi_window)
        funding = self._funding.get(instrument_id)
        ratio = self._ratio.get(instrument_id)
        return {
            "usdt_dominance_pct": latest_dominance,
            "usdt_dominance_change_pp": dominance[1] - dominance[0] if dominance else None,
            "whale_flow_usd": whale,
            "open_interest": points[-1][1] if points and self._fresh(ts, points[-1][0]) else None,
            "open_interest_change_pct": (oi[1] / oi[0] - 1.0) * 100.0 if oi and oi[0] > 0 else None,
            "funding_rate": funding[1] if funding and funding[0] <= ts and self._fresh(ts, funding[0]) else None,
            "long_short_ratio": ratio[1] if ratio and ratio[0] <= ts and self._fresh(ts, ratio[0]) else None,
        }

    # -- checking ------------------------------------------------------------------------

    def check(self, ts: int, instrument_id: str, side: str, price: float) -> FilterVerdict:
        """Return whether a `side` ("long" | "short") entry on `instrument_id` at `price` is allowed at ts (ns)."""
        if side not in SIDES:
            raise ValueError(f"side must be 'long' or 'short', got {side!r}")
        if not self._evaluators:
            return FilterVerdict(True, (), (), (), "no conditions")
        direction = 1 if side == "long" else -1
        agree: list[str] = []
        disagree: list[str] = []
        missing: list[str] = []
        texts: dict[str, str] = {}
        for name, evaluate in self._evaluators:
            state, text = evaluate(ts, instrument_id, direction, price)
            texts[name] = text
            (agree if state == _AGREE else disagree if state == _DISAGREE else missing).append(name)
        count = len(agree) + (len(missing) if self._missing_agrees else 0)
        allowed = count >= self._required
        if allowed:
            shown = [texts[name] for name, _ in self._evaluators]
        else:
            shown = [texts[name] for name in disagree] + ([] if self._missing_agrees else [texts[name] for name in missing])
        need = f"need {self._required}" if self.config.min_agree else "need all"
        head = f"{'allowed' if allowed else 'blocked'} {side} ({count}/{len(self._evaluators)} agree, {need})"
        return FilterVerdict(allowed, tuple(agree), tuple(disagree), tuple(missing), f"{head}: {'; '.join(shown)}")

    def _fresh(self, ts: int, data_ts: int) -> bool:
        return not self._max_age or ts - data_ts <= self._max_age

    def _eval_usdt_dominance(self, ts: int, instrument_id: str, direction: int, price: float) -> tuple[int, str]:
        config = self.config
        span = _hours(config.dominance_lookback_h)
        window = _window(self._dominance, ts - self._dominance_window)
        if window is None:
            return _MISSING, f"USDT dominance: no data over {span}"
        change = window[1] - window[0]
        if abs(change) < config.dominance_min_change_pct:
            return _AGREE, f"USDT dominance flat {change:+.3f} pp in {span} (< {config.dominance_min_change_pct:g} pp)"
        text = f"USDT dominance {'rising' if change > 0 else 'falling'} {change:+.3f} pp in {span}"
        return (_AGREE if change * direction < 0 else _DISAGREE), text

    def _eval_whale_flow(self, ts: int, instrument_id: str, direction: int, price: float) -> tuple[int, str]:
        config = self.config
        span = _hours(config.whale_window_h)
        if self._whale_last_ts is None or not self._fresh(ts, self._whale_last_ts):
            since = "yet" if self._whale_last_ts is None else f"in {_hours(config.max_data_age_h)}"
            return _MISSING, f"whale flow: no whale transactions {since}"
        self._expire_whales(ts - self._whale_window)
        net = self._whale_net
        if abs(net) < config.whale_min_net_usd:
            return _AGREE, f"whale net flow {'+' if net >= 0 else '-'}{_usd(net)} in {span} (neutral below {_usd(config.whale_min_net_usd)})"
        text = f"whale net {'inflow' if net > 0 else 'outflow'} {_usd(net)} in {span}"
        return (_AGREE if net * direction < 0 else _DISAGREE), text

    def _eval_oi_change(self, ts: int, instrument_id: str, direction: int, price: float) -> tuple[int, str]:
        config = self.config
        span = _hours(config.oi_lookback_h)
        cutoff = ts - self._oi_window
        window = _window(self._open_interest.get(instrument_id), cutoff)
        if window is None or window[0] <= 0:
            return _MISSING, f"OI: no data over {span}"
        prices = self._prices.get(instrument_id)
        if prices:
            _trim(prices, cutoff)
        if not prices or prices[0][0] > cutoff:
            return _MISSING, f"OI: no price {span} back"
        oi_change = (window[1] / window[0] - 1.0) * 100.0
        price_change = (price / prices[0][1] - 1.0) * 100.0
        text = f"OI {oi_change:+.2f} % in {span} with price {price_change:+.2f} % (surge above {config.oi_max_change_pct:g} %)"
        if oi_change <= config.oi_max_change_pct or price_change == 0:
            return _AGREE, text
        return (_AGREE if price_change * direction > 0 else _DISAGREE), text

    def _eval_funding(self, ts: int, instrument_id: str, direction: int, price: float) -> tuple[int, str]:
        limit = self.config.funding_max_abs
        latest = self._funding.get(instrument_id)
        if latest is None or latest[0] > ts or math.isnan(latest[1]) or not self._fresh(ts, latest[0]):
            return _MISSING, f"funding: no rate for {instrument_id}"
        rate = latest[1]
        if abs(rate) <= limit:
            return _AGREE, f"funding {rate * 100:+.4f} % within ±{limit * 100:.4f} %"
        text = f"funding {rate * 100:+.4f} % {'>' if rate > 0 else '<'} {'+' if rate > 0 else '-'}{limit * 100:.4f} %"
        return (_AGREE if rate * direction < 0 else _DISAGREE), text

    def _eval_crowding(self, ts: int, instrument_id: str, direction: int, price: float) -> tuple[int, str]:
        limit = self.config.crowding_max_ratio
        latest = self._ratio.get(instrument_id)
        if latest is None or latest[0] > ts or not latest[1] > 0 or not self._fresh(ts, latest[0]):
            return _MISSING, f"long/short ratio: no data for {instrument_id}"
        ratio = latest[1]
        if ratio > limit:
            return (_DISAGREE if direction > 0 else _AGREE), f"long/short {ratio:.2f} > {limit:.2f}"
        if ratio < 1.0 / limit:
            return (_AGREE if direction > 0 else _DISAGREE), f"long/short {ratio:.2f} < {1.0 / limit:.2f}"
        return _AGREE, f"long/short {ratio:.2f} within [{1.0 / limit:.2f}, {limit:.2f}]"

    def _eval_wick_alignment(self, ts: int, instrument_id: str, direction: int, price: float) -> tuple[int, str]:
        config = self.config
        books = self._wicks.get(instrument_id)
        if books is None:
            return _MISSING, f"wicks: no level events for {instrument_id}"
        side = LevelSide.SUPPORT if direction > 0 else LevelSide.RESISTANCE
        reach = config.wick_alignment_max_distance_bps
        supporting: list[str] = []
        for timeframe in config.wick_alignment_timeframes:
            live = books.get(timeframe, {}).get(side)
            if live and any(0.0 <= (price - wick) * direction / price * 1e4 <= reach for wick in live.values()):
                supporting.append(timeframe)
        need = config.wick_alignment_min
        names = f" ({', '.join(supporting)})" if supporting else ""
        text = (
            f"untouched {side.value} wicks within {config.wick_alignment_max_distance_bps:g} bps on "
            f"{len(supporting)}/{len(config.wick_alignment_timeframes)} timeframes{names}, need {need}"
        )
        return (_AGREE if len(supporting) >= need else _DISAGREE), text
