"""Each exit type, the kill switch and the guards, triggered in a real nautilus BacktestEngine on crafted bars.

The entries are scripted (tests/scripted_strategy.py); the stop, targets, trailing exit,
break-even move, time exit, sizing and guards are LevelStrategy's own. Prices are around
60,000 on OKX's BTC-USDT-SWAP (0.01 BTC a contract, tick 0.1, lot 0.01).
"""

from decimal import ROUND_DOWN, Decimal

import msgspec
import pytest

from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import DataEngineConfig, LoggingConfig
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide, OrderStatus, OrderType
from nautilus_trader.model.identifiers import TraderId, Venue
from nautilus_trader.model.objects import Money, Price, Quantity

from ravebear.catalog.instruments import instrument_for
from ravebear.risk.topics import GUARD_TOPIC
from tests.scripted_strategy import ScriptedEntries, ScriptedEntriesConfig

BTC = "BTC-USDT-SWAP.OKX"
MINUTE = 60_000_000_000
T0 = 1_785_000_000 * 1_000_000_000  # 2026-07-25, a whole minute
FLAT = [(60_000.0, 60_005.0, 59_995.0, 60_000.0)] * 5  # five quiet candles; entries go at bar 5's close (60,000)


def bars(path: list[tuple[float, float, float, float]]) -> list[Bar]:
    bar_type = BarType.from_str(f"{BTC}-1-MINUTE-LAST-EXTERNAL")
    return [
        Bar(bar_type, Price(o, 1), Price(h, 1), Price(l, 1), Price(c, 1), Quantity(100, 2), T0 + (i + 1) * MINUTE, T0 + (i + 1) * MINUTE)
        for i, (o, h, l, c) in enumerate(path)
    ]


def run(path, entries, exits=None, guards=None, **config):
    engine = BacktestEngine(
        BacktestEngineConfig(
            trader_id=TraderId("TESTER-001"),
            logging=LoggingConfig(bypass_logging=True),
            data_engine=DataEngineConfig(time_bars_build_with_no_updates=False),
        ),
    )
    engine.add_venue(Venue("OKX"), OmsType.NETTING, AccountType.MARGIN, [Money(10_000, USDT)], base_currency=None, default_leverage=Decimal(10), bar_execution=True)
    engine.add_instrument(instrument_for(BTC))
    engine.add_data(bars(path))
    raw = {
        "instrument_id": BTC, "timeframes": ["1m"], "entries": [list(e) for e in entries],
        "exits": {"min_stop_bps": 50.0, "take_profits": [{"r": 10.0}], **(exits or {})},
        "guards": {"max_drawdown_pct": 0.0, "daily_loss_limit_pct": 0.0, **(guards or {})},
        **config,
    }  # fmt: skip
    strategy = ScriptedEntries(ScriptedEntriesConfig.parse(msgspec.json.encode(raw)))  # as a node decodes YAML
    published = []
    engine.add_strategy(strategy)
    engine.kernel.msgbus.subscribe(topic=GUARD_TOPIC, handler=published.append)
    engine.run()
    return engine, strategy, published


def fills(engine) -> list[tuple[str, str, float, float, tuple]]:
    """(side, order type, quantity, price, tags) of every fill in time order."""
    out = []
    for order in sorted(engine.cache.orders(), key=lambda o: o.ts_last):
        if order.filled_qty.as_double() > 0:
            out.append((order.side.name, order.order_type.name, order.filled_qty.as_double(), order.avg_px, tuple(order.tags or ())))
    return out


def assert_never_flipped(engine):
    """Walk every fill: the net position never changes sign because of an exit."""
    net = Decimal(0)
    sign = 0
    for event in sorted((e for o in engine.cache.orders() for e in o.events if type(e).__name__ == "OrderFilled"), key=lambda e: e.ts_event):
        qty = event.last_qty.as_decimal() * (1 if event.order_side == OrderSide.BUY else -1)
        before = net
        net += qty
        if before == 0:
            sign = 1 if net > 0 else -1
        else:
            assert net == 0 or (net > 0) == (sign > 0), f"position flipped from {before} to {net}"


def expected_contracts(equity: float, risk_pct: float, entry: float, stop: float) -> float:
    raw = Decimal(str(equity)) * Decimal(str(risk_pct)) / 100 / (Decimal(str(abs(entry - stop))) * Decimal("0.01"))
    return float((raw / Decimal("0.01")).to_integral_value(rounding=ROUND_DOWN) * Decimal("0.01"))


