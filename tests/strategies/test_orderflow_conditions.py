"""Order-flow entry conditions and the zone-defense requirement in backtests over the real Binance spot capture (trades,
L2 book and 1-minute bars built from the trades): each entry is refused or permitted for the reason the raw data gives."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nautilus_trader.backtest.node import BacktestNode

from ravebear.platform.nodes.composer import backtest_run_config
from ravebear.platform.nodes.run_file import ConfigError, parse_run_file
from ravebear.research.orderflow.compute import minute_bars
from ravebear.research.orderflow.context import level_contexts
from ravebear.research.orderflow.load import load
from ravebear.strategies.levels.engine import LevelEngineConfig
from ravebear.strategies.levels.model import EventKind
from ravebear.strategies.microstructure.book_features import BookFeatureConfig, book_features
from ravebear.strategies.microstructure.types import Book
from ravebear.strategies.orderflow_actor import level_context_config
from tests.platform.test_backtest import ravebear
from tests.scripted_strategy import ScriptedEntries, ScriptedEntriesConfig
from tests.strategies.spot_capture import INSTRUMENT, LEVELS, spot_catalog

WINDOW_S = 60.0  # level context delta_window_s (its default)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    return spot_catalog(tmp_path_factory.mktemp("conditions") / "cat")


@pytest.fixture(scope="module")
def flow(catalog):
    return load(catalog, INSTRUMENT, None, None)


def bar_closes(flow) -> list[tuple[int, float]]:
    """(close ns, close price) of the capture's 1-minute bars: scripted bar n closes at the n-th."""
    bars = minute_bars(flow.trades)
    return [(int(ts) * 1_000_000 + 60_000_000_000, float(close)) for ts, close in zip(bars["ts"], bars["close"], strict=True)]


def obi_before(flow, ts: int) -> float:
    """Brute force: plain OBI of the top 10 levels of the book rebuilt from every update received before ts."""
    book = Book()
    for update in flow.book:
        if update is None:
            book.clear()
        elif update.ts_ns < ts:
            book.apply(update)
        else:
            break
    return book_features(book, BookFeatureConfig()).obi


def delta_before(flow, ts: int) -> float:
    """Brute force: aggressive buy - sell size of the trades received in (ts - 60 s, ts)."""
    return sum(t.size * t.aggressor for t in flow.trades if ts - WINDOW_S * 1e9 < t.ts_ns < ts)


def run_file(catalog_path: str, strategy: dict) -> dict:
    return {
        "run": {"catalog_path": catalog_path, "tearsheet": False, "risk_report": False, "log_level": "ERROR"},
        "venue": {"name": "BINANCE", "starting_balance": "10000 USDT", "account_type": "MARGIN"},
        "data": [{"instrument_id": INSTRUMENT, "kind": kind} for kind in ("bars", "trades", "book")],
        "strategies": [strategy],
    }


def scripted(entries: list[tuple[int, int, float]], orderflow: dict) -> dict:
    return {
        "strategy_path": "tests.scripted_strategy:ScriptedEntries",
        "config": {"instrument_id": INSTRUMENT, "timeframes": ["1m"], "entries": [list(e) for e in entries], "entry_filter": {"orderflow": orderflow}},
    }


def run_strategy(catalog, raw: dict):
    config = parse_run_file(yaml.safe_dump(raw), "conditions.yaml")
    run_config = backtest_run_config(config, catalog.path.resolve())
    node = BacktestNode(configs=[run_config])
    node.run()
    engine = node.get_engine(run_config.id)
    return engine.trader.strategies()[0], engine


@pytest.mark.parametrize(
    ("orderflow", "guard", "reading"),
    [
        ({"obi_min": None}, "orderflow_obi", obi_before),  # obi_min: set from the data below
        ({"cvd": "aligned"}, "orderflow_cvd", delta_before),
    ],
)
def test_a_condition_refuses_entries_until_the_data_agrees(catalog, flow, orderflow, guard, reading):
    """Longs scripted on consecutive bars from the first one the raw reading refuses to the first it permits after it."""
    closes = bar_closes(flow)
    readings = {n: reading(flow, ts) for n, (ts, _) in enumerate(closes, start=1) if n >= 2}
    if "obi_min" in orderflow:  # between bar 2's OBI and the highest after it: bar 2 is refused, a later one passes
        threshold = round((readings[2] + max(v for n, v in readings.items() if n > 2)) / 2, 4)
        orderflow = {"obi_min": threshold}
        passes = {n: v >= threshold for n, v in readings.items()}
    else:
        passes = {n: v > 0 for n, v in readings.items()}
    first = min(n for n, ok in passes.items() if not ok)
    last = min(n for n, ok in passes.items() if ok and n > first)
    entries = [(n, 1, closes[n - 1][1] * 0.998) for n in range(first, last + 1)]  # stop 20 bps below the bar's close
    strategy, engine = run_strategy(catalog, run_file(str(catalog.path), scripted(entries, orderflow)))
    refused = sum(1 for n in range(first, last) if not passes[n])
    assert refused == last - first >= 1
    assert strategy.skipped == {guard: refused}
    assert strategy.signals == last - first + 1
    entry = [o for o in engine.cache.orders() if o.tags and any(t.startswith("signal=") for t in o.tags)]
    assert len(entry) == 1 and entry[0].ts_init == closes[last - 1][0]  # the permitted bar's entry went out


