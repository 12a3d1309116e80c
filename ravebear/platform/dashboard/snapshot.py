"""The dashboard's snapshot: the nautilus cache, the portfolio and the strategies' public state as plain values (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from nautilus_trader.model.enums import PriceType
from nautilus_trader.model.identifiers import Venue

from ravebear.strategies.levels.model import LevelSide
from ravebear.time_units import NS_PER_SECOND

NO_STRATEGIES = "no strategies attached"


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
    quantity_unit: str = ""  # "contracts" or the base currency (see quantity_unit)


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
    quantity_unit: str = ""


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
    data_clock: bool = False  # `ts` is the latest bar's time (a replay), 0 before the first bar


def snapshot(
    cache: Any,
    portfolio: Any,
    strategies: Iterable[Any],
    now_ns: int,
    *,
    instrument_ids: Sequence[str] = (),
    max_orders: int = 20,
    levels_per_side: int = 2,
    data_clock: bool = False,
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

    units: dict[Any, str] = {}

    def unit_of(instrument_id: Any) -> str:
        if instrument_id not in units:
            units[instrument_id] = quantity_unit(cache.instrument(instrument_id))
        return units[instrument_id]

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
                quantity_unit=unit_of(position.instrument_id),
            ),
        )
    positions.sort(key=lambda row: (row.instrument_id, row.strategy_id))

    working = {}
    for order in (*cache.orders_open(), *cache.orders_emulated(), *cache.orders_inflight()):
        if not wanted or order.instrument_id.value in wanted:
            working[order.client_order_id] = order
    ordered = sorted(working.values(), key=lambda order: (order.instrument_id.value, order.ts_init, order.client_order_id.value))
    orders = tuple(_order_row(order, unit_of(order.instrument_id)) for order in ordered[:max_orders])

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
        data_clock=data_clock,
    )


def quantity_unit(instrument: Any) -> str:
    """What an instrument's quantities count: `contracts` when one is not one unit of the base currency
    (OKX swaps: ctVal 0.01 BTC), else the base currency (`BTC`); "" when the instrument is unknown."""
    if instrument is None:
        return ""
    base = getattr(instrument, "base_currency", None)
    if instrument.multiplier.as_decimal() != 1 or base is None:
        return "contracts"
    return base.code


def _order_row(order: Any, quantity_unit: str = "") -> OrderRow:
    trigger = getattr(order, "trigger_price", None)
    price = getattr(order, "price", None)
    activation = getattr(order, "activation_price", None)
    offset = getattr(order, "trailing_offset", None)
    trailing = None
    if offset is not None:
        offset_unit = " bps" if order.trailing_offset_type.name == "BASIS_POINTS" else ""
        trailing = f"{offset.normalize():f}{offset_unit}"
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
        quantity_unit=quantity_unit,
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
    last_text = f"{clock_text(last.ts)} {last.guard} {last.action}: {last.detail}" if last is not None else ""
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


def clock_text(ts: int) -> str:
    """HH:MM:SS (UTC) of a nanosecond time."""
    return datetime.fromtimestamp(ts / NS_PER_SECOND, tz=UTC).strftime("%H:%M:%S")