def test_protective_stop_closes_a_losing_long_at_the_stop():
    path = FLAT + [(60_000.0, 60_010.0, 59_600.0, 59_650.0), (59_650.0, 59_700.0, 59_600.0, 59_650.0)]
    engine, strategy, _ = run(path, [(5, 1, 59_900.0)])
    # stop = min(59,900 x (1 - 6 bps), 60,000 x (1 - 50 bps)) = 59,700
    qty = expected_contracts(10_000, 0.5, 60_000, 59_700)
    assert qty == 16.66
    got = fills(engine)
    assert got[0][:3] == ("BUY", "MARKET", qty) and float(got[0][3]) == 60_000.0
    assert got[1][:3] == ("SELL", "STOP_MARKET", qty) and float(got[1][3]) == pytest.approx(59_700.0)
    assert "exit=stop" in got[1][4]
    position = engine.cache.positions_closed()[0]
    fees = (60_000 + 59_700) * qty * 0.01 * 0.0005  # both fills taker (the instrument's 5 bps)
    assert position.realized_pnl.as_double() == pytest.approx(-300 * qty * 0.01 - fees, abs=0.01)
    assert not engine.cache.orders_open()  # the bracket's take-profit went with the position
    assert_never_flipped(engine)


def test_partial_take_profit_then_final_target():
    exits = {"take_profits": [{"r": 1.0, "fraction": 0.5}, {"r": 3.0}]}
    path = FLAT + [(60_000.0, 60_350.0, 59_990.0, 60_200.0), (60_200.0, 60_950.0, 60_150.0, 60_900.0), (60_900.0, 60_950.0, 60_850.0, 60_900.0)]
    engine, _, _ = run(path, [(5, 1, 59_900.0)], exits=exits)
    got = fills(engine)
    assert [(side, kind) for side, kind, *_ in got] == [("BUY", "MARKET"), ("SELL", "MARKET_IF_TOUCHED"), ("SELL", "MARKET_IF_TOUCHED")]
    assert got[1][2] == 8.33 and float(got[1][3]) == pytest.approx(60_300.0)  # half (rounded down to the lot) at 1R
    assert got[2][2] == pytest.approx(16.66 - 8.33) and float(got[2][3]) == pytest.approx(60_900.0)  # the rest at 3R
    assert engine.cache.positions_closed() and not engine.cache.positions_open()
    assert not engine.cache.orders_open()
    assert_never_flipped(engine)


def test_trailing_exit_arms_at_1r_and_trails_the_high():
    exits = {"trailing_offset_bps": 40.0, "trailing_activation_r": 1.0}
    path = FLAT + [
        (60_000.0, 60_400.0, 59_990.0, 60_380.0),
        (60_380.0, 60_800.0, 60_370.0, 60_750.0),
        (60_750.0, 60_760.0, 60_400.0, 60_450.0),
        (60_450.0, 60_460.0, 60_400.0, 60_450.0),
    ]
    engine, _, _ = run(path, [(5, 1, 59_900.0)], exits=exits)
    got = fills(engine)
    assert got[-1][1] == "TRAILING_STOP_MARKET" and "exit=trailing" in got[-1][4]
    assert float(got[-1][3]) == pytest.approx(60_800.0 * (1 - 0.004), abs=0.2)  # 40 bps under the best high
    assert not engine.cache.positions_open() and not engine.cache.orders_open()
    assert_never_flipped(engine)


def test_trailing_exit_is_not_armed_before_its_activation_price():
    exits = {"trailing_offset_bps": 40.0, "trailing_activation_r": 2.0}  # arms at 60,600
    path = FLAT + [(60_000.0, 60_400.0, 59_990.0, 60_380.0), (60_380.0, 60_390.0, 60_100.0, 60_120.0), (60_120.0, 60_130.0, 60_100.0, 60_120.0)]
    engine, _, _ = run(path, [(5, 1, 59_900.0)], exits=exits)
    # a 40 bps trail from 60,400 would have fired at 60,158.4; not armed, so only the final flatten closes it
    assert [kind for _, kind, *_ in fills(engine)] == ["MARKET", "MARKET"]
    assert "exit=stop_node" in fills(engine)[-1][4]


