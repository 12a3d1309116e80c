"""The operational view of a running node: positions, working orders, account, guards, levels.

`snapshot` reads the nautilus cache and portfolio and the attached RaveBear strategies into plain
values; `render` turns a snapshot into a rich renderable. Both are pure, so tests call them
directly. `DashboardActor` is the thin shell that a node runs: a timer on the node's clock
rebuilds the snapshot and redraws one `rich.live.Live` in place (a terminal sees one table
rewritten each refresh, not a log flood). On a console that is not a terminal, rich draws only
the final frame when the actor stops.

An actor has no handle on the trader: the node builder calls `attach(node.trader.strategies)`
after `node.build()`; without it the guard and level panels say "no strategies attached".
nautilus logs to the process's stdout on its own, past rich: a node showing the dashboard should
log to a file (`LoggingConfig(log_level="ERROR", log_level_file="INFO", ...)`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.segment import Segment
from rich.style import Style

from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig
from nautilus_trader.model.enums import PriceType
from nautilus_trader.model.identifiers import Venue

from ravebear.strategies.levels.model import LevelSide
from ravebear.time_units import NS_PER_SECOND

NO_STRATEGIES = "no strategies attached"
TIMER_NAME = "dashboard_refresh"


class DashboardConfig(ActorConfig, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How often and how much the dashboard shows."""

    refresh_secs: float = 1.0  # seconds between redraws, on the node's clock
    instrument_ids: tuple[str, ...] = ()  # instruments shown; empty: every instrument
    max_orders: int = 20  # working orders listed; the rest are counted
    levels_per_side: int = 2  # nearest supports and resistances listed per instrument

    def __post_init__(self) -> None:
        if not self.refresh_secs > 0:  # also NaN
            raise ValueError(f"dashboard refresh_secs must be > 0, got {self.refresh_secs}")
        for name in ("max_orders", "levels_per_side"):
            if getattr(self, name) < 0:
                raise ValueError(f"dashboard {name} must be >= 0, got {getattr(self, name)}")


# -- the snapshot: plain values --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PositionRow:
    """One open position."""

    instrument_id: str
    strategy_id: str
    side: str  # LONG or SHORT
    quantity: Decimal
    avg_px_open: float
    last_price: Decimal | None
    unrealized_pnl: Decimal | None  # at last_price, settlement currency
    realized_pnl: Decimal  # so far on this position (fees, partial exits)
    currency: str
    price_precision: int
    ts_opened: int


@dataclass(frozen=True, slots=True)
class OrderRow:
    """One working order."""

    instrument_id: str
    client_order_id: str
    order_type: str
    side: str
    quantity: Decimal  # still to fill
    trigger_price: Decimal | None
    price: Decimal | None
    activation_price: Decimal | None  # trailing stops: where the trail arms
    trailing_offset: str | None  # "60 bps" or a price distance
    status: str
    reduce_only: bool
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AccountRow:
    """One currency of one venue account."""

    venue: str
    currency: str
    balance: Decimal
    free: Decimal
    locked: Decimal  # margin in use
    unrealized_pnl: Decimal  # open positions at their last price
    equity: Decimal  # balance + unrealized_pnl
    realized_pnl: Decimal  # nautilus's realized PnL of the venue's positions (fees included)
    today_pnl: Decimal | None  # equity minus the guards' first equity of the UTC day; None without strategies


@dataclass(frozen=True, slots=True)
class GuardRow:
    """The guard state of one strategy."""

    strategy_id: str
    instrument_id: str
    halted: bool  # kill switch tripped
    daily_loss_blocked: bool
    detail: str  # why it is halted or blocked, else ""
    last_event: str  # the latest guard event, else ""
    events: int


@dataclass(frozen=True, slots=True)
class LevelRow:
    """A live level near price."""

    kind: str
    side: str  # support (below price) or resistance (above)
    timeframe: str
    low: float
    high: float
    distance_bps: float  # from price to the level's near edge
    score: float  # quality x freshness now, as the level's detector scores it


@dataclass(frozen=True, slots=True)
class InstrumentLevels:
    """The level and pressure state of one strategy's instrument."""

    instrument_id: str
    strategy_id: str
    price: float
    price_precision: int
    supports: tuple[LevelRow, ...]  # nearest first
    resistances: tuple[LevelRow, ...]  # nearest first
    active_levels: int
    imbalance: float  # PressureMap.imbalance: +1 all support below, -1 all resistance above
    support_weight: float
    resistance_weight: float


