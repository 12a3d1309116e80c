"""Order flow in a paper node on a catalog replay: the backtest's trades, book updates and quotes, the same features.

Data: the first seconds of the real Binance USD-M BTCUSDT capture (../shared/data/trades_book/: trades, depth diffs
synced to the REST snapshot, bookTicker) imported into a temporary catalog. The same run file (the OrderFlowActor
with thresholds that catch absorption and whale trades in these seconds, plus a recorder that subscribes as a
strategy would) runs as a BacktestNode and as a paper node replaying the catalog at speed 0.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from nautilus_trader.backtest.node import BacktestNode
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import OrderBookDelta, QuoteTick, TradeTick
from nautilus_trader.model.enums import BookType, RecordFlag
from nautilus_trader.model.identifiers import InstrumentId

from ravebear.catalog.orderflow.events import OrderFlowEvent, OrderFlowSnapshot
from ravebear.catalog.orderflow.importer import import_file
from ravebear.catalog.store import RaveCatalog
from ravebear.platform.nodes.backtest import check_data_available
from ravebear.platform.nodes.composer import backtest_run_config, trading_node_plan
from ravebear.platform.nodes.run_file import ConfigError, parse_run_file
from ravebear.platform.nodes.trading import build_trading_node, run_trading_node
from tests.catalog.orderflow.captures import slice_capture

REPO = Path(__file__).resolve().parents[2]
INSTRUMENT = "BTCUSDT-PERP.BINANCE"
SECONDS = 40.0  # of the capture after its REST snapshot
INTERVAL_S = 5.0
SPEED = 20.0  # x real time, for the paced replay
# small thresholds so that these seconds of real data hold absorption tiers and whale trades
ACTOR = {
    "interval_s": INTERVAL_S, "record": True,
    "cvd": {"window_s": 10.0}, "book": {"levels": 5, "half_distance_bps": 2.0, "depth_bps": 5.0},
    "absorption": {"bucket_s": 1.0, "lookback_buckets": 5, "tier_multiples": [1.5, 2.5, 4.0], "tier_max_move_bps": [3.0, 2.0, 1.0]},
    "whales": {"min_notional": 100_000.0, "cluster_window_s": 10.0},
}  # fmt: skip


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> RaveCatalog:
    folder = tmp_path_factory.mktemp("paper_orderflow")
    files = slice_capture("usdm", folder / "src", seconds=SECONDS)
    store = RaveCatalog(folder / "cat")
    for kind in ("trades", "depthdiff", "bookticker"):
        import_file(store, files[kind])
    return store


def run_file(catalog: Path, kinds: tuple[str, ...] = ("trades", "book"), log: Path | None = None, redis_port: int | None = None) -> str:
    quotes = "quotes" in kinds
    recorder = {"instrument_id": INSTRUMENT, "book": not quotes, **({"log": str(log)} if log else {})}
    raw = {
        "run": {"name": "orderflow", "catalog_path": str(catalog), "tearsheet": False, "risk_report": False, "log_level": "ERROR"},
        "venue": {"name": "BINANCE", "starting_balance": "10000 USDT"},
        "data": [{"instrument_id": INSTRUMENT, "kind": kind} for kind in kinds],
        "actors": [
            {"actor_path": "ravebear.strategies.orderflow_actor:OrderFlowActor",
             "config": {"instrument_ids": [INSTRUMENT], "book_source": "quotes" if quotes else "deltas", **ACTOR}},
            {"actor_path": "tests.platform.orderflow_recorder:OrderFlowRecorder", "config": recorder},
        ],
        "node": {"trader_id": "ORDERFLOW-001", "speed": 0, "dashboard": False},
    }  # fmt: skip
    if redis_port is not None:
        raw["node"]["redis"] = {"port": redis_port}
    return yaml.safe_dump(raw)


@dataclass
class Seen:
    """What one node's actors recorded (plain lists: the node itself is not kept past its run)."""

    snapshots: list  # the OrderFlowActor's, in publication order
    events: list
    published: list  # what the recorder received over the message bus: snapshots and events
    trades: list
    updates: list  # OrderBookDeltas, one per on_order_book_deltas call
    book_type: BookType | None = None  # the paper sandbox's matching engine book
    bids: list = field(default_factory=list)  # its top 20 levels after the run: (price, size)
    asks: list = field(default_factory=list)
    items: int = 0  # items the replay handed
    venue_priorities: list = field(default_factory=list)  # priorities the sandbox takes the venue's order flow at


def seen(actor, recorder) -> Seen:  # noqa: ANN001 - the two actors of the run file
    return Seen(list(actor.snapshots), list(actor.events), list(recorder.published), list(recorder.trades), list(recorder.updates))