def test_break_even_moves_the_stop_after_1r():
    exits = {"breakeven_after_r": 1.0, "breakeven_offset_bps": 12.0}
    path = FLAT + [(60_000.0, 60_310.0, 59_990.0, 60_200.0), (60_200.0, 60_210.0, 59_950.0, 59_980.0), (59_980.0, 59_990.0, 59_970.0, 59_980.0)]
    engine, _, _ = run(path, [(5, 1, 59_900.0)], exits=exits)
    got = fills(engine)
    assert got[-1][1] == "STOP_MARKET"
    assert float(got[-1][3]) == pytest.approx(60_000.0 * 1.0012, abs=0.1)  # entry + 12 bps, not the original 59,700
    assert engine.cache.positions_closed()[0].realized_pnl.as_double() > 0  # the offset covers the fees
    assert_never_flipped(engine)


def test_short_entry_gets_its_stop_above():
    path = FLAT + [(60_000.0, 60_400.0, 59_990.0, 60_350.0), (60_350.0, 60_360.0, 60_340.0, 60_350.0)]
    engine, _, _ = run(path, [(5, -1, 60_100.0)])
    got = fills(engine)
    assert got[0][:2] == ("SELL", "MARKET") and got[1][:2] == ("BUY", "STOP_MARKET")
    assert float(got[1][3]) == pytest.approx(60_300.0)  # max(60,100 x (1 + 6 bps), 60,000 x (1 + 50 bps))
    assert_never_flipped(engine)


def test_time_exit_after_max_hold_bars():
    path = FLAT + [(60_000.0, 60_020.0, 59_990.0, 60_010.0)] * 6
    engine, _, _ = run(path, [(5, 1, 59_900.0)], exits={"max_hold_bars": 3})
    got = fills(engine)
    assert got[-1][1] == "MARKET" and "exit=time" in got[-1][4]
    closed = engine.cache.positions_closed()[0]
    assert (closed.ts_closed - closed.ts_opened) // MINUTE == 3


def test_kill_switch_halts_flattens_and_takes_no_more_entries():
    # 5 % risk over a 200 bps stop: ~41 contracts; a slide of 2.1 % of equity trips the 2 % kill switch
    path = FLAT + [(60_000.0, 60_000.0, 59_700.0, 59_750.0), (59_750.0, 59_760.0, 59_450.0, 59_480.0)] + [(59_480.0, 59_500.0, 59_470.0, 59_480.0)] * 6
    engine, strategy, published = run(
        path, [(5, 1, 58_900.0), (10, 1, 59_000.0), (12, 1, 59_000.0)],
        exits={"min_stop_bps": 200.0}, guards={"max_drawdown_pct": 2.0, "flatten_on_kill": True, "max_instrument_exposure_pct": 400.0}, risk_per_trade_pct=5.0,
    )  # fmt: skip
    kinds = [(e.guard, e.action) for e in published]
    assert ("kill_switch", "halted") in kinds and ("kill_switch", "flattened") in kinds
    halted = next(e for e in published if e.action == "halted")
    assert "drawdown" in halted.detail and "2.00" in halted.detail
    got = fills(engine)
    assert [kind for _, kind, *_ in got] == ["MARKET", "MARKET"]  # one entry, one kill-switch flatten; scripted bars 10 and 12 never entered
    assert "exit=kill_switch" in got[1][4]
    assert not engine.cache.orders_open() and strategy.guards.halted


def test_guard_blocks_an_entry_over_the_exposure_limit_and_records_why():
    engine, strategy, published = run(FLAT + FLAT, [(5, 1, 59_900.0)], guards={"max_instrument_exposure_pct": 50.0})
    assert not fills(engine)
    assert [(e.guard, e.action) for e in published] == [("instrument_exposure", "blocked")]
    assert "50" in published[0].detail and strategy.skipped == {"instrument_exposure": 1}


def test_unsizable_entry_is_skipped_with_its_reason():
    engine, strategy, _ = run(FLAT + FLAT, [(5, 1, 59_900.0)], risk_per_trade_pct=0.0001)
    assert not fills(engine)
    assert strategy.skipped == {"size": 1}


