"""Account-wide guards and the kill switch, on hand-made figures and on a real BTC equity path."""

from datetime import UTC, datetime

import msgspec
import pandas as pd
import pytest

from ravebear.risk.guards import GuardEvent, GuardLimits, RiskGuards, account_event_key

BTC = "BTC-USDT-SWAP.OKX"
MINUTE = 60 * 1_000_000_000
DAY = 1440 * MINUTE
T0 = int(datetime(2026, 8, 1, tzinfo=UTC).timestamp()) * 1_000_000_000  # 2026-08-01 00:00 UTC
ALL_OFF = GuardLimits(
    max_open_positions=0, max_instrument_exposure_pct=0, max_total_exposure_pct=0, daily_loss_limit_pct=0,
    max_drawdown_pct=0, max_orders_per_minute=0, max_notional_per_order=0,
)  # fmt: skip


def entry(guards: RiskGuards, ts: int = T0 + MINUTE, **figures):
    args = {"notional": 5_000.0, "equity": 10_000.0, "open_positions": 0, "instrument_exposure": 0.0, "total_exposure": 0.0}
    return guards.check_entry(ts, BTC, **{**args, **figures})


def equity_path(raw: pd.DataFrame, contracts: float) -> pd.DataFrame:
    """A balance series: 10,000 USDT plus a long of `contracts` BTC-USDT-SWAP (0.01 BTC each) opened at the first close."""
    return pd.DataFrame(
        {
            "ts": (raw["ts"].to_numpy() + 60_000) * 1_000_000,  # candle close, UNIX ns
            "total": 10_000.0 + contracts * 0.01 * (raw["close"] - raw["close"].iloc[0]),
        }
    )


@pytest.mark.parametrize(
    ("limits", "figures", "guard", "detail"),
    [
        (GuardLimits(max_notional_per_order=5_000), {"notional": 6_523.0},
         "order_notional", "order notional 6,523.00 > limit 5,000.00"),
        (GuardLimits(), {"notional": float("nan")}, "order_notional", "order notional nan is not a non-negative number"),
        (GuardLimits(), {"open_positions": 3}, "max_open_positions", "3 open positions >= limit 3"),
        (GuardLimits(), {"instrument_exposure": 10_000.0, "notional": 6_000.0, "total_exposure": 10_000.0},
         "instrument_exposure",
         "BTC-USDT-SWAP.OKX exposure 16,000.00 is 160.00 % of equity 10,000.00 > limit 150.00 % (open 10,000.00 + order 6,000.00)"),
        (GuardLimits(), {"total_exposure": 25_000.0, "notional": 6_000.0},
         "total_exposure",
         "total exposure 31,000.00 is 310.00 % of equity 10,000.00 > limit 300.00 % (open 25,000.00 + order 6,000.00)"),
        (GuardLimits(), {"equity": 0.0}, "instrument_exposure", "equity 0.00 is not positive: no exposure allowed"),
        (GuardLimits(max_instrument_exposure_pct=0), {"equity": -12.5},
         "total_exposure", "equity -12.50 is not positive: no exposure allowed"),
    ],
)  # fmt: skip
def test_each_guard_blocks_an_entry_with_its_figures(limits, figures, guard, detail):
    guards = RiskGuards(limits, strategy_id="UntouchedWickLong-000")
    decision = entry(guards, **figures)
    assert not decision.allowed
    assert decision.event == GuardEvent(T0 + MINUTE, guard, "blocked", BTC, "UntouchedWickLong-000", detail)
    assert guards.events == [decision.event]


def test_exposure_exactly_at_the_limit_is_allowed():
    guards = RiskGuards(GuardLimits())
    # 10,000 open + 5,000 order = 150 % of 10,000; total 25,000 + 5,000 = 300 %
    assert entry(guards, instrument_exposure=10_000.0, total_exposure=25_000.0).allowed
    assert entry(guards, open_positions=2, notional=0.0).allowed
    assert guards.events == []


def test_order_rate_blocks_the_entry_after_the_other_checks_pass():
    guards = RiskGuards(GuardLimits(max_orders_per_minute=2))
    guards.record_order(T0)
    guards.record_order(T0 + 1)
    decision = entry(guards, ts=T0 + 30_000_000_000)
    assert decision.event.guard == "order_rate"
    assert decision.event.detail == "2 orders in the last 60 s >= limit 2 per minute"