def levels(side: list) -> list[tuple[float, float]]:
    return [(level.price.as_double(), level.size()) for level in side[:20]]


def backtest(store: RaveCatalog, text: str) -> Seen:
    config = parse_run_file(text, "orderflow.yaml")
    check_data_available(config, store)
    run_config = backtest_run_config(config, store.path.resolve())
    node = BacktestNode(configs=[run_config])
    node.run()
    result = seen(*node.get_engine(run_config.id).trader.actors())
    node.dispose()
    return result


def paper(store: RaveCatalog, text: str, output: Path) -> Seen:
    config = parse_run_file(text, "orderflow.yaml")
    handles = build_trading_node(config, "paper", store.path, log_level="ERROR")
    actor, recorder = handles.node.trader.actors()
    msgbus, sandbox = handles.node.kernel.msgbus, handles.sandbox
    priorities: list[int] = []

    def on_hand(item: object, wall_ns: int) -> None:  # the node runs: its venue is connected
        if not priorities:
            priorities.extend(s.priority for s in msgbus.subscriptions("data.*.BINANCE.*") if s.handler == sandbox.on_data)

    handles.replay.on_hand = on_hand
    outcome = run_trading_node(handles, config, text, output)
    assert outcome.failure is None
    result = seen(actor, recorder)
    result.venue_priorities = priorities
    book = handles.sandbox.exchange.get_matching_engine(InstrumentId.from_str(INSTRUMENT)).get_book()
    result.book_type, result.bids, result.asks, result.items = book.book_type, levels(book.bids()), levels(book.asks()), outcome.items
    return result


def trade_values(ticks: list[TradeTick]) -> list[tuple]:
    return [(t.trade_id.value, t.price.as_double(), t.size.as_double(), t.aggressor_side, t.ts_event, t.ts_init) for t in ticks]


def delta_values(deltas: list[OrderBookDelta]) -> list[tuple]:
    return [(d.action, d.order.side, d.order.price.as_double(), d.order.size.as_double(), d.flags, d.sequence, d.ts_event, d.ts_init) for d in deltas]


@pytest.fixture(scope="module")
def runs(catalog, tmp_path_factory) -> dict:
    text = run_file(catalog.path)
    tested = backtest(catalog, text)
    replayed = paper(catalog, text, tmp_path_factory.mktemp("runs"))
    return {"backtest": tested, "paper": replayed}


def test_a_paper_replay_publishes_the_backtests_order_flow_snapshots_and_events(runs):
    tested, replayed = runs["backtest"], runs["paper"]
    snapshots, events = tested.snapshots, tested.events
    assert len(snapshots) >= int(SECONDS / INTERVAL_S) - 1 and all(s.has_book for s in snapshots)
    assert {event.event for event in events} == {"absorption", "whale"}  # the thresholds catch both in these seconds
    assert len({s.obi for s in snapshots}) == len(snapshots)  # the book moves: every interval its own OBI
    # field by field (custom data compares every field), in order
    assert replayed.snapshots == snapshots
    assert replayed.events == events
    # and the same sequence went over each node's message bus to a subscriber, in the same order
    assert all(isinstance(data, OrderFlowSnapshot | OrderFlowEvent) for data in tested.published)
    assert len(tested.published) == len(snapshots) + len(events)
    assert replayed.published == tested.published
    assert replayed.items == len(replayed.trades) + len(replayed.updates)


def test_the_paper_node_gets_every_trade_and_delta_of_the_backtest_in_whole_book_updates(runs, catalog):
    tested, replayed = runs["backtest"], runs["paper"]
    stored = catalog.nautilus.query(OrderBookDelta, identifiers=[INSTRUMENT])
    assert trade_values(replayed.trades) == trade_values(tested.trades) == trade_values(catalog.nautilus.query(TradeTick, identifiers=[INSTRUMENT]))
    # the backtest hands deltas one at a time (buffer_deltas off); the replay hands each stored update whole
    assert all(len(update.deltas) == 1 for update in tested.updates)
    received = [delta for update in replayed.updates for delta in update.deltas]
    assert delta_values(received) == delta_values([d for u in tested.updates for d in u.deltas]) == delta_values(stored)
    assert all(update.deltas[-1].flags & RecordFlag.F_LAST for update in replayed.updates)
    assert all(not delta.flags & RecordFlag.F_LAST for update in replayed.updates for delta in update.deltas[:-1])
    assert len(replayed.updates) == sum(1 for delta in stored if delta.flags & RecordFlag.F_LAST)
    snapshot = replayed.updates[0].deltas
    assert len(snapshot) > 100 and snapshot[0].action.name == "CLEAR"  # the REST snapshot arrives as one update


