"""The dashboard on a real nautilus BacktestEngine.

Real OKX BTC-USDT-SWAP 1-minute candles from the bundled sample drive the real UntouchedWick
strategy (the default backtest's level settings, the brief's exits); the engine is stopped,
mid-stream, while the strategy holds a position with its working stop, target and trailing
exit. The snapshot must equal what the cache, the portfolio and the strategy say; the actor
must redraw in place on its timer, not once per event.
"""

import io
import time
from dataclasses import replace
from decimal import Decimal
from typing import Any

import msgspec
import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import AccountType, OmsType
from nautilus_trader.model.identifiers import TraderId, Venue
from nautilus_trader.model.objects import Money

from ravebear.catalog.instruments import instrument_for
from ravebear.platform.dashboard import NO_STRATEGIES, DashboardActor, DashboardConfig, render, snapshot
from ravebear.strategies.levels.model import LevelSide
from ravebear.strategies.untouched_wick import UntouchedWick, UntouchedWickConfig

BTC = "BTC-USDT-SWAP.OKX"
OKX = Venue("OKX")
START = Decimal(10_000)
STRATEGY = {
    "instrument_id": BTC,
    "timeframes": ["1m"],
    "levels": {"wicks": {"min_wick_bps": 6.0, "min_wick_body_ratio": 1.5, "max_age_bars": 240, "through_bps": 5.0}},  # config/backtest.yaml
    "exits": {"take_profits": [{"r": 4.0}], "trailing_offset_bps": 60, "trailing_activation_r": 1.5},
}
FRAME_START = "\x1b[1mRaveBear  "  # the bold header that opens every drawn frame on a terminal


@pytest.fixture(scope="module")
def btc_bars(okx_btc: pd.DataFrame) -> list[Bar]:
    """The sample's first 400 candles as bars stamped at their close, as RaveCatalog stores them."""
    frame = okx_btc.iloc[:400]
    instrument = instrument_for(BTC)

    def column(name: str) -> np.ndarray:
        return np.array(frame[name].to_numpy(dtype=np.float64), copy=True)

    close_ns = np.array(((frame["ts"].to_numpy(dtype=np.int64) + 60_000) * 1_000_000).astype(np.uint64), copy=True)
    return Bar.from_raw_arrays_to_list(BarType.from_str(f"{BTC}-1-MINUTE-LAST-EXTERNAL"), instrument.price_precision, instrument.size_precision,
                                       column("open"), column("high"), column("low"), column("close"), column("volume_contracts"),
                                       close_ns, close_ns.copy())  # fmt: skip


def new_engine(actor: DashboardActor | None = None, guards: dict | None = None) -> tuple[BacktestEngine, UntouchedWick]:
    engine = BacktestEngine(BacktestEngineConfig(trader_id=TraderId("TESTER-001"), logging=LoggingConfig(bypass_logging=True)))
    engine.add_venue(OKX, OmsType.NETTING, AccountType.MARGIN, [Money(10_000, USDT)], base_currency=None, default_leverage=Decimal(10), bar_execution=True)
    engine.add_instrument(instrument_for(BTC))
    raw = {**STRATEGY, "guards": guards or {}}
    strategy = UntouchedWick(UntouchedWickConfig.parse(msgspec.json.encode(raw)))  # as a node decodes YAML
    engine.add_strategy(strategy)
    if actor is not None:
        engine.add_actor(actor)
    return engine, strategy


def holds_a_protected_position(engine: BacktestEngine, strategy: UntouchedWick) -> bool:
    tags = {tag for order in engine.cache.orders_open() for tag in order.tags or ()}
    return (
        bool(engine.cache.positions_open())
        and {"exit=stop", "exit=trailing"} <= tags
        and bool(engine.cache.position_snapshots())  # an earlier trade closed: realized PnL is not just fees
        and bool(strategy.engine.book.active())
    )