def test_checks_run_in_the_documented_order():
    limits = GuardLimits(max_notional_per_order=1_000, max_orders_per_minute=1)
    guards = RiskGuards(limits)
    guards.on_equity(T0, 10_000.0)
    events = guards.on_equity(T0 + MINUTE, 8_900.0)  # -11 %: trips both the kill switch and the daily loss
    assert [(e.guard, e.action) for e in events] == [("kill_switch", "halted"), ("daily_loss", "blocked")]
    guards.record_order(T0 + MINUTE)
    failing = {"notional": 2_000.0, "open_positions": 3, "instrument_exposure": 20_000.0, "total_exposure": 40_000.0}

    def blocked_by(ts: int = T0 + 2 * MINUTE, **relaxed) -> str | None:
        decision = entry(guards, ts=ts, **{**failing, **relaxed})
        return None if decision.allowed else decision.event.guard

    assert blocked_by() == "kill_switch"
    guards.reset()
    assert blocked_by() == "daily_loss"
    tomorrow = T0 + DAY
    assert [e.action for e in guards.on_equity(tomorrow, 8_900.0)] == ["resumed"]
    failing["notional"] = 900.0  # 900 + 20,000 = 209 % of 8,900 still fails the exposure checks
    assert blocked_by(tomorrow, notional=2_000.0) == "order_notional"
    assert blocked_by(tomorrow) == "max_open_positions"
    failing["open_positions"] = 0
    assert blocked_by(tomorrow) == "instrument_exposure"
    failing["instrument_exposure"] = 0.0
    assert blocked_by(tomorrow) == "total_exposure"
    failing["total_exposure"] = 0.0
    guards.record_order(tomorrow)
    assert blocked_by(tomorrow + 1) == "order_rate"
    assert blocked_by(tomorrow + MINUTE) is None
    assert [e.guard for e in guards.events if e.action == "blocked"] == [
        "daily_loss", "kill_switch", "daily_loss", "order_notional", "max_open_positions",
        "instrument_exposure", "total_exposure", "order_rate",
    ]  # fmt: skip


def test_kill_switch_trips_once_at_the_drawdown_limit_of_a_real_equity_path(okx_btc_raw):
    balance = equity_path(okx_btc_raw, contracts=10)  # 0.1 BTC long on 10,000 USDT
    peak = balance["total"].cummax()
    drawdown = (peak - balance["total"]) / peak * 100
    trip = int((drawdown >= 2.5).idxmax())
    assert 0 < trip and drawdown.max() > 3.0  # the real path keeps falling after the trip
    guards = RiskGuards(GuardLimits(max_drawdown_pct=2.5, daily_loss_limit_pct=0), strategy_id="S-1")
    returned = []
    for ts, total in zip(balance["ts"].tolist(), balance["total"].tolist(), strict=True):
        returned += guards.on_equity(ts, total)
        if ts == balance["ts"].iloc[trip - 1]:
            assert not guards.halted and entry(guards, ts=ts).allowed

    assert guards.halted
    assert returned == guards.events and len(guards.events) == 1
    event = guards.events[0]
    peak_at = int(balance["total"].iloc[: trip + 1].idxmax())
    peak_time = pd.Timestamp(int(balance["ts"].iloc[peak_at]), tz="UTC").strftime("%Y-%m-%d %H:%M UTC")
    assert (event.ts, event.guard, event.action, event.strategy_id) == (balance["ts"].iloc[trip], "kill_switch", "halted", "S-1")
    assert event.detail == (
        f"drawdown {drawdown.iloc[trip]:.2f} % >= limit 2.50 % (equity {balance['total'].iloc[trip]:,.2f} "
        f"from peak {peak.iloc[trip]:,.2f} at {peak_time}): cancel working orders and flatten positions"
    )
    blocked = entry(guards, ts=int(balance["ts"].iloc[-1]))
    assert blocked.event.guard == "kill_switch"
    assert blocked.event.detail.startswith(f"trading halted: drawdown {drawdown.iloc[trip]:.2f} % >= limit 2.50 %")


def test_kill_switch_without_flatten_says_it_only_cancels_orders():
    guards = RiskGuards(GuardLimits(max_drawdown_pct=10, flatten_on_kill=False, daily_loss_limit_pct=0))
    guards.on_equity(T0, 10_000.0)
    guards.on_equity(T0 + MINUTE, 12_000.0)
    assert guards.on_equity(T0 + 2 * MINUTE, 10_900.0) == []  # 9.17 % below the peak
    (event,) = guards.on_equity(T0 + 3 * MINUTE, 10_800.0)
    assert event.detail == (
        "drawdown 10.00 % >= limit 10.00 % (equity 10,800.00 from peak 12,000.00 at 2026-08-01 00:01 UTC): cancel working orders"
    )