@dataclass(frozen=True, slots=True)
class DashboardSnapshot:
    """Everything the dashboard shows at one moment."""

    ts: int
    positions: tuple[PositionRow, ...]
    orders: tuple[OrderRow, ...]
    orders_hidden: int  # working orders beyond max_orders
    accounts: tuple[AccountRow, ...]
    guards: tuple[GuardRow, ...]
    levels: tuple[InstrumentLevels, ...]
    strategies_attached: bool


def snapshot(
    cache: Any,
    portfolio: Any,
    strategies: Iterable[Any],
    now_ns: int,
    *,
    instrument_ids: Sequence[str] = (),
    max_orders: int = 20,
    levels_per_side: int = 2,
) -> DashboardSnapshot:
    """Read the cache, the portfolio and the level strategies into a snapshot of plain values.

    Strategies without a status, a level engine and guards (not `LevelStrategy`) are ignored.
    """
    wanted = frozenset(instrument_ids)
    level_strategies = [s for s in strategies if hasattr(s, "status") and hasattr(s, "engine") and hasattr(s, "guards")]
    shown = [s for s in level_strategies if not wanted or s.status.instrument_id in wanted]
    prices: dict[Any, Any] = {}

    def last_price(instrument_id: Any) -> Any:
        if instrument_id not in prices:
            prices[instrument_id] = cache.price(instrument_id, PriceType.LAST) or cache.price(instrument_id, PriceType.MID)
        return prices[instrument_id]

    positions = []
    unrealized: dict[tuple[str, str], Decimal] = {}
    for position in cache.positions_open():
        price = last_price(position.instrument_id)
        pnl = position.unrealized_pnl(price) if price is not None else None
        currency = position.settlement_currency.code
        if pnl is not None:
            key = (position.instrument_id.venue.value, currency)
            unrealized[key] = unrealized.get(key, Decimal(0)) + pnl.as_decimal()
        if wanted and position.instrument_id.value not in wanted:
            continue
        positions.append(
            PositionRow(
                instrument_id=position.instrument_id.value,
                strategy_id=position.strategy_id.value,
                side=position.side.name,
                quantity=position.quantity.as_decimal(),
                avg_px_open=position.avg_px_open,
                last_price=price.as_decimal() if price is not None else None,
                unrealized_pnl=pnl.as_decimal() if pnl is not None else None,
                realized_pnl=position.realized_pnl.as_decimal() if position.realized_pnl is not None else Decimal(0),
                currency=currency,
                price_precision=position.price_precision,
                ts_opened=position.ts_opened,
            ),
        )
    positions.sort(key=lambda row: (row.instrument_id, row.strategy_id))

    working = {}
    for order in (*cache.orders_open(), *cache.orders_emulated(), *cache.orders_inflight()):
        if not wanted or order.instrument_id.value in wanted:
            working[order.client_order_id] = order
    ordered = sorted(working.values(), key=lambda order: (order.instrument_id.value, order.ts_init, order.client_order_id.value))
    orders = tuple(_order_row(order) for order in ordered[:max_orders])

    day_start = _day_start_equities(level_strategies, now_ns)
    accounts = []
    for account in sorted(cache.accounts(), key=lambda account: account.id.value):
        venue = account.id.get_issuer()
        realized = portfolio.realized_pnls(Venue(venue)) or {}
        for currency, balance in sorted(account.balances().items(), key=lambda item: item[0].code):
            total = balance.total.as_decimal()
            open_pnl = unrealized.get((venue, currency.code), Decimal(0))
            equity = total + open_pnl
            start = day_start.get((venue, currency.code))
            money = realized.get(currency)
            accounts.append(
                AccountRow(
                    venue=venue,
                    currency=currency.code,
                    balance=total,
                    free=balance.free.as_decimal(),
                    locked=balance.locked.as_decimal(),
                    unrealized_pnl=open_pnl,
                    equity=equity,
                    realized_pnl=money.as_decimal() if money is not None else Decimal(0),
                    today_pnl=equity - start if start is not None else None,
                ),
            )

    guards = tuple(_guard_row(strategy) for strategy in shown)
    levels = tuple(_instrument_levels(strategy, last_price(strategy.config.instrument_id), levels_per_side) for strategy in shown)
    return DashboardSnapshot(
        ts=now_ns,
        positions=tuple(positions),
        orders=orders,
        orders_hidden=len(ordered) - len(orders),
        accounts=tuple(accounts),
        guards=guards,
        levels=levels,
        strategies_attached=bool(level_strategies),
    )


