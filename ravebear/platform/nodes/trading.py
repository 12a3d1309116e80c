"""Paper and live nodes: the backtest's strategies in a nautilus TradingNode.

`build_trading_node(config, mode, ...)` builds the TradingNode the composer (`composer.trading_node_plan`)
makes of the same run file a backtest uses (plus its `node:` and `sources:` sections):
- data: a catalog replay (`ravebear.adapters.replay`, offline, at a chosen speed) or OKX market data,
  plus the live alternative-data sources the file names (Coinalyze, Whale Alert, stablecoins);
- execution: the sandbox (paper, `ravebear.platform.simulated_venue.sandbox`) or OKX (live, demo or real);
- cache: in memory, or Redis (`node.redis`) so a restart finds orders, positions, the account and
  the strategies' state again (same `trader_id`);
- the RiskEngine limits and every strategy's guards from the file's `risk:` section.
`run_trading_node` runs it until the replay ends or the user stops it (Ctrl-C), then stops it
cleanly and writes a run folder with the risk report.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ravebear.platform.nodes.backtest import prepare_backtest_process
from ravebear.platform.nodes.composer import CONNECT_TIMEOUT_S, Mode, trading_node_plan
from ravebear.platform.nodes.run_file import ConfigError, RunFile

@dataclass
class NodeHandles:
    """The built node and the parts a runner, a test or a benchmark reaches for."""

    node: Any  # nautilus TradingNode
    mode: Mode
    replay: Any = None  # ReplayDataClient when data is a replay
    sandbox: Any = None  # BarSandboxExecutionClient when execution is the sandbox
    dashboard: Any = None
    balances: Any = None  # BalanceRecorder
    guards: Any = None  # GuardRecorder
    venue_sync: Any = None  # VenueSync (live): restores OKX algo ids after a restart; re-reconciles when positions drift from the venue's
    state_watch: Any = None  # StateStoreWatch (node.redis): refuses entries while Redis is gone, saves the state again when it returns
    sources: tuple[str, ...] = ()  # client ids of the live alternative-data sources that run
    warnings: tuple[str, ...] = ()  # sources left out (a missing API key), as the user is told
    notes: tuple[str, ...] = ()  # what the user is told before the node starts (e.g. a replay resumed)


def check_redis(host: str, port: int, timeout_s: float = 2.0) -> None:
    """Fail with a clear message when nothing answers at the node's Redis address (nautilus would retry without end)."""
    import socket

    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return
    except OSError as exc:
        raise ConfigError(f"node.redis: cannot reach Redis at {host}:{port} ({exc.strerror or exc}); start redis-server there or fix node.redis in the run file (`ravebear paper` also takes --redis-port)") from None


def build_trading_node(
    config: RunFile, mode: Mode, catalog_path: Path | None = None, log_level: str | None = None, dashboard: bool | None = None,
    environ: dict[str, str] | None = None,
) -> NodeHandles:  # fmt: skip
    """Build (not run) the paper or live TradingNode of a run file (its config comes from the composer)."""
    from nautilus_trader.live.node import TradingNode
    from nautilus_trader.model.identifiers import ClientId

    prepare_backtest_process()
    node_settings = config.node
    if node_settings.redis is not None:
        check_redis(node_settings.redis.host, node_settings.redis.port)
    if node_settings.data == "replay" and catalog_path is not None:
        from ravebear.catalog.store import RaveCatalog
        from ravebear.platform.nodes.backtest import check_data_available

        check_data_available(config, RaveCatalog(catalog_path))
    plan = trading_node_plan(config, mode, catalog_path, log_level, dashboard, environ)
    if mode == "paper" and plan.config.cache is not None:
        # the restored sandbox account must be one nautilus recalculates on fills (never a real OKX account)
        from nautilus_trader.accounting.factory import AccountFactory

        AccountFactory.register_calculated_account(config.venue.name)
    loop = asyncio.new_event_loop()  # the node's own loop: the caller's thread may have none (or a closed one)
    asyncio.set_event_loop(loop)
    node = TradingNode(config=plan.config, loop=loop)
    for name, factory in plan.data_factories.items():
        node.add_data_client_factory(name, factory)
    for name, factory in plan.exec_factories.items():
        node.add_exec_client_factory(name, factory)
    node.build()
    from ravebear.reports.run_folder import BalanceRecorder, GuardRecorder
    from ravebear.risk.topics import GUARD_TOPIC

    handles = NodeHandles(node=node, mode=mode, balances=BalanceRecorder(), guards=GuardRecorder(), sources=plan.sources, warnings=plan.warnings)
    if mode == "paper":
        from ravebear.platform.simulated_venue.sandbox import fee_differences

        fees = fee_differences(config.venue.maker_fee_bps, config.venue.taker_fee_bps, [data.instrument_id for data in config.data])
        handles.warnings += (fees,) if fees else ()
    node.kernel.msgbus.subscribe(topic="events.account.*", handler=handles.balances)
    node.kernel.msgbus.subscribe(topic=GUARD_TOPIC, handler=handles.guards)
    if plan.replay_client is not None:
        handles.replay = node.kernel.data_engine._clients[ClientId(plan.replay_client)]  # noqa: SLF001 - no public accessor
        handles.replay.bind(node.kernel)
        from ravebear.platform.nodes.replay_resume import resume_replay

        resumed = resume_replay(handles.replay, node_settings.redis is not None)
        handles.notes += (resumed,) if resumed else ()
    if mode == "paper":
        handles.sandbox = node.kernel.exec_engine._clients[ClientId(config.venue.name)]  # noqa: SLF001
        handles.sandbox.make_events_synchronous(node.kernel.exec_engine)
    if mode == "live":
        from ravebear.platform.live_fixes.venue_sync import VenueSync, install_reconciliation_fixes

        install_reconciliation_fixes(node.kernel)
        handles.venue_sync = VenueSync(node, node_settings.venue_check_s)
    if plan.config.cache is not None:
        from ravebear.platform.nodes.state_health import StateStoreWatch

        replay = handles.replay
        data_time = (lambda: replay.last_ts or node.kernel.clock.timestamp_ns()) if replay is not None else node.kernel.clock.timestamp_ns
        handles.state_watch = StateStoreWatch(node, plan.config.cache, node_settings.redis.check_s, data_time)
    if plan.show_dashboard:
        handles.dashboard = _add_dashboard(node, config)
    return handles