@pytest.fixture(scope="module")
def held(btc_bars):
    """The engine stopped mid-stream at the first 10-bar boundary where the strategy holds a protected position."""
    engine, strategy = new_engine()
    for start in range(0, len(btc_bars), 10):
        engine.add_data(btc_bars[start : start + 10])
        engine.run(streaming=True)  # no end(): the strategy is not stopped, its position and exits stay
        engine.clear_data()
        if holds_a_protected_position(engine, strategy):
            break
    else:
        pytest.fail("the strategy never held a protected position in the first 400 bars")
    last_bar = btc_bars[start + 9]
    yield engine, strategy, last_bar
    engine.dispose()


@pytest.fixture(scope="module")
def held_snapshot(held):
    engine, strategy, last_bar = held
    return snapshot(engine.cache, engine.portfolio, [strategy], engine.kernel.clock.timestamp_ns())


def printed(renderable, width: int = 200) -> str:
    console = Console(file=io.StringIO(), width=width)
    console.print(renderable)
    return console.file.getvalue()


def test_snapshot_of_a_held_position_equals_the_cache(held, held_snapshot):
    engine, strategy, last_bar = held
    (position,) = engine.cache.positions_open()
    (row,) = held_snapshot.positions
    assert held_snapshot.ts == last_bar.ts_event
    assert row.instrument_id == BTC and row.strategy_id == str(strategy.id)
    assert row.side == position.side.name and row.side in ("LONG", "SHORT")
    assert row.quantity == position.quantity.as_decimal() > 0
    assert row.avg_px_open == position.avg_px_open
    assert row.last_price == last_bar.close.as_decimal()  # the last candle's close
    assert row.unrealized_pnl == position.unrealized_pnl(last_bar.close).as_decimal()
    assert row.realized_pnl == position.realized_pnl.as_decimal() < 0  # the entry's fee so far


def test_snapshot_lists_the_working_exits_with_their_prices_and_tags(held, held_snapshot):
    engine, _, _ = held
    open_orders = {order.client_order_id.value: order for order in engine.cache.orders_open()}
    assert {row.client_order_id for row in held_snapshot.orders} == set(open_orders)
    assert held_snapshot.orders_hidden == 0
    by_tag = {row.tags: row for row in held_snapshot.orders}
    assert set(by_tag) == {("exit=stop",), ("exit=take_profit",), ("exit=trailing",)}
    (position,) = engine.cache.positions_open()
    exit_side = "SELL" if position.side.name == "LONG" else "BUY"
    for row in held_snapshot.orders:
        order = open_orders[row.client_order_id]
        assert (row.order_type, row.side, row.quantity, row.status) == (order.order_type.name, exit_side, position.quantity.as_decimal(), "ACCEPTED")
        assert row.reduce_only
    stop = by_tag[("exit=stop",)]
    assert stop.order_type == "STOP_MARKET"
    assert stop.trigger_price == open_orders[stop.client_order_id].trigger_price.as_decimal()
    assert (stop.trigger_price > Decimal(repr(position.avg_px_open))) == (position.side.name == "SHORT")  # the stop is on the losing side
    trailing = by_tag[("exit=trailing",)]
    assert trailing.order_type == "TRAILING_STOP_MARKET" and trailing.trailing_offset == "60 bps"
    assert trailing.activation_price == open_orders[trailing.client_order_id].activation_price.as_decimal()


def test_snapshot_account_agrees_with_the_balance_and_nautiluss_own_equity(held, held_snapshot):
    engine, _, _ = held
    (account,) = held_snapshot.accounts
    balance = engine.portfolio.account(OKX).balances()[USDT]
    assert (account.venue, account.currency) == ("OKX", "USDT")
    assert account.balance == balance.total.as_decimal() < START
    assert (account.free, account.locked) == (balance.free.as_decimal(), balance.locked.as_decimal())
    assert account.unrealized_pnl == held_snapshot.positions[0].unrealized_pnl
    assert account.equity == engine.portfolio.equity(OKX)[USDT].as_decimal()
    assert account.realized_pnl == account.balance - START  # no funding here: every fee and closed trade is in the balance
    assert account.today_pnl == account.equity - START  # the sample starts on this UTC day, at the starting balance


