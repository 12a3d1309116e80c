"""Stalled-feed watchdog: the pure class, then a real paper TradingNode whose data or order acks stop.

The node tests replay the bundled real OKX sample through the catalog replay client and the bar
sandbox. A market-data stall is a real gap of the sample (2026-07-28 09:48 -> 12:13 UTC): at speed
600 the replay waits its 5 s gap cap of wall time there, as a live feed that went quiet would. An
order stall is the sandbox's `submit_hook` doing what nautilus's OKX client does before it sends a
bracket (OrderSubmitted for every leg) and then dropping it: the venue never answers.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgspec
import pandas as pd
import pytest
import yaml

from ravebear.catalog.instruments import instrument_for
from ravebear.catalog.store import RaveCatalog
from ravebear.risk.feed_watchdog import FeedStateChange, FeedWatchdog, FeedWatchdogSettings
from ravebear.risk.guards import GuardLimits, RiskGuards

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"
BTC, ETH = "BTC-USDT-SWAP.OKX", "ETH-USDT-SWAP.OKX"
S = 1_000_000_000
T0 = 1_785_000_000 * S

# -- the pure class --------------------------------------------------------------------------

SETTINGS = FeedWatchdogSettings(market_data_stall_s=150, order_update_stall_s=15, check_interval_s=1)
HALT_DATA = "no market data for BTC-USDT-SWAP.OKX for 152.3 s (limit 150 s): new entries halted"

# (name, steps, expected changes): a step is ("data", t), ("wait", t, order, what), ("answer", t, order) or
# ("check", t); times are seconds after the watchdog started
SCENARIOS = [
    ("bars every minute never stall", [("data", 60), ("check", 120), ("data", 120), ("check", 269.9)], []),
    ("no data since start", [("check", 149.9), ("check", 150)], [(150, True, "no market data for BTC-USDT-SWAP.OKX for 150.0 s (limit 150 s): new entries halted")]),
    ("data stops, then comes back", [("data", 10), ("check", 162.3), ("check", 200), ("data", 372), ("check", 372.3)],
     [(162.3, True, HALT_DATA), (372.3, False, "feed healthy again after 210.0 s: entries resume")]),
    ("a stall is reported once", [("check", 151), ("check", 152), ("check", 400)], [(151, True, "no market data for BTC-USDT-SWAP.OKX for 151.0 s (limit 150 s): new entries halted")]),
    ("an acked order is fine", [("wait", 1, "O-1", "submitted"), ("answer", 2, "O-1"), ("check", 30)], []),
    ("an order without an ack", [("data", 5), ("wait", 5, "O-1", "submitted"), ("data", 19), ("check", 19.9), ("check", 20.5)],
     [(20.5, True, "no venue answer for order O-1 (submitted) for 15.5 s (limit 15 s): new entries halted")]),
    ("a late cancel ack resumes", [("wait", 0, "O-2", "pending cancel"), ("check", 16), ("answer", 40, "O-2"), ("check", 41)],
     [(16, True, "no venue answer for order O-2 (pending cancel) for 16.0 s (limit 15 s): new entries halted"),
      (41, False, "feed healthy again after 25.0 s: entries resume")]),
    ("waiting again keeps the first time", [("wait", 0, "O-3", "submitted"), ("wait", 10, "O-3", "pending modify"), ("check", 15)],
     [(15, True, "no venue answer for order O-3 (pending modify) for 15.0 s (limit 15 s): new entries halted")]),
    ("both stall; resume only when both are healthy",
     [("wait", 100, "O-4", "submitted"), ("check", 120), ("check", 151), ("answer", 155, "O-4"), ("check", 156), ("data", 157), ("check", 158)],
     [(120, True, "no venue answer for order O-4 (submitted) for 20.0 s (limit 15 s): new entries halted"),
      (151, True, "no market data for BTC-USDT-SWAP.OKX for 151.0 s (limit 150 s): new entries halted"),
      (158, False, "feed healthy again after 38.0 s: entries resume")]),
]


def _run(watchdog: FeedWatchdog, steps: list[tuple]) -> list[tuple[float, bool, str]]:
    changes: list[FeedStateChange] = []
    for kind, t, *rest in steps:
        ts = T0 + round(t * S)
        if kind == "data":
            watchdog.on_market_data(ts)
        elif kind == "wait":
            watchdog.on_order_waiting(rest[0], ts, rest[1])
        elif kind == "answer":
            watchdog.on_order_update(rest[0], ts)
        else:
            changes += watchdog.check(ts)
    return [((c.ts - T0) / S, c.stalled, c.detail) for c in changes]


@pytest.mark.parametrize(("name", "steps", "expected"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_feed_watchdog_scenarios_report_exact_state_changes(name, steps, expected):
    watchdog = FeedWatchdog(SETTINGS, BTC, T0)
    got = _run(watchdog, steps)
    assert [(pytest.approx(t), stalled, detail) for t, stalled, detail in expected] == got
    assert watchdog.stalled == (bool(expected) and expected[-1][1])
    assert (watchdog.reason == "") == (not watchdog.stalled)


def test_feed_watchdog_reason_lists_every_stall_of_the_halt():
    watchdog = FeedWatchdog(SETTINGS, BTC, T0)
    _run(watchdog, [("wait", 100, "O-4", "submitted"), ("check", 120), ("check", 151)])
    assert watchdog.reason == (
        "no venue answer for order O-4 (submitted) for 20.0 s (limit 15 s): new entries halted; "
        "no market data for BTC-USDT-SWAP.OKX for 151.0 s (limit 150 s): new entries halted"
    )


def test_feed_watchdog_with_zero_limits_checks_nothing():
    watchdog = FeedWatchdog(FeedWatchdogSettings(market_data_stall_s=0, order_update_stall_s=0), BTC, T0)
    assert _run(watchdog, [("wait", 0, "O-1", "submitted"), ("check", 10_000)]) == []
    assert not FeedWatchdogSettings(market_data_stall_s=0, order_update_stall_s=0).enabled


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"market_data_stall_s": -1}, "feed_watchdog.market_data_stall_s must be a finite number >= 0 (0 = off), got -1.0"),
        ({"order_update_stall_s": float("nan")}, "feed_watchdog.order_update_stall_s must be a finite number >= 0 (0 = off), got nan"),
        ({"check_interval_s": 0}, "feed_watchdog.check_interval_s must be > 0 while a stall limit is set, got 0.0"),
        ({"market_data_stall_s": 150, "stall_s": 1}, "Object contains unknown field `stall_s`"),
    ],
)
def test_feed_watchdog_settings_reject_bad_values_by_name(raw, message):
    with pytest.raises((msgspec.ValidationError, ValueError), match=message.replace("(", r"\(").replace(")", r"\)")):
        msgspec.convert(raw, FeedWatchdogSettings)


def test_live_yaml_sets_the_watchdog_explicitly_and_bad_values_fail_by_key():
    from ravebear.platform.nodes.composer import component_configs
    from ravebear.platform.nodes.run_file import ConfigError, load_run_file, parse_run_file

    config, _ = load_run_file(REPO / "config" / "live.yaml")
    strategies, _ = component_configs(config)
    assert [s.config["feed_watchdog"] for s in strategies] == [{"market_data_stall_s": 150, "order_update_stall_s": 15, "check_interval_s": 1}] * 2
    raw = yaml.safe_load((REPO / "config" / "live.yaml").read_text())
    raw["strategies"][0]["config"]["feed_watchdog"]["order_update_stall_s"] = -1
    with pytest.raises(ConfigError) as error:
        parse_run_file(yaml.safe_dump(raw), "live.yaml")
    assert str(error.value) == (
        "live.yaml: 'strategies[0].config.feed_watchdog.order_update_stall_s' must be a finite number >= 0 (0 = off), got -1.0"
    )


def test_guards_entry_block_refuses_entries_until_resumed_and_keeps_the_other_guards():
    guards = RiskGuards(GuardLimits(max_orders_per_minute=0), strategy_id="S-001")
    event = guards.block_entries(T0, "feed_stalled", BTC, HALT_DATA)
    assert (event.guard, event.action, event.detail) == ("feed_stalled", "blocked", HALT_DATA)
    assert guards.entries_blocked == HALT_DATA
    decision = guards.check_entry(T0 + S, BTC, 1_000.0, 10_000.0, 0, 0.0, 0.0)
    assert not decision.allowed and (decision.event.guard, decision.event.action, decision.event.detail) == ("feed_stalled", "blocked", HALT_DATA)
    resumed = guards.resume_entries(T0 + 2 * S, "feed_stalled", BTC, "feed healthy again after 2.0 s: entries resume")
    assert (resumed.action, guards.entries_blocked) == ("resumed", "")
    assert guards.resume_entries(T0 + 3 * S, "feed_stalled", BTC, "again") is None  # nothing to resume: nothing recorded
    assert guards.check_entry(T0 + 4 * S, BTC, 1_000.0, 10_000.0, 0, 0.0, 0.0).allowed
    guards.halted, guards._halt_detail = True, "drawdown"  # the kill switch still wins over a feed block
    guards.block_entries(T0 + 5 * S, "feed_stalled", BTC, HALT_DATA)
    assert guards.check_entry(T0 + 6 * S, BTC, 1_000.0, 10_000.0, 0, 0.0, 0.0).event.guard == "kill_switch"
    assert [e.action for e in guards.events] == ["blocked", "blocked", "resumed", "blocked", "blocked"]


# -- a real paper TradingNode ----------------------------------------------------------------

GAP_LAST = pd.Timestamp("2026-07-28 09:48", tz="UTC")  # close time of BTC's last bar before a real 146-minute gap
GAP_FIRST = pd.Timestamp("2026-07-28 12:14", tz="UTC")  # close time of the first bar after it


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Path:
    store = RaveCatalog(tmp_path_factory.mktemp("catalog"))
    for name in ("BTC-USDT-SWAP", "ETH-USDT-SWAP"):
        store.import_file(SAMPLE / f"okx_swap_{name}_1m_20260727_20260822_gappy.parquet", instrument_for(name))
    return store.path


def closes(instrument: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """The sample's 1m closes by close time (bars are stamped at close), as the replay hands them out."""
    raw = pd.read_parquet(SAMPLE / f"okx_swap_{instrument.split('.')[0]}_1m_20260727_20260822_gappy.parquet")
    close_time = pd.to_datetime(raw["ts"], unit="ms", utc=True) + pd.Timedelta(minutes=1)
    series = pd.Series(raw["close"].to_numpy(), index=close_time).sort_index()
    return series[(series.index >= start) & (series.index <= end)]