def _order_row(order: Any) -> OrderRow:
    trigger = getattr(order, "trigger_price", None)
    price = getattr(order, "price", None)
    activation = getattr(order, "activation_price", None)
    offset = getattr(order, "trailing_offset", None)
    trailing = None
    if offset is not None:
        unit = " bps" if order.trailing_offset_type.name == "BASIS_POINTS" else ""
        trailing = f"{offset.normalize():f}{unit}"
    return OrderRow(
        instrument_id=order.instrument_id.value,
        client_order_id=order.client_order_id.value,
        order_type=order.order_type.name,
        side=order.side.name,
        quantity=order.leaves_qty.as_decimal(),
        trigger_price=trigger.as_decimal() if trigger is not None else None,
        price=price.as_decimal() if price is not None else None,
        activation_price=activation.as_decimal() if activation is not None else None,
        trailing_offset=trailing,
        status=order.status.name,
        reduce_only=order.is_reduce_only,
        tags=tuple(order.tags or ()),
    )


def _day_start_equities(strategies: Sequence[Any], now_ns: int) -> dict[tuple[str, str], Decimal]:
    # The first equity the guards saw this UTC day, per (venue, settlement currency): what their
    # daily loss limit measures from (account-wide, fed every base candle).
    out: dict[tuple[str, str], float] = {}
    for strategy in strategies:
        currency = strategy.status.settlement_currency
        start = strategy.guards.day_start_equity(now_ns)
        if currency is None or start is None:
            continue
        out.setdefault((strategy.config.instrument_id.venue.value, currency), start)
    return {key: Decimal(repr(value)) for key, value in out.items()}


def _guard_row(strategy: Any) -> GuardRow:
    guards, status = strategy.guards, strategy.status
    detail = ""
    reasons = []
    if guards.halted:
        reasons.append(("kill_switch", "halted"))
    if guards.daily_loss_blocked:
        reasons.append(("daily_loss", "blocked"))
    for guard, action in reasons:
        event = next((e for e in reversed(guards.events) if e.guard == guard and e.action == action), None)
        if event is not None:
            detail = f"{detail}; {event.detail}" if detail else event.detail
    blocked = guards.entries_blocked  # e.g. a stalled feed (feed_stalled)
    if blocked:
        detail = f"{detail}; {blocked}" if detail else blocked
    last = guards.events[-1] if guards.events else None
    last_text = f"{_clock(last.ts)} {last.guard} {last.action}: {last.detail}" if last is not None else ""
    return GuardRow(
        strategy_id=status.strategy_id,
        instrument_id=status.instrument_id,
        halted=guards.halted,
        daily_loss_blocked=guards.daily_loss_blocked,
        detail=detail,
        last_event=last_text,
        events=len(guards.events),
    )


def _instrument_levels(strategy: Any, last: Any, per_side: int) -> InstrumentLevels:
    engine = strategy.engine
    price = last.as_double() if last is not None else engine.last_close
    supports: list[LevelRow] = []
    resistances: list[LevelRow] = []
    active = engine.scored_levels()
    for scored in active:
        level = scored.level
        if level.side is LevelSide.RESISTANCE or (level.side is LevelSide.RANGE and level.low > price):
            side, distance, rows = "resistance", (level.low - price) / price * 1e4, resistances
        elif level.side is LevelSide.SUPPORT or (level.side is LevelSide.RANGE and level.high < price):
            side, distance, rows = "support", (price - level.high) / price * 1e4, supports
        else:
            continue  # price is inside a box
        if distance < 0:
            continue  # being traded through
        rows.append(LevelRow(level.kind.value, side, level.timeframe, level.low, level.high, distance, scored.score))
    supports.sort(key=lambda row: row.distance_bps)
    resistances.sort(key=lambda row: row.distance_bps)
    pressure = engine.pressure(price)
    status = strategy.status
    return InstrumentLevels(
        instrument_id=status.instrument_id,
        strategy_id=status.strategy_id,
        price=price,
        price_precision=status.price_precision if status.price_precision is not None else 2,
        supports=tuple(supports[:per_side]),
        resistances=tuple(resistances[:per_side]),
        active_levels=len(active),
        imbalance=pressure.imbalance,
        support_weight=sum(band.support_weight for band in pressure.bands),
        resistance_weight=sum(band.resistance_weight for band in pressure.bands),
    )


