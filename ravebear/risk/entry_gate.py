"""`EntryGate`: one call from an entry signal to an order plan, or to the refusal that stopped it.

The checks run in a fixed order, first refusal wins: the guards' entry blocks (a stalled feed:
do not trade blind), the entry filter, the stop distance, the position size, then the guards'
entry check (kill switch, daily loss, order notional, open positions, exposures, order rate).
The gate holds no nautilus component: it is given the instrument (for prices, lots and the
multiplier), the account's equity and exposures through `AccountFigures`, and the entry
filter's verdict through `EntryCheck` (the filter reads level events, which live in
`strategies`, a layer `risk` does not import).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from ravebear.risk.exits import ExitPlan, ExitSettings, exit_plan, stop_price
from ravebear.risk.guards import GuardEvent, RiskGuards
from ravebear.risk.sizing import fixed_fractional_contracts
from ravebear.time_units import NS_PER_DAY


class Verdict(Protocol):
    """What the gate reads of an entry filter's answer."""

    allowed: bool
    detail: str


class EntryCheck(Protocol):
    """An entry filter: may a `side` ("long" | "short") entry on `instrument_id` at `price` go at ts (ns)?"""

    def check(self, ts: int, instrument_id: str, side: str, price: float) -> Verdict: ...


class AccountFigures(Protocol):
    """The account figures sizing and the exposure limits need, read when the gate gets that far."""

    def equity(self) -> float: ...

    def exposures(self) -> tuple[int, float, float]:
        """Open positions, this instrument's gross notional, every instrument's gross notional (quote currency)."""
        ...


@dataclass(frozen=True)
class EntryPlan:
    """An approved entry: what to submit (a market entry with its stop and final target) and its exit plan."""

    side: int  # +1 long, -1 short
    quantity: Any  # nautilus Quantity, rounded to the lot
    stop_price: Any  # nautilus Price of the protective stop
    target_price: Any  # nautilus Price of the final take-profit (on the bracket)
    exits: ExitPlan
    risk_quote: float  # loss at the stop, quote currency
    tags: tuple[str, ...]  # the entry order's tags: risk=, stop=, signal=


@dataclass(frozen=True)
class EntryRefusal:
    """Why an entry did not go: the guard (or check) that refused it, a sentence, and the event to publish."""

    guard: str  # a guard name, or entry_filter, stop_too_wide, size
    detail: str
    event: GuardEvent | None = None  # None: nothing to publish (stop and size refusals are logged only)


class EntryGate:
    """The entry checks of one strategy's instrument, in one call (`decide`).

    Also keeps the guards' equity memory current (`on_equity`), so the kill switch and the
    daily loss limit see every change of the account.
    """

    def __init__(
        self,
        guards: RiskGuards,
        entry_filter: EntryCheck,
        exits: ExitSettings,
        risk_per_trade_pct: float,
        max_leverage: float,
        max_notional: float,
    ) -> None:
        self.guards = guards
        self.entry_filter = entry_filter
        self.exits = exits
        self._risk_fraction = Decimal(str(risk_per_trade_pct)) / 100
        self._max_leverage = Decimal(str(max_leverage))
        self._max_notional = Decimal(str(max_notional)) if max_notional > 0 else None
        self._seen_equity = float("nan")  # the guards are fed only when equity moved or a UTC day began
        self._next_day_ns = 0

    def on_equity(self, ts: int, equity: float) -> list[GuardEvent] | tuple[()]:
        """Feed the guards the account equity at ts (ns) when it changed or a UTC day began; return the events it caused."""
        if equity == self._seen_equity and ts < self._next_day_ns:  # flat and unchanged: nothing for the guards to see
            return ()  # every base candle comes here: no new list for nothing
        self._seen_equity = equity
        self._next_day_ns = (ts // NS_PER_DAY + 1) * NS_PER_DAY
        return self.guards.on_equity(ts, equity)

    def decide(
        self,
        ts: int,
        side: int,
        invalidation: float,
        reason: str,
        entry: float,
        instrument: Any,
        account: AccountFigures,
        max_spend: float | None = None,
    ) -> EntryPlan | EntryRefusal:
        """Check a `side` entry at `entry` whose idea (`reason`) is proved wrong at `invalidation`; plan it or refuse it.

        `max_spend` caps the entry's notional (quote currency) at what a cash account can pay for it
        (spot: a buy beyond the free balance would drive it negative); None on a margin account.
        An approved plan is counted in the guards' order rate: submit it.
        """
        guards = self.guards
        instrument_id = instrument.id.value
        side_name = "long" if side > 0 else "short"
        blocked = guards.check_blocks(ts, instrument_id)
        if not blocked.allowed:
            return EntryRefusal(blocked.event.guard, f"{side_name} {reason}: {blocked.event.detail}", blocked.event)
        verdict = self.entry_filter.check(ts, instrument_id, side_name, entry)
        if not verdict.allowed:
            # not one of the guards' own decisions: published, but not kept in `guards.events`
            event = GuardEvent(ts, "entry_filter", "blocked", instrument_id, guards.strategy_id, f"{reason}: {verdict.detail}")
            return EntryRefusal("entry_filter", f"{side_name} {reason}: {verdict.detail}", event)
        stop, why = stop_price(side, entry, invalidation, self.exits)
        if stop is None:
            return EntryRefusal("stop_too_wide", why)
        stop_px = instrument.make_price(stop)
        plan = exit_plan(side, entry, stop_px.as_double(), self.exits)
        max_notional = self._max_notional
        if max_spend is not None:
            if max_spend <= 0:
                return EntryRefusal("size", f"{side_name} {reason}: no free balance to pay for it on the cash account")
            spend = Decimal(str(max_spend))
            max_notional = spend if max_notional is None else min(max_notional, spend)
        equity = account.equity()
        multiplier = instrument.multiplier.as_decimal()
        lot = instrument.size_increment.as_decimal()
        decision = fixed_fractional_contracts(
            equity=Decimal(str(equity)),
            risk_fraction=self._risk_fraction,
            entry=Decimal(str(entry)),
            stop=stop_px.as_decimal(),
            contract_value=multiplier,
            lot_size=lot,
            min_size=instrument.min_quantity.as_decimal() if instrument.min_quantity else lot,
            max_leverage=self._max_leverage,
            max_notional=max_notional,
        )
        if decision.contracts <= 0:
            return EntryRefusal("size", decision.reason)
        notional = float(decision.contracts * multiplier) * entry
        open_positions, instrument_exposure, total_exposure = account.exposures()
        check = guards.check_entry(ts, instrument_id, notional, equity, open_positions, instrument_exposure, total_exposure)
        if not check.allowed:
            if check.event is None:
                return EntryRefusal("guard", "")
            return EntryRefusal(check.event.guard, check.event.detail, check.event)
        risk_quote = float(decision.contracts * multiplier) * plan.risk_per_unit
        target_price, _ = plan.targets[-1]
        guards.record_order(ts)
        return EntryPlan(
            side=side,
            quantity=instrument.make_qty(decision.contracts),
            stop_price=stop_px,
            target_price=instrument.make_price(target_price),
            exits=plan,
            risk_quote=risk_quote,
            tags=(f"risk={risk_quote:.8f}", f"stop={stop_px}", f"signal={reason}"),
        )


def entry_risk(order: Any) -> float | None:
    """The money at risk to the stop that an entry order carries in its `risk=` tag (written by the gate's plan); None without one."""
    for tag in (order.tags or []) if order is not None else []:
        if tag.startswith("risk="):
            try:
                return float(tag.split("=", 1)[1])
            except ValueError:
                return None
    return None