def test_snapshot_guards_are_the_strategys_guards(held, held_snapshot):
    _, strategy, _ = held
    (guard,) = held_snapshot.guards
    assert (guard.strategy_id, guard.instrument_id) == (str(strategy.id), BTC)
    assert (guard.halted, guard.daily_loss_blocked, guard.events) == (strategy.guards.halted, strategy.guards.daily_loss_blocked, len(strategy.guards.events))
    assert not guard.halted and not guard.daily_loss_blocked and guard.detail == ""


def test_snapshot_levels_are_the_nearest_live_levels_and_the_engines_pressure(held, held_snapshot):
    _, strategy, last_bar = held
    (levels,) = held_snapshot.levels
    price = last_bar.close.as_double()
    book = strategy.engine.book.active()
    below = sorted((level for level in book if level.side is LevelSide.SUPPORT and level.high <= price), key=lambda level: -level.high)
    above = sorted((level for level in book if level.side is LevelSide.RESISTANCE and level.low >= price), key=lambda level: level.low)
    assert levels.price == price and levels.active_levels == len(book) > 0
    assert [(row.low, row.timeframe, row.kind) for row in levels.supports] == [(level.low, "1m", "wick") for level in below[:2]]
    assert [(row.low, row.timeframe, row.kind) for row in levels.resistances] == [(level.low, "1m", "wick") for level in above[:2]]
    for row in (*levels.supports, *levels.resistances):
        assert row.distance_bps == pytest.approx(abs(row.low - price) / price * 1e4)
        assert 0 < row.score <= 1
    assert levels.imbalance == strategy.engine.pressure(price).imbalance


def test_render_shows_the_position_its_stop_the_balance_and_a_level(held_snapshot):
    out = printed(render(held_snapshot))
    position, account, levels = held_snapshot.positions[0], held_snapshot.accounts[0], held_snapshot.levels[0]
    stop = next(row for row in held_snapshot.orders if row.tags == ("exit=stop",))
    position_line = next(line for line in out.splitlines() if line.startswith(BTC) and position.side in line)
    assert f"{position.quantity:,}" in position_line and f"{position.avg_px_open:,.1f}" in position_line
    stop_line = next(line for line in out.splitlines() if "exit=stop" in line)
    assert "STOP_MARKET" in stop_line and f"{stop.trigger_price:,}" in stop_line
    assert f"{account.balance:,.2f}" in out and f"{account.equity:,.2f}" in out
    nearest = (levels.supports or levels.resistances)[0]
    assert any(f"{nearest.side} wick 1m" in line and f"{nearest.low:,.1f}" in line and f"{nearest.score:.2f}" in line for line in out.splitlines())
    assert f"{levels.imbalance:+.2f}" in out
    assert NO_STRATEGIES not in out


def test_without_strategies_the_guard_and_level_panels_say_so(held):
    engine, _, _ = held
    snap = snapshot(engine.cache, engine.portfolio, [], engine.kernel.clock.timestamp_ns())
    assert not snap.strategies_attached and snap.guards == () and snap.levels == ()
    assert snap.accounts[0].today_pnl is None  # the UTC day's first equity is the guards'
    out = printed(render(snap))
    assert out.count(NO_STRATEGIES) == 2
    assert "exit=stop" in out and BTC in out  # positions and orders come from the cache alone


def test_instrument_filter_and_order_cap(held):
    engine, strategy, _ = held
    now = engine.kernel.clock.timestamp_ns()
    other = snapshot(engine.cache, engine.portfolio, [strategy], now, instrument_ids=["ETH-USDT-SWAP.OKX"])
    assert (other.positions, other.orders, other.guards, other.levels) == ((), (), (), ())
    assert other.accounts[0].unrealized_pnl != 0  # the account stays whole
    capped = snapshot(engine.cache, engine.portfolio, [strategy], now, max_orders=1)
    assert len(capped.orders) == 1 and capped.orders_hidden == 2
    assert "... and 2 more" in printed(render(capped))