def long_entry(instrument: str, start: pd.Timestamp, end: pd.Timestamp, close_time: pd.Timestamp) -> list:
    """A scripted long at the bar closing at `close_time`, invalidated 1 % below its close (a ~1.06 % stop)."""
    series = closes(instrument, start, end)
    number = series.index.get_loc(close_time) + 1
    return [number, 1, round(float(series.loc[close_time]) * 0.99, 1)]


def paper_config(tmp_path: Path, start: pd.Timestamp, end: pd.Timestamp, entries: dict[str, list], watchdog: dict) -> Any:
    from ravebear.platform.nodes.run_file import parse_run_file

    raw = {
        "run": {"name": "watchdog", "output_dir": str(tmp_path / "runs"), "tearsheet": False, "risk_report": False, "log_level": "ERROR"},
        "venue": {"name": "OKX", "starting_balance": "10000 USDT", "taker_fee_bps": 5.0, "maker_fee_bps": 2.0},
        "risk": {"max_drawdown_pct": 0, "daily_loss_limit_pct": 0},
        "data": [{"instrument_id": instrument, "start": start.isoformat(), "end": end.isoformat()} for instrument in entries],
        "strategies": [{
            "strategy_path": "tests.scripted_strategy:ScriptedEntries",
            "config": {"timeframes": ["1m"], "feed_watchdog": watchdog, "exits": {"take_profits": [{"r": 4.0}]}},
            "instruments": {instrument: {"entries": rows} for instrument, rows in entries.items()},
        }],
        "node": {"trader_id": "WATCHDOG-001", "data": "replay", "speed": 600, "dashboard": False, "stop_action": "cancel", "reconciliation": False},
    }  # fmt: skip
    return parse_run_file(yaml.safe_dump(raw), "watchdog.yaml")