def _add_dashboard(node: Any, config: RunFile) -> Any:
    from ravebear.platform.dashboard import DashboardActor, DashboardConfig

    actor = DashboardActor(DashboardConfig(instrument_ids=[d.instrument_id for d in config.data], data_clock=config.node.data == "replay"))
    node.trader.add_actor(actor)
    actor.attach(node.trader.strategies)
    return actor


CONNECT_HINT = (
    "see the client's error above: OKX 50113 'Invalid Sign' = wrong OKX_API_SECRET, 50111 = wrong OKX_API_KEY, "
    "50105 = wrong OKX_API_PASSPHRASE, 50102 = this machine's clock is off; a connection error = check node.okx.base_url_http / base_url_ws"
)


@dataclass
class NodeOutcome:
    """A finished paper or live session."""

    elapsed_s: float
    items: int  # data items replayed (0 for live data)
    run_dir: Path | None
    failure: str | None = None  # why the session stopped by itself (e.g. a client that never connected)


MARKET_EXIT_WAIT_S = 12.0  # nautilus's market exit gives up after 100 checks 100 ms apart


async def _flatten_before_stop(node: Any) -> None:
    """Run nautilus's market exit for every running strategy whose stop_action is flatten, and wait until done.

    The strategies stay running while they exit, so a close the venue refused (e.g. rate-limited) is sent
    again until flat; a one-shot cancel-and-close at stop left the position at OKX with its stops already
    canceled. The node waits here because a strategy still exiting when the node disposes keeps a timer on
    nautilus's Rust threads that fires after the loop closed and aborts the process.
    """
    exiting = [s for s in node.trader.strategies() if s.is_running and getattr(s.config, "stop_action", "") == "flatten"]
    for strategy in exiting:
        strategy.market_exit()
    deadline = time.monotonic() + MARKET_EXIT_WAIT_S
    while any(s.is_exiting() for s in exiting) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


async def _watch_connections(node: Any) -> str:
    """Return why the session cannot trade once the connect timeout passed with a client down; wait forever otherwise.

    nautilus 1.231 logs a client's failed connect (e.g. OKX refusing the keys) and then runs on without it:
    a live node with no execution client would watch the market and trade nothing, silently.
    """
    deadline = time.monotonic() + CONNECT_TIMEOUT_S + 3.0
    kernel = node.kernel
    while time.monotonic() < deadline:
        if kernel.data_engine.check_connected() and kernel.exec_engine.check_connected():
            await asyncio.Event().wait()
        await asyncio.sleep(0.25)
    down = [name for name, engine in (("market data", kernel.data_engine), ("execution", kernel.exec_engine)) if not engine.check_connected()]
    return f"the {' and '.join(down)} client{'s' if len(down) > 1 else ''} did not connect within {CONNECT_TIMEOUT_S:g} s; stopping ({CONNECT_HINT})"


STOP_ACTIONS = {  # node.stop_action, as the stop line says it
    "flatten": "closing positions and canceling orders (node.stop_action: flatten)",
    "cancel": "canceling orders, positions stay open (node.stop_action: cancel)",
    "keep": "orders and positions stay at the venue (node.stop_action: keep)",
}
SETTLE_TASKS_S = 3.0  # at stop: how long the tasks the stop started (a client's disconnect) may take to finish