@pytest.mark.parametrize(
    ("guards", "halted", "blocked", "reason"),
    [
        ({"max_drawdown_pct": 1.0}, True, False, "drawdown"),
        ({"daily_loss_limit_pct": 0.5, "max_drawdown_pct": 0.0}, False, True, "daily loss"),
    ],
)
def test_a_tripped_guard_shows_with_its_reason(btc_bars, guards, halted, blocked, reason):
    engine, strategy = new_engine(guards=guards)
    engine.add_data(btc_bars)
    engine.run()
    snap = snapshot(engine.cache, engine.portfolio, [strategy], engine.kernel.clock.timestamp_ns())
    (row,) = snap.guards
    assert (row.halted, row.daily_loss_blocked) == (strategy.guards.halted, strategy.guards.daily_loss_blocked) == (halted, blocked)
    tripped = next(e for e in strategy.guards.events if (e.guard, e.action) == (("kill_switch", "halted") if halted else ("daily_loss", "blocked")))
    assert row.detail == tripped.detail and row.detail.startswith(reason)
    lines = printed(render(snap)).splitlines()
    guard_line = next(line for line in lines if line.startswith(str(strategy.id)))
    assert ("HALTED" in guard_line) == halted and ("BLOCKED" in guard_line) == blocked and reason in guard_line
    if blocked:  # today's PnL is measured from the same equity the daily limit is
        assert snap.accounts[0].today_pnl / START * 100 <= Decimal(-0.5)
    engine.dispose()


def dashboard_engine(refresh_secs: int, terminal: bool) -> tuple[Console, DashboardActor, Any, Any]:
    """A backtest engine with the dashboard drawing to a captured console (a terminal or a plain file)."""
    console = Console(file=io.StringIO(), width=160, force_terminal=terminal)
    actor = DashboardActor(DashboardConfig(refresh_secs=refresh_secs), console=console)
    engine, strategy = new_engine(actor)
    return console, actor, engine, strategy


def frames(out: str) -> list[str]:
    return out.split(FRAME_START)[1:]


def test_actor_redraws_in_place_on_its_timer_not_once_per_event(btc_bars):
    console, actor, engine, strategy = dashboard_engine(refresh_secs=600, terminal=True)
    actor.attach(engine.trader.strategies)
    engine.add_data(btc_bars)
    engine.run()
    out = console.file.getvalue()
    drawn = frames(out)
    ticks = (btc_bars[-1].ts_event - btc_bars[0].ts_event) // (600 * 1_000_000_000)
    assert actor.redraws == len(drawn) == 1 + ticks + 1 == 42  # the first frame, one per 10 minutes, the last at stop
    events = len(btc_bars) + sum(order.event_count for order in engine.cache.orders())  # bars and order events
    assert len(engine.cache.orders()) >= 9 and actor.redraws * 10 < events
    for frame, following in zip(drawn, drawn[1:], strict=False):  # each frame is erased, line by line, before the next
        height = frame.count("\n") + 1
        assert frame.endswith("\r\x1b[2K" + "\x1b[1A\x1b[2K" * (height - 1))
        assert following.startswith("2026-07-27")
    assert sum("exit=stop" in frame for frame in drawn) > 10  # frames during the run show working exits
    assert "Positions: flat" in drawn[-1] and actor.live is None  # strategies flatten on stop; the terminal is released
    assert actor.last_error == ""
    engine.dispose()


def test_actor_on_a_console_that_is_not_a_terminal_prints_one_final_frame(btc_bars):
    console, actor, engine, _ = dashboard_engine(refresh_secs=60, terminal=False)
    actor.attach(engine.trader.strategies)
    engine.add_data(btc_bars)
    engine.run()
    out = console.file.getvalue()
    assert actor.redraws > 300  # refreshed every minute, drawn only at the end: no log flood in a file
    assert out.count("RaveBear  ") == 1 and "\x1b[" not in out
    assert out.startswith(f"RaveBear  {pd.Timestamp(btc_bars[-1].ts_event, tz='UTC'):%Y-%m-%d %H:%M:%S} UTC")
    engine.dispose()