def test_the_paper_sandbox_fills_on_the_replayed_l2_book(runs, catalog):
    replayed = runs["paper"]
    assert replayed.book_type == BookType.L2_MBP
    assert replayed.venue_priorities == [10]  # once (not twice), and before the actors (priority 0), as in a backtest
    reference = OrderBook(InstrumentId.from_str(INSTRUMENT), BookType.L2_MBP)
    for delta in catalog.nautilus.query(OrderBookDelta, identifiers=[INSTRUMENT]):
        reference.apply_delta(delta)
    assert replayed.bids == levels(reference.bids()) and replayed.asks == levels(reference.asks())
    assert len(replayed.bids) == len(replayed.asks) == 20 and replayed.bids[0][0] < replayed.asks[0][0]


def test_a_paced_replay_takes_the_datas_time_over_the_speed_and_computes_the_same(runs, catalog, tmp_path):
    raw = yaml.safe_load(run_file(catalog.path))
    raw["node"]["speed"] = SPEED
    text = yaml.safe_dump(raw)
    config = parse_run_file(text, "orderflow.yaml")
    handles = build_trading_node(config, "paper", catalog.path, log_level="ERROR")
    actor, _ = handles.node.trader.actors()
    walls: list[int] = []
    handles.replay.on_hand = lambda item, wall_ns: walls.append(wall_ns)
    outcome = run_trading_node(handles, config, text, tmp_path)
    snapshots, events = list(actor.snapshots), list(actor.events)
    data_span_s = (handles.replay.last_ts - handles.replay.first_ts) / 1e9
    assert outcome.failure is None and data_span_s > SECONDS * 0.9
    assert (walls[-1] - walls[0]) / 1e9 >= data_span_s / SPEED * 0.95  # paced, not as fast as it can
    assert snapshots == runs["backtest"].snapshots and events == runs["backtest"].events


def test_with_quotes_as_the_book_a_paper_replay_equals_the_backtest(catalog, tmp_path):
    text = run_file(catalog.path, ("trades", "quotes"))
    tested = backtest(catalog, text)
    replayed = paper(catalog, text, tmp_path)
    assert len(tested.snapshots) >= int(SECONDS / INTERVAL_S) - 1
    assert replayed.snapshots == tested.snapshots and replayed.events == tested.events
    assert replayed.published == tested.published
    quotes = catalog.nautilus.query(QuoteTick, identifiers=[INSTRUMENT])
    assert tested.snapshots[-1].spread_bps > 0 and len(quotes) > 500
    assert replayed.book_type == BookType.L1_MBP


# -- composition ------------------------------------------------------------------------------------


def test_a_paper_replay_plan_serves_order_flow_without_a_warning(catalog):
    plan = trading_node_plan(parse_run_file(run_file(catalog.path)), "paper", catalog.path)
    assert [w for w in plan.warnings if "kind" in w] == []
    replay = plan.config.data_clients[plan.replay_client]
    assert replay.entries == (("trades", INSTRUMENT, None, None), ("book", INSTRUMENT, None, None))
    assert plan.config.exec_clients["BINANCE"].book_type == "L2_MBP"
    quotes = trading_node_plan(parse_run_file(run_file(catalog.path, ("trades", "quotes"))), "paper", catalog.path)
    assert quotes.config.exec_clients["BINANCE"].book_type == "L1_MBP"


def test_a_paper_node_on_okx_data_says_its_sandbox_has_no_l2_book(catalog):
    raw = yaml.safe_load(run_file(catalog.path))
    raw["venue"]["name"] = "OKX"
    raw["node"]["data"] = "okx"
    plan = trading_node_plan(parse_run_file(yaml.safe_dump(raw)), "paper", None)
    expected = (
        f"data[1]: kind book: on OKX market data the paper sandbox fills on bars, trades and quotes (an L1 book), not on "
        f"{INSTRUMENT}'s L2 book as a backtest or a paper replay does"
    )
    assert [w for w in plan.warnings if "kind" in w] == [expected]
    assert plan.config.exec_clients["OKX"].book_type == "L1_MBP"


def test_only_a_paper_replay_may_simulate_a_venue_other_than_okx(catalog):
    raw = yaml.safe_load(run_file(catalog.path))
    raw["node"]["data"] = "okx"
    with pytest.raises(ConfigError) as raised:
        trading_node_plan(parse_run_file(yaml.safe_dump(raw)), "paper", None)
    assert str(raised.value) == "venue.name: live nodes and paper nodes on OKX data trade OKX, got 'BINANCE' (a paper replay may simulate any venue)"