def run_node(handles: Any, timeout_s: float = 30.0) -> None:
    """Run the node until the replay has handed out everything, then stop it (the cache stays readable)."""
    node = handles.node

    async def session() -> None:
        runner = asyncio.ensure_future(node.run_async())
        await asyncio.wait([asyncio.ensure_future(handles.replay.finished.wait()), runner], timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        await asyncio.sleep(0.3)  # a last watchdog check
        await node.stop_async()
        await asyncio.sleep(0.2)
        runner.cancel()

    node.get_event_loop().run_until_complete(session())


def dispose(handles: Any) -> None:
    loop = handles.node.get_event_loop()
    pending = asyncio.all_tasks(loop)  # nautilus's actor executor worker still waits on its queue
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    handles.node.dispose()
    if not loop.is_closed():
        loop.close()


def strategies_by_instrument(handles: Any) -> dict[str, Any]:
    return {strategy.config.instrument_id.value: strategy for strategy in handles.node.trader.strategies()}


def entries_in_cache(handles: Any, strategy: Any) -> list[Any]:
    return [order for order in handles.node.kernel.cache.orders(strategy_id=strategy.id) if any(tag.startswith("risk=") for tag in order.tags or [])]


def test_paper_node_halts_entries_while_market_data_stalls_and_resumes_after(catalog, tmp_path):
    from ravebear.platform.nodes.trading import build_trading_node

    start, end = GAP_LAST - pd.Timedelta(minutes=14), GAP_FIRST + pd.Timedelta(minutes=19)
    refused = long_entry(BTC, start, end, GAP_FIRST)  # the first bar after the gap: the feed is still marked stalled
    taken = long_entry(BTC, start, end, GAP_FIRST + pd.Timedelta(minutes=10))  # ~1 s of wall time later, after the next checks
    watchdog = {"market_data_stall_s": 1.5, "order_update_stall_s": 5.0, "check_interval_s": 0.25}
    handles = build_trading_node(paper_config(tmp_path, start, end, {BTC: [refused, taken]}, watchdog), "paper", catalog, log_level="ERROR")
    handed: dict[int, int] = {}  # bar close ns -> wall ns at hand-off
    handles.replay.on_hand = lambda item, wall_ns: handed.setdefault(item.ts_event, wall_ns)
    try:
        run_node(handles)
        strategy = strategies_by_instrument(handles)[BTC]
        feed = [e for e in strategy.guards.events if e.guard == "feed_stalled"]
        assert [e.action for e in feed] == ["blocked", "blocked", "resumed"]
        halt, refusal, resume = feed
        assert halt.detail.startswith(f"no market data for {BTC} for ") and halt.detail.endswith(" s (limit 1.5 s): new entries halted")
        # detected within the limit + one check interval (+ scheduling slack on a loaded machine) after the last bar before the gap
        last_before = handed[GAP_LAST.value]
        assert 1.5 <= (halt.ts - last_before) / S <= 1.5 + 0.25 + 0.5
        silent = float(halt.detail.split(" for ")[2].split(" s ")[0])
        assert 1.5 <= silent <= 1.5 + 0.25 + 0.5
        # the scripted entry on the first bar after the gap is refused with the alert as the reason
        assert refusal.detail == halt.detail and refusal.ts == GAP_FIRST.value and refusal.instrument_id == BTC
        assert strategy.skipped.get("feed_stalled") == 1
        assert resume.detail.startswith("feed healthy again after ") and resume.detail.endswith(" s: entries resume")
        assert handed[GAP_FIRST.value] <= resume.ts < handed[(GAP_FIRST + pd.Timedelta(minutes=10)).value]
        # the next entry went through: one entry in the cache, filled at the bar ten minutes after the gap
        (entry,) = entries_in_cache(handles, strategy)
        assert entry.status.name == "FILLED" and entry.ts_init > resume.ts
        assert f"signal=scripted at bar {taken[0]}" in entry.tags
        assert strategy.signals == 2 and strategy.feed_watch is None  # stopped with the node: timer cancelled
        assert "ravebear-feed-watchdog" not in strategy.clock.timer_names
    finally:
        dispose(handles)


def test_paper_node_halts_entries_when_an_order_never_gets_its_ack(catalog, tmp_path):
    from ravebear.platform.nodes.trading import build_trading_node

    start, end = pd.Timestamp("2026-07-28 06:00", tz="UTC"), pd.Timestamp("2026-07-28 06:40", tz="UTC")
    btc_entry = long_entry(BTC, start, end, start + pd.Timedelta(minutes=5))
    eth_entry = long_entry(ETH, start, end, start + pd.Timedelta(minutes=25))  # ~2 s of wall time later
    watchdog = {"market_data_stall_s": 30.0, "order_update_stall_s": 0.5, "check_interval_s": 0.1}
    handles = build_trading_node(paper_config(tmp_path, start, end, {BTC: [btc_entry], ETH: [eth_entry]}, watchdog), "paper", catalog, log_level="ERROR")
    sandbox = handles.sandbox
    swallowed: list[Any] = []

    def swallow_btc(command: Any) -> bool:
        if command.instrument_id.value != BTC:
            return True
        for order in command.order_list.orders:  # what OKX's client does before it sends, then the venue stays silent
            sandbox.generate_order_submitted(order.strategy_id, order.instrument_id, order.client_order_id, sandbox._clock.timestamp_ns())
        swallowed.append(command)
        return False

    sandbox.submit_hook = swallow_btc
    try:
        run_node(handles)
        by_instrument = strategies_by_instrument(handles)
        btc, eth = by_instrument[BTC], by_instrument[ETH]
        (command,) = swallowed
        entry_id = command.order_list.orders[0].client_order_id.value
        halt = f"no venue answer for order {entry_id} (submitted) for "
        for strategy in (btc, eth):  # one execution feed: every strategy on the venue halts
            blocked = [e for e in strategy.guards.events if (e.guard, e.action) == ("feed_stalled", "blocked")]
            assert blocked and blocked[0].detail.startswith(halt) and blocked[0].detail.endswith(" s (limit 0.5 s): new entries halted")
            # never healthy again: the block ended only when the node stopped the strategy (and its watchdog)
            (lifted,) = [e for e in strategy.guards.events if (e.guard, e.action) == ("feed_stalled", "resumed")]
            assert lifted.detail.startswith(f"feed watchdog stopped with the strategy while halted ({halt}") and lifted.detail.endswith("): block lifted")
            assert lifted.ts > blocked[-1].ts
        # the swallowed bracket: still waiting at the venue; its stop and target legs were never counted as stalls
        (btc_entry_order,) = entries_in_cache(handles, btc)
        assert btc_entry_order.status.name == "SUBMITTED"
        assert sum(e.detail.count("no venue answer") for e in btc.guards.events if e.guard == "feed_stalled" and e.action == "blocked") == 1
        # ETH's later entry is refused with the alert, and no ETH order exists
        refusal = [e for e in eth.guards.events if e.guard == "feed_stalled" and e.action == "blocked"][-1]
        assert refusal.instrument_id == ETH and refusal.detail.startswith(halt)
        assert eth.skipped.get("feed_stalled") == 1 and eth.signals == 1
        assert list(handles.node.kernel.cache.orders(strategy_id=eth.id)) == []
    finally:
        dispose(handles)
