"""EntryGate: one call from a signal to an order plan or the refusal that stopped it, on an OKX BTC swap.

BTC-USDT-SWAP: 0.01 BTC a contract, lots of 0.01 contracts, prices in 0.1. A long at 60,000
with its idea wrong at 59,800: the 50 bps minimum stop (59,700) is further than the buffered
invalidation (59,764.12), so a stop-out loses 300 x 0.01 = 3 USDT a contract; 0.5 % of 10,000
USDT is 50 USDT, so 16.66 contracts (rounded down to the lot), 49.98 USDT at risk.
"""

from dataclasses import dataclass
from decimal import Decimal

import pytest
from nautilus_trader.model.identifiers import InstrumentId

from ravebear.catalog.alt_data.types import FundingRate
from ravebear.catalog.instruments import instrument_for
from ravebear.risk.entry_gate import EntryGate, EntryPlan, EntryRefusal
from ravebear.risk.exits import ExitSettings
from ravebear.risk.guards import GuardLimits, RiskGuards
from ravebear.strategies.entry_filter import EntryFilter, EntryFilterConfig
from ravebear.time_units import NS_PER_DAY, NS_PER_HOUR

BTC = "BTC-USDT-SWAP.OKX"
TS = 20_000 * NS_PER_DAY + 9 * NS_PER_HOUR  # 2024-10-04 09:00 UTC


@dataclass
class Account:
    """Fixed account figures (the gate reads them through `AccountFigures`)."""

    equity_now: float = 10_000.0
    open_positions: int = 0
    instrument_exposure: float = 0.0
    total_exposure: float = 0.0

    def equity(self) -> float:
        return self.equity_now

    def exposures(self) -> tuple[int, float, float]:
        return self.open_positions, self.instrument_exposure, self.total_exposure


def gate(limits: GuardLimits = GuardLimits(), filter_config: EntryFilterConfig = EntryFilterConfig()) -> EntryGate:
    guards = RiskGuards(limits, strategy_id="UntouchedWick-000")
    return EntryGate(guards, EntryFilter(filter_config), ExitSettings(), risk_per_trade_pct=0.5, max_leverage=3.0, max_notional=0.0)


def long_at_60k(entry_gate: EntryGate, account: Account | None = None, invalidation: float = 59_800.0) -> EntryPlan | EntryRefusal:
    return entry_gate.decide(TS, 1, invalidation, "1h wick 59800", 60_000.0, instrument_for(BTC), account or Account())


def test_an_allowed_entry_is_planned_with_its_stop_size_target_and_tags():
    entry_gate = gate()
    plan = long_at_60k(entry_gate)
    assert isinstance(plan, EntryPlan)
    assert plan.side == 1
    assert plan.quantity.as_decimal() == Decimal("16.66")
    assert plan.stop_price.as_double() == 59_700.0 and plan.target_price.as_double() == 60_450.0  # 1.5 R
    assert plan.risk_quote == pytest.approx(49.98, abs=1e-9)
    assert plan.tags == ("risk=49.98000000", "stop=59700.0", "signal=1h wick 59800")
    assert plan.exits.stop == 59_700.0 and plan.exits.targets == ((60_450.0, 1.0),)
    assert entry_gate.guards.events == []


def test_a_stalled_feed_refuses_first_with_the_guards_block_event():
    entry_gate = gate()
    entry_gate.guards.block_entries(TS - 1, "feed_stalled", BTC, "no market data for 3.0 s")
    refusal = long_at_60k(entry_gate, Account(equity_now=0.0))  # would also fail sizing: the block wins
    assert isinstance(refusal, EntryRefusal)
    assert (refusal.guard, refusal.detail) == ("feed_stalled", "long 1h wick 59800: no market data for 3.0 s")
    assert refusal.event is entry_gate.guards.events[-1] and refusal.event.action == "blocked" and refusal.event.ts == TS