def test_every_refusal_is_counted_and_shown_in_the_no_trades_summary(catalog, flow, tmp_path):
    """A whale threshold above the capture's largest trade: every scripted long is refused as orderflow_whale."""
    largest = max(t.price * t.size for t in flow.trades)
    closes = bar_closes(flow)
    entries = [(n, 1, closes[n - 1][1] * 0.998) for n in range(2, 12)]
    raw = run_file(str(catalog.path), scripted(entries, {"whale_within_s": 120, "context": {"whales": {"min_notional": round(largest * 2)}}}))
    raw["run"]["output_dir"] = str(tmp_path / "runs")
    path = tmp_path / "whales.yaml"
    path.write_text(yaml.safe_dump(raw))
    done = ravebear("backtest", str(path), cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    at = lines.index(f"no trades: {len(entries)} entry signals, {len(entries)} refused:")
    assert lines[at + 1] == f"        {len(entries)}  guard orderflow_whale, e.g. long scripted at bar 2: no whale trade within 120 s (none yet)"


def test_a_whale_nearby_permits_the_entry(catalog, flow):
    """With the threshold at the capture's largest trade, the first scripted long within 120 s after it goes in."""
    trades = flow.trades
    largest = max(trades, key=lambda t: t.price * t.size)
    closes = bar_closes(flow)
    after = [n for n, (ts, _) in enumerate(closes, start=1) if n >= 2 and ts > largest.ts_ns]
    before = [n for n in range(2, after[0])]
    near = after[0] if (closes[after[0] - 1][0] - largest.ts_ns) <= 120e9 else None
    assert near is not None and before  # the capture has bars on both sides of its largest trade
    entries = [(n, 1, closes[n - 1][1] * 0.998) for n in [*before, near]]
    whales = {"min_notional": largest.price * largest.size}
    strategy, _ = run_strategy(catalog, run_file(str(catalog.path), scripted(entries, {"whale_within_s": 120, "context": {"whales": whales}})))
    assert strategy.skipped == {"orderflow_whale": len(before)}
    assert strategy.signals == len(before) + 1


def zone_defense(require: bool, min_refill: float = 1.0) -> dict:
    return {
        "strategy_path": "ravebear.strategies.zone_defense:ZoneDefense",
        "config": {
            "instrument_id": INSTRUMENT, "timeframes": ["1m"], "signal_timeframes": ["1m"], "min_score": 0.0, "levels": LEVELS,
            "require_defended_zone": require, "entry_filter": {"orderflow": {"context": {"zone_defense": {"min_refill": min_refill}}}},
        },
    }  # fmt: skip


def test_require_defended_zone_enters_only_when_the_book_defended_the_touched_zone(catalog, flow):
    """The capture's one zone-defense signal (a touched confluence that closed back below it) enters without the
    requirement; with it, the entry follows the zone's refill at the touch (research's context of that TOUCHED event)."""
    plain, engine = run_strategy(catalog, run_file(str(catalog.path), zone_defense(False)))
    assert plain.signals == 1 and plain.skipped == {}
    entry = next(o for o in engine.cache.orders() if o.tags and any(t.startswith("signal=") for t in o.tags))
    touched = [
        (event, context) for _, event, context in level_contexts(flow, LevelEngineConfig.from_dict({"timeframes": ["1m"], **LEVELS}), level_context_config({}))
        if event.kind is EventKind.TOUCHED and event.ts == entry.ts_init and event.level.kind.value in ("box", "origin", "confluence")
    ]  # fmt: skip
    assert len(touched) == 1
    _, context = touched[0]
    assert context.zone_state == "held" and not context.zone_defended  # by the default min_refill 1: the book did not refill
    refill = context.zone_refill
    assert 0 < refill < 1

    strict, _ = run_strategy(catalog, run_file(str(catalog.path), zone_defense(True)))
    assert strict.signals == 1 and strict.skipped == {"zone_not_defended": 1}
    lenient, engine = run_strategy(catalog, run_file(str(catalog.path), zone_defense(True, min_refill=round(refill - 0.01, 4))))
    assert lenient.signals == 1 and lenient.skipped == {}
    assert len([o for o in engine.cache.orders() if o.tags and any(t.startswith("signal=") for t in o.tags)]) == 1
    tighter, _ = run_strategy(catalog, run_file(str(catalog.path), zone_defense(True, min_refill=round(refill + 0.01, 4))))
    assert tighter.skipped == {"zone_not_defended": 1}


@pytest.mark.parametrize(
    ("orderflow", "message"),
    [
        ({"obi_min": 2}, "conditions.yaml: 'strategies[0].config.entry_filter.orderflow.obi_min' must be between -1 and 1 order-book imbalance, got 2"),
        ({"whale_within_s": -5}, "conditions.yaml: 'strategies[0].config.entry_filter.orderflow.whale_within_s' must be between 0 and 86,400 seconds (0 = off), got -5"),
        ({"obi_mn": 0.2}, "conditions.yaml: strategies[0]: config: unknown key 'entry_filter.orderflow.obi_mn' (did you mean 'obi_min'?) for ScriptedEntriesConfig"),
        ({"cvd": "up"}, "conditions.yaml: 'strategies[0].config.entry_filter.orderflow.cvd' must be one of '', aligned, diverging, got 'up'"),
        ({"context": {"near_bp": 5}},
         "conditions.yaml: strategies[0]: config: unknown key 'entry_filter.orderflow.context.near_bp' (did you mean 'near_bps'?)"),
        ({"context": {"zone_defense": {"break_bps": -1}}},
         "conditions.yaml: 'strategies[0].config.entry_filter.orderflow.context.zone_defense.break_bps' must be between 0 and 5,000 bps, got -1"),
    ],
)
def test_a_bad_orderflow_condition_is_named_with_its_key(tmp_path, orderflow, message):
    with pytest.raises(ConfigError) as raised:
        parse_run_file(yaml.safe_dump(run_file(str(tmp_path), scripted([(2, 1, 1.0)], orderflow))), "conditions.yaml")
    assert str(raised.value) == message


def test_the_cli_exits_2_naming_a_bad_condition(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(run_file(str(tmp_path / "cat"), scripted([(2, 1, 1.0)], {"absorption_min_tier": 4}))))
    done = ravebear("backtest", str(path), cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: {path}: 'strategies[0].config.entry_filter.orderflow.absorption_min_tier' must be between 0 and 3 tier (0 = off), got 4"
    )


def test_the_shipped_example_runs_on_the_imported_capture(tmp_path):
    """config/backtests/orderflow-zone-defense.yaml on a catalog made as its comment says: bars from the trades,
    the zone-defense short refused at the refill the research path computes, the wick short taken."""
    from tests.catalog.orderflow.captures import PREFIXES, TRADES_BOOK

    repo = Path(__file__).resolve().parents[2]
    catalog = tmp_path / "cat"
    files = [str(TRADES_BOOK / f"{PREFIXES['spot']}{kind}.parquet") for kind in ("trades", "depthdiff")]
    assert ravebear("catalog", "import-orderflow", *files, "--catalog", str(catalog), cwd=repo).returncode == 0
    done = ravebear("backtest", "config/backtests/orderflow-zone-defense.yaml", "--catalog", str(catalog), "--output", str(tmp_path / "runs"), cwd=repo)
    assert done.returncode == 0, done.stderr
    run = next((tmp_path / "runs").iterdir())
    summary = __import__("json").loads((run / "summary.json").read_text())
    assert (summary["entry_signals"], summary["skipped_entries"], summary["trades"]) == (2, {"zone_not_defended": 1}, 1)
    example = yaml.safe_load((repo / "config/backtests/orderflow-zone-defense.yaml").read_text())["strategies"][0]["config"]
    from ravebear.catalog.store import RaveCatalog

    contexts = level_contexts(load(RaveCatalog(catalog), INSTRUMENT, None, None), LevelEngineConfig.from_dict({"timeframes": ["1m"], **example["levels"]}),
                              level_context_config(example["entry_filter"]["orderflow"]["context"]))  # fmt: skip
    rows = (run / "guard_events.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[1].split(",")[1:3] == ["zone_not_defended", "blocked"]
    touched = [c for _, e, c in contexts if e.kind is EventKind.TOUCHED and e.level.kind.value == "confluence" and f"{e.level.low:g}-{e.level.high:g}" in rows[1]]
    assert len(touched) == 1 and f"zone held, not defended (refill {touched[0].zone_refill:.2f}" in rows[1]


class RecordingConfig(ScriptedEntriesConfig, frozen=True, kw_only=True):
    """A scripted strategy's settings (it only records its candles)."""


class Recording(ScriptedEntries):
    """Records every base candle it is fed."""

    def observe(self, timeframe, candle, events) -> None:
        self.candles = [*getattr(self, "candles", []), (candle.ts, candle.open, candle.high, candle.low, candle.close, round(candle.volume, 8))]


def test_base_bars_from_trades_are_researchs_minute_bars(catalog, flow):
    """`base_bars: trades`: the 1-minute candles nautilus builds from the trade ticks are the research path's bars
    (every finished minute; the capture's last, unfinished minute gets none)."""
    raw = run_file(str(catalog.path), {"strategy_path": f"{__name__}:Recording", "config_path": f"{__name__}:RecordingConfig",
                                       "config": {"instrument_id": INSTRUMENT, "timeframes": ["1m"], "base_bars": "trades"}})  # fmt: skip
    raw["data"] = [{"instrument_id": INSTRUMENT, "kind": "trades"}]
    strategy, _ = run_strategy(catalog, raw)
    bars = minute_bars(flow.trades)
    expected = [(int(ts) * 1_000_000 + 60_000_000_000, o, h, lo, c, round(v, 8)) for ts, o, h, lo, c, v in bars[["ts", "open", "high", "low", "close", "volume"]].itertuples(index=False)]
    assert strategy.candles == expected[:-1] and len(expected) == 12


def test_a_node_serving_no_order_flow_is_named_at_stop(catalog, flow):
    """Bars only: the OBI condition has no book, so missing_data (pass) lets the entry through, and the strategy says why."""
    closes = bar_closes(flow)
    raw = run_file(str(catalog.path), scripted([(2, 1, closes[1][1] * 0.998)], {"obi_min": 0.2}))
    raw["data"] = [{"instrument_id": INSTRUMENT, "kind": "bars"}]
    strategy, _ = run_strategy(catalog, raw)
    assert (strategy.signals, strategy.skipped) == (1, {})
    assert strategy.orderflow.unfed() == (
        "order-flow conditions got no trades and no book (a backtest needs `kind: trades` and `kind: book` data entries): "
        "the conditions reading them passed every entry (entry_filter.missing_data)"
    )


def test_hand_built_readings_decide_each_condition():
    """Diverging CVD, the whale's side, an absorption tier and missing data, on a few hand-made trades."""
    import msgspec

    from ravebear.strategies.microstructure.types import Trade
    from ravebear.strategies.orderflow_conditions import OrderFlowConditions, OrderFlowConditionsConfig

    second = 1_000_000_000

    def conditions(missing: str = "pass", **values) -> OrderFlowConditions:
        made = OrderFlowConditions(msgspec.convert(values, OrderFlowConditionsConfig), missing)
        # price falls 100 -> 99 while buyers outweigh sellers (+3 - 1); a 150k buy is the only whale (100k threshold)
        for ts, price, size, side in ((0, 100.0, 1.0, -1), (10, 99.5, 3.0, 1), (20, 99.0, 150_000.0 / 99.0, 1)):
            made.tracker.on_trade(Trade(ts * second, price, size, side))
        return made

    whales = {"whales": {"min_notional": 100_000}}
    assert conditions(cvd="diverging").check(30 * second, 1, 99.0) is None  # buyers while price fell: diverging for a long
    refusal = conditions(cvd="aligned").check(30 * second, -1, 99.0)
    assert refusal.guard == "orderflow_cvd" and refusal.detail.startswith("CVD not aligned: delta +")
    assert conditions(whale_within_s=15, whale_side="aligned", context=whales).check(30 * second, 1, 99.0) is None  # the buy whale, 10 s before
    refusal = conditions(whale_within_s=15, whale_side="aligned", context=whales).check(30 * second, -1, 99.0)
    assert refusal.detail == "the whale trade 10 s ago was a buy, against the entry"
    assert conditions(whale_within_s=5, context=whales).check(30 * second, 1, 99.0).detail == "no whale trade within 5 s (the latest 10 s ago)"
    empty = OrderFlowConditions(msgspec.convert({"obi_min": 0.1}, OrderFlowConditionsConfig), "block")
    assert empty.check(second, 1, 100.0).detail == "OBI: no book (missing_data: block)"
    assert OrderFlowConditions(msgspec.convert({"obi_min": 0.1}, OrderFlowConditionsConfig), "pass").check(second, 1, 100.0) is None