def test_reset_clears_the_halt_and_measures_drawdown_from_the_current_equity():
    guards = RiskGuards(GuardLimits(max_drawdown_pct=10, daily_loss_limit_pct=0))
    guards.on_equity(T0, 10_000.0)
    guards.on_equity(T0 + MINUTE, 9_000.0)
    assert guards.halted
    guards.reset()
    assert not guards.halted and entry(guards, ts=T0 + 2 * MINUTE, equity=9_000.0).allowed
    assert guards.events[-1] == GuardEvent(
        T0 + MINUTE, "kill_switch", "resumed", "", "", "kill switch reset by the operator; peak equity re-based to 9,000.00"
    )
    assert guards.on_equity(T0 + 3 * MINUTE, 8_200.0) == []  # 8.9 % below 9,000
    assert [e.action for e in guards.on_equity(T0 + 4 * MINUTE, 8_100.0)] == ["halted"]


def test_daily_loss_blocks_entries_until_the_next_utc_midnight():
    guards = RiskGuards(GuardLimits(max_drawdown_pct=0), strategy_id="S-1")
    assert guards.on_equity(T0, 10_000.0) == []
    assert guards.on_equity(T0 + 360 * MINUTE, 9_800.0) == []  # -2 %
    (blocked,) = guards.on_equity(T0 + 720 * MINUTE, 9_688.0)
    detail = (
        "daily loss 3.12 % >= limit 3.00 % (equity 9,688.00 from 10,000.00 at 00:00 UTC); "
        "entries blocked until 2026-08-02 00:00 UTC"
    )
    assert blocked == GuardEvent(T0 + 720 * MINUTE, "daily_loss", "blocked", "", "S-1", detail)
    assert guards.daily_loss_blocked
    # a recovery the same day does not lift the block, and a deeper loss is not a second event
    assert guards.on_equity(T0 + 780 * MINUTE, 10_500.0) == []
    assert guards.on_equity(T0 + 800 * MINUTE, 9_000.0) == []
    last_minute = T0 + DAY - MINUTE
    assert entry(guards, ts=T0 + DAY + 1, equity=10_500.0).allowed  # past midnight, before the day's first equity
    assert guards.on_equity(last_minute, 10_500.0) == []
    decision = entry(guards, ts=last_minute, equity=10_500.0)
    assert (decision.event.guard, decision.event.detail) == ("daily_loss", detail)
    (resumed,) = guards.on_equity(T0 + DAY, 10_500.0)
    assert resumed == GuardEvent(
        T0 + DAY, "daily_loss", "resumed", "", "S-1", "new UTC day 2026-08-02: entries allowed again (day starts at equity 10,500.00)"
    )
    assert not guards.daily_loss_blocked and entry(guards, ts=T0 + DAY, equity=10_500.0).allowed
    # the new day's loss is measured from its own first equity: 10,500 -> 10,200 is 2.86 %
    assert guards.on_equity(T0 + DAY + MINUTE, 10_200.0) == []


def test_daily_loss_on_a_real_equity_path_blocks_once_a_day_and_resumes_on_the_next_day(okx_btc_raw):
    balance = equity_path(okx_btc_raw, contracts=10)
    balance["day"] = balance["ts"] // DAY
    first = balance.groupby("day")["total"].transform("first")
    balance["loss"] = (first - balance["total"]) / first * 100
    hit = balance[balance["loss"] >= 0.75].groupby("day").head(1)  # first bar of each day past the limit
    resumes = balance[balance["day"].isin(hit["day"] + 1)].groupby("day").head(1)  # the path has every day
    assert len(hit) >= 4 and len(resumes) == len(hit) - int(hit["day"].iloc[-1] == balance["day"].iloc[-1])

    guards = RiskGuards(GuardLimits(daily_loss_limit_pct=0.75, max_drawdown_pct=0))
    for ts, total in zip(balance["ts"].tolist(), balance["total"].tolist(), strict=True):
        guards.on_equity(ts, total)
    assert [e.ts for e in guards.events if e.action == "blocked"] == hit["ts"].tolist()
    assert [e.ts for e in guards.events if e.action == "resumed"] == resumes["ts"].tolist()
    assert {e.guard for e in guards.events} == {"daily_loss"}
    row = hit.iloc[0]
    assert guards.events[0].detail.startswith(f"daily loss {row['loss']:.2f} % >= limit 0.75 % (equity {row['total']:,.2f}")


def test_order_rate_window_slides_over_60_seconds():
    second = 1_000_000_000
    guards = RiskGuards(GuardLimits(max_orders_per_minute=3))
    for ts in (0, 10 * second, 20 * second):
        assert guards.check_order(T0 + ts, BTC).allowed
        guards.record_order(T0 + ts)
    refused = guards.check_order(T0 + 30 * second, BTC)
    assert refused.event == GuardEvent(T0 + 30 * second, "order_rate", "blocked", BTC, "", "3 orders in the last 60 s >= limit 3 per minute")
    assert not guards.check_order(T0 + 60 * second - 1, BTC).allowed  # the first order is 59.999... s old
    assert guards.check_order(T0 + 60 * second, BTC).allowed  # ... and 60 s old here: out of the window
    guards.record_order(T0 + 60 * second)
    assert not guards.check_order(T0 + 65 * second, BTC).allowed
    assert guards.check_order(T0 + 70 * second, BTC).allowed
    # a long run of orders keeps only the last minute's
    for ts in range(100, 10_100):
        guards.record_order(T0 + ts * second)
        guards.check_order(T0 + ts * second, BTC)
    assert len(guards._orders) == 60