def test_the_entry_filter_refuses_with_an_event_the_guards_do_not_keep():
    entry_gate = gate(filter_config=EntryFilterConfig(conditions=("funding",), funding_max_abs=0.0005))
    rate = 0.0012
    ts = TS - NS_PER_HOUR
    funding = FundingRate(instrument_id=InstrumentId.from_str(BTC), open=rate, high=rate, low=rate, close=rate, ts_event=ts, ts_init=ts)
    entry_gate.entry_filter.on_data(funding)
    refusal = long_at_60k(entry_gate)
    assert isinstance(refusal, EntryRefusal) and refusal.guard == "entry_filter"
    assert refusal.detail == "long 1h wick 59800: blocked long (0/1 agree, need all): funding +0.1200 % > +0.0500 %"
    assert refusal.event.detail == "1h wick 59800: blocked long (0/1 agree, need all): funding +0.1200 % > +0.0500 %"
    assert (refusal.event.guard, refusal.event.strategy_id, refusal.event.instrument_id) == ("entry_filter", "UntouchedWick-000", BTC)
    assert entry_gate.guards.events == []


def test_a_stop_wider_than_the_limit_refuses_without_an_event():
    refusal = long_at_60k(gate(), invalidation=57_000.0)  # 500 bps + buffer
    assert isinstance(refusal, EntryRefusal) and refusal.event is None
    assert (refusal.guard, refusal.detail) == ("stop_too_wide", "stop 505.7 bps from entry is wider than exits.max_stop_bps 300")


def test_no_equity_refuses_by_size():
    refusal = long_at_60k(gate(), Account(equity_now=0.0))
    assert isinstance(refusal, EntryRefusal) and refusal.guard == "size" and refusal.event is None and refusal.detail


def test_exposure_counts_the_open_notional_plus_this_entry():
    # 16.66 contracts x 0.01 x 60,000 = 9,996 USDT; + 6,000 open = 15,996 = 159.96 % of 10,000 > 150 %
    entry_gate = gate()
    refusal = long_at_60k(entry_gate, Account(open_positions=1, instrument_exposure=6_000.0, total_exposure=6_000.0))
    assert isinstance(refusal, EntryRefusal) and refusal.guard == "instrument_exposure"
    assert refusal.detail == (
        f"{BTC} exposure 15,996.00 is 159.96 % of equity 10,000.00 > limit 150.00 % (open 6,000.00 + order 9,996.00)"
    )
    assert refusal.event is entry_gate.guards.events[-1]


def test_an_approved_plan_counts_in_the_order_rate():
    entry_gate = gate(GuardLimits(max_orders_per_minute=1))
    assert isinstance(long_at_60k(entry_gate), EntryPlan)
    refusal = long_at_60k(entry_gate)
    assert isinstance(refusal, EntryRefusal)
    assert (refusal.guard, refusal.detail) == ("order_rate", "1 orders in the last 60 s >= limit 1 per minute")


def test_equity_reaches_the_guards_when_it_moves_or_a_utc_day_begins():
    entry_gate = gate(GuardLimits(daily_loss_limit_pct=3.0))
    guards = entry_gate.guards
    assert entry_gate.on_equity(TS, 10_000.0) == []
    assert guards.day_start_equity(TS) == 10_000.0
    (blocked,) = entry_gate.on_equity(TS + 60, 9_600.0)  # -4 %
    assert (blocked.guard, blocked.action) == ("daily_loss", "blocked")
    assert list(entry_gate.on_equity(TS + 120, 9_600.0)) == []  # unchanged: not fed again
    next_day = (TS // NS_PER_DAY + 1) * NS_PER_DAY
    (resumed,) = entry_gate.on_equity(next_day, 9_600.0)  # unchanged, but a new UTC day
    assert (resumed.guard, resumed.action) == ("daily_loss", "resumed")
    assert guards.day_start_equity(next_day) == 9_600.0 and guards.day_start_equity(TS) is None