def test_stop_wider_than_allowed_skips_the_trade():
    engine, strategy, _ = run(FLAT + FLAT, [(5, 1, 57_000.0)], exits={"max_stop_bps": 300.0})
    assert not fills(engine) and strategy.skipped == {"stop_too_wide": 1}


def test_every_entry_order_is_a_bracket_with_a_stop():
    engine, _, _ = run(FLAT + FLAT, [(5, 1, 59_900.0)])
    entry = next(o for o in engine.cache.orders() if o.order_type == OrderType.MARKET and "exit=stop_node" not in (o.tags or []))
    siblings = [o for o in engine.cache.orders() if o.order_list_id == entry.order_list_id]
    stops = [o for o in siblings if o.order_type == OrderType.STOP_MARKET]
    assert len(stops) == 1 and stops[0].is_reduce_only and stops[0].side == OrderSide.SELL
    assert stops[0].ts_init <= entry.ts_last  # submitted with the entry, before its fill
    assert stops[0].status in (OrderStatus.CANCELED, OrderStatus.FILLED)


def test_exits_through_the_backtest_node_and_its_run_folder(tmp_path):
    """The same crafted path through the catalog, a BacktestNode and the run folder: target, trailing exit, report."""
    import json

    import pandas as pd
    import yaml

    from ravebear.catalog.store import RaveCatalog
    from ravebear.platform.nodes.backtest import run_backtest
    from ravebear.platform.nodes.run_file import parse_run_file

    path = FLAT + [
        (60_000.0, 60_350.0, 59_990.0, 60_320.0),  # 1R: half off at 60,300; the trailing exit arms (activation 1R)
        (60_320.0, 60_800.0, 60_310.0, 60_750.0),  # new high 60,800
        (60_750.0, 60_760.0, 60_400.0, 60_450.0),  # 40 bps under 60,800 = 60,556.8: the trailing exit fires
    ] + FLAT
    candles = pd.DataFrame(path, columns=["open", "high", "low", "close"])
    candles.insert(0, "ts", [(T0 + i * MINUTE) // 1_000_000 for i in range(len(path))])  # open times, ms
    candles["volume"] = 1.0
    candles["volume_contracts"] = 100.0
    file = tmp_path / "crafted.parquet"
    candles.to_parquet(file)
    catalog = RaveCatalog(tmp_path / "catalog")
    assert catalog.import_file(file, instrument_for(BTC)).written == len(path)
    config = {
        "run": {"name": "crafted", "tearsheet": False, "risk_report": True},
        "venue": {"name": "OKX", "starting_balance": "10000 USDT", "taker_fee_bps": 5.0, "maker_fee_bps": 2.0},
        "risk": {"max_drawdown_pct": 0, "daily_loss_limit_pct": 0},
        "data": [{"instrument_id": BTC}],
        "strategies": [{
            "strategy_path": "tests.scripted_strategy:ScriptedEntries",
            "config": {
                "instrument_id": BTC, "timeframes": ["1m"], "entries": [[5, 1, 59_900.0]],
                "exits": {"take_profits": [{"r": 1.0, "fraction": 0.5}, {"r": 10.0}], "trailing_offset_bps": 40.0, "trailing_activation_r": 1.0},
            },
        }],
    }  # fmt: skip
    text = yaml.safe_dump(config)
    folder = run_backtest(parse_run_file(text, "crafted.yaml"), text, catalog, tmp_path / "runs").run.path
    orders = pd.read_csv(folder / "orders.csv")
    filled = orders[orders["filled_qty"] > 0].sort_values("ts_last", kind="stable")
    assert list(filled["type"]) == ["MARKET", "MARKET_IF_TOUCHED", "TRAILING_STOP_MARKET"]
    assert list(filled["filled_qty"]) == [16.66, 8.33, 8.33]
    assert list(filled["avg_px"])[1:] == [pytest.approx(60_300.0), pytest.approx(60_800.0 * 0.996, abs=0.2)]
    (trade,) = json.loads((folder / "risk_report.json").read_text())["trades"]
    assert [(e["reason"], e["qty"]) for e in trade["exits"]] == [("take_profit", 8.33), ("trailing", 8.33)]
    assert trade["exit_reason"] == "trailing" and trade["risk"] == pytest.approx(16.66 * 0.01 * 300)
    assert trade["r_multiple"] == pytest.approx(trade["pnl"] / trade["risk"])