# -- rendering -------------------------------------------------------------------------------

Cell = str | tuple[str, Style | None]
BOLD, DIM, GREEN, RED, ALERT = Style(bold=True), Style(dim=True), Style(color="green"), Style(color="red"), Style(color="red", bold=True)
_GAP = "   "


class DashboardView:
    """The rendered dashboard: lines of (text, style) pieces, drawn as rich segments.

    Built by hand rather than with `rich.table.Table`, which costs ~5 ms per small table on a
    2-core machine; this draws a 60-line dashboard in ~1-2 ms. Lines wider than the console are
    cropped, never wrapped, so the live display keeps its height.
    """

    def __init__(self, lines: list[list[tuple[str, Style | None]]]) -> None:
        self.lines = lines

    @property
    def plain(self) -> str:
        """Return the dashboard as plain text."""
        return "\n".join("".join(text for text, _ in line) for line in self.lines)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        newline = Segment.line()
        for line in self.lines:
            used = 0
            for text, style in line:
                if used + len(text) > width:
                    text = text[: width - used]
                if text:
                    yield Segment(text, style)
                    used += len(text)
                if used >= width:
                    break
            yield newline


def render(snap: DashboardSnapshot) -> DashboardView:
    """Return the dashboard for a snapshot as a rich renderable."""
    lines: list[list[tuple[str, Style | None]]] = [[(f"RaveBear  {_utc(snap.ts)}", BOLD)]]
    lines += _accounts(snap)
    lines += _positions(snap)
    lines += _orders(snap)
    if snap.strategies_attached:
        lines += _guards(snap)
        lines += _levels(snap)
    else:
        lines += [[], [(f"Guards: {NO_STRATEGIES}", DIM)], [], [(f"Levels: {NO_STRATEGIES}", DIM)]]
    return DashboardView(lines)