def test_actor_refresh_failure_is_recorded_and_the_node_trades_on(btc_bars):
    console, actor, engine, _ = dashboard_engine(refresh_secs=60, terminal=True)

    def broken() -> list:
        raise RuntimeError("strategies unavailable")

    actor.attach(broken)
    engine.add_data(btc_bars)
    engine.run()
    assert actor.last_error == "dashboard refresh failed: RuntimeError: strategies unavailable"
    assert actor.redraws == 0 and engine.cache.orders()  # the strategy still traded
    engine.dispose()


def test_without_attach_the_actor_shows_the_account_and_says_no_strategies_attached(btc_bars):
    console, actor, engine, _ = dashboard_engine(refresh_secs=3600, terminal=False)
    engine.add_data(btc_bars[:30])
    engine.run()
    out = console.file.getvalue()
    assert out.count(NO_STRATEGIES) == 2 and "10,000.00" in out
    engine.dispose()


def test_config_rejects_unknown_keys_and_bad_values():
    with pytest.raises(msgspec.ValidationError, match="unknown field `refresh_sec`"):
        DashboardConfig.parse(b'{"refresh_sec": 1}')
    with pytest.raises(msgspec.ValidationError, match="refresh_secs must be > 0, got 0.0"):
        DashboardConfig.parse(b'{"refresh_secs": 0}')
    with pytest.raises(ValueError, match="max_orders must be >= 0, got -1"):
        DashboardConfig(max_orders=-1)
    assert DashboardConfig.parse(b'{"instrument_ids": ["BTC-USDT-SWAP.OKX"]}').instrument_ids == ("BTC-USDT-SWAP.OKX",)


def test_a_refresh_of_three_instruments_and_twenty_orders_takes_under_5_ms(held, held_snapshot):
    """The real snapshot widened to three instruments (the held rows under other ids) and 20 working orders."""
    engine, strategy, _ = held
    ids = (BTC, "ETH-USDT-SWAP.OKX", "SOL-USDT-SWAP.OKX")
    base = held_snapshot
    level = base.levels[0]
    rows = (*level.supports, *level.resistances)
    supports = tuple(replace(rows[i % len(rows)], side="support") for i in range(2))
    resistances = tuple(replace(rows[i % len(rows)], side="resistance") for i in range(2))
    wide = replace(
        base,
        positions=tuple(replace(base.positions[0], instrument_id=i) for i in ids),
        orders=tuple(replace(base.orders[k % 3], instrument_id=ids[k % 3]) for k in range(20)),
        guards=tuple(replace(base.guards[0], instrument_id=i) for i in ids),
        levels=tuple(replace(level, instrument_id=i, supports=supports, resistances=resistances) for i in ids),
    )
    console = Console(file=io.StringIO(), width=160, force_terminal=True)
    now = engine.kernel.clock.timestamp_ns()
    times = []
    for _ in range(31):
        started = time.perf_counter()
        snapshot(engine.cache, engine.portfolio, [strategy, strategy, strategy], now)
        console.print(render(wide))
        times.append(time.perf_counter() - started)
    lines = render(wide).plain.count("\n") + 1
    assert lines > 50 and sum("exit=" in line for line in render(wide).plain.splitlines()) == 20
    assert sorted(times)[15] < 0.005, f"median refresh {sorted(times)[15] * 1e3:.2f} ms"


def test_the_strategy_status_shows_its_open_trade(held):
    engine, strategy, last_bar = held
    (position,) = engine.cache.positions_open()
    status = strategy.status
    assert (status.strategy_id, status.instrument_id) == (str(strategy.id), BTC)
    assert status.side == (1 if position.side.name == "LONG" else -1)
    assert not status.entry_pending and status.plan is not None and status.plan.side == status.side
    entry_tags = dict(tag.split("=", 1) for tag in engine.cache.order(position.opening_order_id).tags)
    assert status.plan.stop == float(entry_tags["stop"])  # the plan of the entry that opened the position
    # one count per base candle closed after the candle whose close filled the entry
    assert status.bars_held == (last_bar.ts_event - position.ts_opened) // 60_000_000_000
    assert (status.halted, status.blocked_reason, status.price_precision, status.settlement_currency) == (False, "", 1, "USDT")