# -- through the CLI --------------------------------------------------------------------------------


def ravebear_paper(config: Path, catalog: Path, output: Path, kill_at: int = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAVEBEAR_TEST_KILL_AT_NS": str(kill_at)}
    return subprocess.run(
        [sys.executable, "-m", "ravebear.platform.cli", "paper", str(config), "--catalog", str(catalog), "--output", str(output), "--no-dashboard"],
        capture_output=True, text=True, cwd=REPO, timeout=600, env=env,
    )  # fmt: skip


def test_an_order_flow_entry_without_its_data_in_the_catalog_is_named_and_exit_2(catalog, tmp_path):
    empty = RaveCatalog(tmp_path / "empty")
    empty.path.mkdir(parents=True)
    config = tmp_path / "run.yaml"
    config.write_text(run_file(empty.path))
    done = ravebear_paper(config, empty.path, tmp_path / "runs")
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip() == f"error: data[0]: no trades for {INSTRUMENT} in the catalog at {empty.path.resolve()}; import some with `ravebear catalog import-orderflow`"
    raw = yaml.safe_load(run_file(catalog.path))
    raw["data"][1]["start"] = "2024-08-10"
    config.write_text(yaml.safe_dump(raw))
    late = ravebear_paper(config, catalog.path, tmp_path / "runs")
    assert late.returncode == 2, late.stderr[-2000:]
    assert late.stderr.strip().startswith(f"error: data[1]: no L2 book deltas for {INSTRUMENT} in 2024-08-10 .. the last item; the catalog holds them for 2024-08-08")
    assert len(late.stderr.strip().splitlines()) == 1 and "Traceback" not in late.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())  # nothing ran


def read_log(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def expected_log(store: RaveCatalog) -> list[str]:
    """Every trade and every stored book update (deltas up to F_LAST), as the recorder writes them down."""
    lines = [f"T {t.trade_id} {t.ts_init}" for t in store.nautilus.query(TradeTick, identifiers=[INSTRUMENT])]
    count = 0
    for delta in store.nautilus.query(OrderBookDelta, identifiers=[INSTRUMENT]):
        count += 1
        if delta.flags & RecordFlag.F_LAST:
            lines.append(f"B {delta.ts_init} {count} {delta.sequence}")
            count = 0
    assert count == 0  # every stored update of the capture ends with F_LAST
    return lines


def test_a_killed_order_flow_replay_resumes_after_the_last_item_it_handed(catalog, tmp_path, redis_server):
    redis_server.flush()
    log = tmp_path / "orderflow.log"
    config = tmp_path / "resume.yaml"
    config.write_text(run_file(catalog.path, log=log, redis_port=redis_server.port))
    trades = catalog.nautilus.query(TradeTick, identifiers=[INSTRUMENT])
    kill_at = trades[len(trades) // 2].ts_init  # mid-replay, on a trade

    first = ravebear_paper(config, catalog.path, tmp_path / "runs", kill_at)
    assert first.returncode == -9, first.stderr[-2000:]
    before = read_log(log)
    assert 100 < len(before) and all(int(line.split()[2 if line[0] == "T" else 1]) < kill_at for line in before)

    second = ravebear_paper(config, catalog.path, tmp_path / "runs")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resuming replay at 2024-08-08 23:5" in second.stdout and f"after {len(before):,} items" in second.stdout
    handled = read_log(log)
    expected = expected_log(catalog)
    assert len(handled) > len(before) and len(set(handled)) == len(handled)  # nothing handed twice
    assert sorted(handled) == sorted(expected)  # nothing skipped

    third = ravebear_paper(config, catalog.path, tmp_path / "runs")
    assert third.returncode == 0, third.stderr[-3000:]
    assert "this replay already finished at 2024-08-08 23:5" in third.stdout and f"({len(expected):,} items)" in third.stdout
    assert read_log(log) == handled


def test_a_subscription_no_data_entry_serves_is_named_in_the_log(catalog, tmp_path):
    raw = yaml.safe_load(run_file(catalog.path, ("trades",)))  # the OrderFlowActor still subscribes to the book
    raw["run"]["log_level"] = "WARNING"
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(raw))
    done = ravebear_paper(config, catalog.path, tmp_path / "runs")
    assert done.returncode == 0, done.stderr[-3000:]
    line = f"a subscription asks for book of {INSTRUMENT}, but the run file has no `kind: book` data entry for it: the replay serves none"
    assert (done.stdout + done.stderr).count(line) == 1  # two subscribers (actor and recorder), named once
    trades = len(catalog.nautilus.query(TradeTick, identifiers=[INSTRUMENT]))
    assert f"{trades:,} items replayed" in done.stdout