def _grid(title: str, headers: Sequence[str], rows: Sequence[Sequence[Cell]], align: str, caption: str = "") -> list[list[tuple[str, Style | None]]]:
    # `align`: "l" or "r" per column
    cells = [[cell if isinstance(cell, tuple) else (cell, None) for cell in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        for i, (text, _) in enumerate(row):
            if len(text) > widths[i]:
                widths[i] = len(text)

    last = len(widths) - 1

    def pad(i: int, text: str) -> str:
        if align[i] == "r":
            return text.rjust(widths[i])
        return text if i == last else text.ljust(widths[i])

    out: list[list[tuple[str, Style | None]]] = [[], [(title, BOLD)]]
    out.append([(_GAP.join(pad(i, header) for i, header in enumerate(headers)), DIM)])
    out.append([("─" * (sum(widths) + len(_GAP) * (len(widths) - 1)), DIM)])
    for row in cells:
        line: list[tuple[str, Style | None]] = []
        plain = ""  # unstyled cells and gaps run together into one segment
        for i, (text, style) in enumerate(row):
            if i:
                plain += _GAP
            if style is None:
                plain += pad(i, text)
                continue
            if plain:
                line.append((plain, None))
                plain = ""
            line.append((pad(i, text), style))
        if plain.rstrip():
            line.append((plain.rstrip(), None))
        out.append(line)
    if caption:
        out.append([(caption, DIM)])
    return out


def _accounts(snap: DashboardSnapshot) -> list[list[tuple[str, Style | None]]]:
    if not snap.accounts:
        return [[], [("Account: none yet", DIM)]]
    rows = [
        [row.venue, row.currency, _money(row.balance), _money(row.free), _money(row.locked), _money(row.equity),
         _pnl(row.realized_pnl), _pnl(row.unrealized_pnl), _pnl(row.today_pnl)]  # fmt: skip
        for row in snap.accounts
    ]
    return _grid("Account", ("venue", "currency", "balance", "free", "margin", "equity", "realized", "unrealized", "today"), rows, "llrrrrrrr")


def _positions(snap: DashboardSnapshot) -> list[list[tuple[str, Style | None]]]:
    if not snap.positions:
        return [[], [("Positions: flat", DIM)]]
    rows = [
        [row.instrument_id, (row.side, GREEN if row.side == "LONG" else RED), f"{row.quantity:,}", _price(row.avg_px_open, row.price_precision),
         f"{row.last_price:,}" if row.last_price is not None else "-", _pnl(row.unrealized_pnl), _pnl(row.realized_pnl), row.strategy_id]  # fmt: skip
        for row in snap.positions
    ]
    headers = ("instrument", "side", "quantity", "avg entry", "last", "unrealized", "realized", "strategy")
    return _grid("Positions", headers, rows, "llrrrrrl")


def _orders(snap: DashboardSnapshot) -> list[list[tuple[str, Style | None]]]:
    if not snap.orders:
        return [[], [("Working orders: none", DIM)]]
    rows = [
        [row.instrument_id, row.order_type, (row.side, GREEN if row.side == "BUY" else RED), f"{row.quantity:,}", _order_price(row),
         row.status, " ".join(row.tags)]  # fmt: skip
        for row in snap.orders
    ]
    caption = f"... and {snap.orders_hidden} more" if snap.orders_hidden else ""
    headers = ("instrument", "type", "side", "quantity", "trigger / price", "status", "tags")
    return _grid("Working orders", headers, rows, "lllrrll", caption)


def _order_price(row: OrderRow) -> str:
    parts = []
    if row.trigger_price is not None:
        parts.append(f"{row.trigger_price:,}")
    if row.price is not None:
        parts.append(f"limit {row.price:,}")
    if row.trailing_offset is not None:
        trail = f"trail {row.trailing_offset}"
        if row.trigger_price is None and row.activation_price is not None:
            trail += f", arms at {row.activation_price:,}"
        parts.append(trail)
    return " ".join(parts) or "market"


def _guards(snap: DashboardSnapshot) -> list[list[tuple[str, Style | None]]]:
    rows = [
        [row.strategy_id, row.instrument_id, ("HALTED", ALERT) if row.halted else ("ok", GREEN),
         ("BLOCKED", ALERT) if row.daily_loss_blocked else ("ok", GREEN), str(row.events), row.detail or row.last_event or "-"]  # fmt: skip
        for row in snap.guards
    ]
    return _grid("Guards", ("strategy", "instrument", "kill switch", "daily loss", "events", "detail"), rows, "llllrl")


def _levels(snap: DashboardSnapshot) -> list[list[tuple[str, Style | None]]]:
    rows: list[list[Cell]] = []
    for item in snap.levels:
        pressure = f"{item.imbalance:+.2f} (S {item.support_weight:.2f} / R {item.resistance_weight:.2f})"
        price = _price(item.price, item.price_precision)
        levels = [*reversed(item.resistances), *item.supports]  # top to bottom, as on a chart
        if not levels:
            rows.append([item.instrument_id, price, f"no live level near price ({item.active_levels} active)", "", "", "", pressure])
        for i, level in enumerate(levels):
            zone = _price(level.low, item.price_precision)
            if level.high != level.low:
                zone += f"-{_price(level.high, item.price_precision)}"
            name = (f"{level.side} {level.kind} {level.timeframe}", RED if level.side == "resistance" else GREEN)
            first = i == 0
            rows.append([item.instrument_id if first else "", price if first else "", name, zone, f"{level.distance_bps:.1f} bps",
                         f"{level.score:.2f}", pressure if first else ""])  # fmt: skip
    return _grid("Levels and pressure", ("instrument", "price", "level", "zone", "distance", "score", "pressure"), rows, "lrllrrl")


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _pnl(value: Decimal | None) -> Cell:
    if value is None:
        return "-"
    return (f"{value:+,.2f}", GREEN if value > 0 else RED if value < 0 else None)


def _price(value: float, precision: int) -> str:
    return f"{value:,.{precision}f}"


def _utc(ts: int) -> str:
    return datetime.fromtimestamp(ts / NS_PER_SECOND, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _clock(ts: int) -> str:
    return datetime.fromtimestamp(ts / NS_PER_SECOND, tz=UTC).strftime("%H:%M:%S")


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
        if self.console is None:
            self.console = Console()
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
            snap = snapshot(self.cache, self.portfolio, strategies, self.clock.timestamp_ns(), instrument_ids=config.instrument_ids,
                            max_orders=config.max_orders, levels_per_side=config.levels_per_side)  # fmt: skip
            self.live.update(render(snap), refresh=draw)
        except Exception as error:  # the dashboard must not take the node down
            message = f"dashboard refresh failed: {type(error).__name__}: {error}"
            if message != self.last_error:
                self.last_error = message
                self.log.error(message)
            return
        self.last_snapshot = snap
        self.redraws += 1

    def _on_timer(self, event: Any) -> None:
        self.refresh()