async def _settle_tasks(timeout_s: float, started_before: set[asyncio.Task]) -> None:
    """Let the tasks the stop started finish, then cancel the rest, so none is destroyed with the loop.

    nautilus 1.231's `LiveMarketDataClient.disconnect` starts its disconnect as a bare task that nobody awaits;
    after a connect timeout it is still pending when the loop closes ("Task was destroyed but it is pending!").
    Not waited for: tasks that ran before the stop, and the actor executors' workers, which run until `dispose`
    (a stopping actor's `cancel_all_tasks` starts a new one).
    """
    current = asyncio.current_task()
    pending = [
        task for task in asyncio.all_tasks()
        if task is not current and task not in started_before and not task.done() and task.get_coro().__qualname__ != "ActorExecutor._worker"
    ]  # fmt: skip
    if not pending:
        return
    _, still = await asyncio.wait(pending, timeout=timeout_s)
    for task in still:
        task.cancel()
    if still:
        await asyncio.wait(still, timeout=1.0)


def run_trading_node(handles: NodeHandles, config: RunFile, config_text: str, output_dir: Path | None = None, timeout_s: float | None = None) -> NodeOutcome:
    """Run until the replay ends, `timeout_s` passes or Ctrl-C; stop cleanly; write the run folder."""
    node = handles.node
    loop = node.get_event_loop()
    stop = asyncio.Event()

    def request_stop(sig: int, *_: Any) -> None:
        if not stop.is_set():  # one line, once: the stop itself (exits, disconnects, run folder) takes seconds
            name = "Ctrl-C" if sig == signal.SIGINT else signal.Signals(sig).name
            print(f"stopping on {name}: {STOP_ACTIONS[config.node.stop_action]}", file=sys.stderr, flush=True)
        loop.call_soon_threadsafe(stop.set)

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, request_stop, sig)
        except (NotImplementedError, RuntimeError, ValueError):
            signal.signal(sig, request_stop)

    async def session() -> float:
        started = time.perf_counter()
        runner = asyncio.ensure_future(node.run_async())
        sync = asyncio.ensure_future(handles.venue_sync.run()) if handles.venue_sync is not None else None
        state_watch = asyncio.ensure_future(handles.state_watch.run()) if handles.state_watch is not None else None
        watch = asyncio.ensure_future(_watch_connections(node))
        waits = [asyncio.ensure_future(stop.wait()), watch]
        if handles.replay is not None:
            waits.append(asyncio.ensure_future(handles.replay.finished.wait()))
        await asyncio.wait([*waits, runner], timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        elapsed = time.perf_counter() - started
        if watch.done() and not watch.cancelled():
            failure.append(watch.result())
        if handles.replay is not None and handles.replay.failure:
            failure.append(handles.replay.failure)
        for wait in waits:
            wait.cancel()
        if sync is not None:
            sync.cancel()
        if state_watch is not None:
            state_watch.cancel()
        await _flatten_before_stop(node)
        running = asyncio.all_tasks()
        await node.stop_async()
        if handles.state_watch is not None:
            await handles.state_watch.check()  # as things are at the end: saved again if Redis just came back
            handles.state_watch.report_if_down()
        await asyncio.sleep(0.2)
        runner.cancel()
        await _settle_tasks(SETTLE_TASKS_S, started_before=running)
        return elapsed

    failure: list[str] = []
    elapsed = loop.run_until_complete(session())
    run_dir = write_node_run_folder(handles, config, config_text, output_dir, elapsed)
    items = handles.replay.handed if handles.replay is not None else 0
    if handles.state_watch is not None and handles.state_watch.down is not None:
        from ravebear.platform.nodes.state_health import dispose_without_redis

        dispose_without_redis(node)
    else:
        node.dispose()
    loop.close()
    return NodeOutcome(elapsed_s=elapsed, items=items, run_dir=run_dir, failure=failure[0] if failure else None)


def run_folder_label(mode: str, run_name: str) -> str:
    """`<mode>-<run name>`, without saying the mode twice when the name already does (`live-untouched-wick`)."""
    return run_name if mode in run_name.lower().split("-") else f"{mode}-{run_name}"


def write_node_run_folder(handles: NodeHandles, config: RunFile, config_text: str, output_dir: Path | None, elapsed_s: float) -> Path:
    """Orders, fills, positions, balances, guard events and the risk report of a session, like a backtest's run folder."""
    from ravebear.reports.run_folder import new_run_dir, write_run_folder

    run_dir = new_run_dir(output_dir or Path(config.run.output_dir), run_folder_label(handles.mode, config.run.name))
    items = handles.replay.handed if handles.replay is not None else 0
    meta: dict = {"mode": handles.mode, "trader_id": config.node.trader_id, "items": items, "elapsed_s": round(elapsed_s, 3)}
    if items:  # a replay's period is its data time, not the wall clock the session took
        import pandas as pd

        meta.update({key: pd.Timestamp(ns, unit="ns", tz="UTC").isoformat() for key, ns in (("start", handles.replay.first_ts), ("end", handles.replay.last_ts))})
    write_run_folder(
        handles.node.kernel,  # has the trader, portfolio and cache write_run_folder reads
        run_dir, config_text, handles.balances.frame(), Decimal(config.venue.starting_balance.split()[0]),
        meta=meta, tearsheet=False, guard_events=handles.guards.frame(), currency=config.venue.starting_balance.split()[1],
    )  # fmt: skip
    if config.run.risk_report:
        from ravebear.reports.risk_report_html import write_risk_report

        write_risk_report(run_dir)
    return run_dir