# -- units, width without a terminal, replay time (issue 13, item 17) -------------------------


def test_quantities_carry_their_unit_and_pnl_columns_their_currency(held_snapshot):
    from ravebear.platform.dashboard.snapshot import quantity_unit

    assert instrument_for(BTC).multiplier.as_decimal() == Decimal("0.01")  # one OKX BTC swap contract is 0.01 BTC
    assert quantity_unit(instrument_for(BTC)) == "contracts"
    assert quantity_unit(instrument_for("BTCUSDT-PERP.BINANCE")) == "BTC"  # Binance perpetuals trade in BTC
    out = printed(render(held_snapshot))
    position = held_snapshot.positions[0]
    assert position.quantity_unit == "contracts" and all(row.quantity_unit == "contracts" for row in held_snapshot.orders)
    position_line = next(line for line in out.splitlines() if line.startswith(BTC) and position.side in line)
    assert f"{position.quantity:,} contracts" in position_line
    assert "unrealized (USDT)" in out and "realized (USDT)" in out


def test_without_a_terminal_the_dashboard_is_120_columns_wide_or_COLUMNS(btc_bars, monkeypatch, capsys):
    for columns, width in ((None, 120), ("100", 100)):
        if columns is None:
            monkeypatch.delenv("COLUMNS", raising=False)
        else:
            monkeypatch.setenv("COLUMNS", columns)
        actor = DashboardActor(DashboardConfig(refresh_secs=600))  # no console given: the node's case
        engine, _ = new_engine(actor)
        actor.attach(engine.trader.strategies)
        engine.add_data(btc_bars)
        engine.run()
        out = capsys.readouterr().out
        engine.dispose()
        assert actor.console.width == width
        widest = max(len(line) for line in out.splitlines())
        assert 80 < widest <= width  # rich's default of 80 would have cut these lines


def test_the_dashboard_of_a_replay_shows_the_replay_time_not_the_wall_clock(tmp_path):
    import os
    import subprocess
    import sys

    import yaml

    from tests.conftest import OKX_BTC
    from tests.platform.test_backtest import REPO

    catalog = tmp_path / "catalog"
    from ravebear.catalog.store import RaveCatalog

    RaveCatalog(catalog).import_file(OKX_BTC, "BTC-USDT-SWAP")
    raw = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    raw["data"] = [{"instrument_id": BTC, "start": "2026-07-28 06:00", "end": "2026-07-28 09:00"}]
    raw["strategies"] = raw["strategies"][:1]
    raw["strategies"][0]["instruments"] = {BTC: {}}
    raw["node"] = {"dashboard": True, "speed": 0}
    raw["run"].update(output_dir=str(tmp_path / "runs"), risk_report=False, tearsheet=False)
    path = tmp_path / "paper.yaml"
    path.write_text(yaml.safe_dump(raw))
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run([sys.executable, "-m", "ravebear.platform.cli", "paper", str(path), "--catalog", str(catalog), "--timeout", "120"],
                          capture_output=True, text=True, cwd=tmp_path, env={**env, "PYTHONPATH": str(REPO)}, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    raw_bars = pd.read_parquet(OKX_BTC)
    opens = raw_bars["ts"][raw_bars["ts"].between(pd.Timestamp("2026-07-28 06:00", tz="UTC").value // 1_000_000, pd.Timestamp("2026-07-28 09:00", tz="UTC").value // 1_000_000 - 1)]
    assert len(opens) > 100
    last_open = opens.max()
    last_close = pd.Timestamp((last_open + 60_000) * 1_000_000, tz="UTC")
    header = next(line for line in done.stdout.splitlines() if line.startswith("RaveBear  "))
    assert header == f"RaveBear  replay {last_close:%Y-%m-%d %H:%M:%S} UTC"  # the last replayed bar's close, not today's date
    frame = done.stdout.split(header, 1)[1].split("paper session ended", 1)[0]
    assert 80 < max(len(line) for line in frame.splitlines()) <= 120