def test_limits_at_zero_are_off():
    guards = RiskGuards(ALL_OFF)
    assert guards.on_equity(T0, 10_000.0) == []
    assert guards.on_equity(T0 + MINUTE, 1.0) == []  # -99.99 %: no halt, no daily block
    for ts in range(1_000):
        guards.record_order(T0 + MINUTE + ts)
    huge = {"notional": 1e9, "open_positions": 1_000, "instrument_exposure": 1e9, "total_exposure": 1e10}
    assert entry(guards, ts=T0 + 2 * MINUTE, equity=-5.0, **huge).allowed
    assert guards.events == [] and not guards.halted


def test_alerts_and_flattens_are_recorded_as_events():
    guards = RiskGuards(GuardLimits(), strategy_id="S-1")
    flip = guards.alert(T0, "exit_flip", BTC, "exit SELL 0.50 would open a short: position already flat")
    flat = guards.record_flatten(T0 + 1, BTC, "closed LONG 15.38 contracts at market")
    assert guards.events == [flip, flat]
    assert flip.as_dict() == {
        "ts": T0, "guard": "exit_flip", "action": "alert", "instrument_id": BTC, "strategy_id": "S-1",
        "detail": "exit SELL 0.50 would open a short: position already flat",
    }  # fmt: skip
    assert (flat.guard, flat.action) == ("kill_switch", "flattened")


def test_nan_equity_is_ignored_with_an_alert():
    guards = RiskGuards(GuardLimits())
    guards.on_equity(T0, 10_000.0)
    (event,) = guards.on_equity(T0 + MINUTE, float("nan"))
    assert (event.guard, event.action, event.detail) == ("equity", "alert", "equity is NaN: update ignored")
    assert guards.on_equity(T0 + 2 * MINUTE, 9_800.0) == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"max_open_position": 2}, "Object contains unknown field `max_open_position`"),
        ({"max_drawdown_pct": -1}, "guards.max_drawdown_pct must be between 0 and 100 % from the equity peak (0 = off), got -1"),
        ({"daily_loss_limit_pct": "nan"}, "Expected `float`, got `str` - at `$.daily_loss_limit_pct`"),
        ({"max_open_positions": 2.5}, "Expected `int`, got `float` - at `$.max_open_positions`"),
    ],
)
def test_bad_limits_are_rejected_naming_the_key(raw, message):
    with pytest.raises(msgspec.ValidationError) as error:
        msgspec.convert(raw, GuardLimits)
    assert str(error.value) == message


def test_limits_from_config_keep_unset_defaults():
    limits = msgspec.convert({"max_open_positions": 2, "max_notional_per_order": 5_000}, GuardLimits)
    assert limits == GuardLimits(max_open_positions=2, max_notional_per_order=5_000.0)
    assert limits.max_drawdown_pct == 10.0 and limits.flatten_on_kill


def test_copies_on_one_account_record_the_same_account_wide_events_under_one_key():
    """Three copies of a strategy fed the shared account's equity a minute apart (their candles arrive one by one)."""
    limits = GuardLimits(daily_loss_limit_pct=3, max_drawdown_pct=5)
    copies = [RiskGuards(limits, strategy_id=f"UntouchedWick-00{n}") for n in (1, 2, 3)]
    path = [(T0, 10_000.0), (T0 + 60 * MINUTE, 9_650.0), (T0 + 120 * MINUTE, 9_450.0), (T0 + DAY + MINUTE, 9_460.0)]
    for offset, guards in enumerate(copies):
        for ts, equity in path:
            guards.on_equity(ts + offset * MINUTE, equity)
    keys = [[account_event_key(e) for e in guards.events] for guards in copies]
    assert keys[0] == keys[1] == keys[2] == [
        ("daily_loss", "blocked", T0 // DAY), ("kill_switch", "halted", T0 // DAY), ("daily_loss", "resumed", T0 // DAY + 1),
    ]  # fmt: skip
    refused = entry(copies[0], ts=T0 + 3 * MINUTE)
    flat = copies[0].record_flatten(T0 + 2 * MINUTE, BTC, "closing LONG 1 at market")
    assert account_event_key(refused.event) is None and account_event_key(flat) is None  # each copy's own
