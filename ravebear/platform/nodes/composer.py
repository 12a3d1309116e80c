"""The node composer: one run file in, the config of a backtest, paper or live node out.

- `backtest_run_config`: a BacktestNode on catalog data and nautilus's simulated venue (RaveBear's fee and
  funding models added);
- `trading_node_plan`: a TradingNode for `ravebear paper` (sandbox fills) or `ravebear live` (OKX), with
  market data (bars, and the `data:` entries' trades / L2 book deltas / quotes) from a catalog replay or OKX,
  plus the live alternative-data sources the file names
  (`sources:`, read from the adapters' one table `ravebear.adapters.sources.LIVE_SOURCES`).

Every node gets the same strategies and actors (`component_configs`), the same guards and RiskEngine
limits (`risk_engine_for`), and each strategy learns which data client serves each alternative-data type
(`alt_data_clients`): the catalog in a backtest or replay, the live source in a paper or live node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from ravebear.catalog.store import one_minute_bar_type
from ravebear.platform.nodes.alt_data_routing import live_sources, unserved_filter_data, unserved_swarm_signals
from ravebear.platform.nodes.component_checks import component_config_path, component_fields, with_account_risk
from ravebear.platform.nodes.run_file import ConfigError, DataSection, RunFile, utc_ns

if TYPE_CHECKING:
    from nautilus_trader.config import BacktestRunConfig

REPLAY_CLIENT = "REPLAY"
CONNECT_TIMEOUT_S = 20.0  # nautilus waits this long for its clients to connect, then runs without the missing ones
Mode = Literal["paper", "live"]


def fill_model_config(config: RunFile) -> Any:
    """The run file's nautilus FillModel (`venue.fill_model`), for the backtest venue and the paper sandbox alike."""
    from nautilus_trader.backtest.config import ImportableFillModelConfig

    return ImportableFillModelConfig(
        fill_model_path="nautilus_trader.backtest.models:FillModel",
        config_path="nautilus_trader.backtest.config:FillModelConfig",
        config=config.venue.fill_model.model_dump(),
    )


def backtest_run_config(config: RunFile, catalog_path: Path, log_level: str | None = None) -> BacktestRunConfig:
    """The BacktestNode config of a run file: the simulated OKX-like venue, catalog data, strategies and actors."""
    from nautilus_trader.backtest.config import ImportableFeeModelConfig
    from nautilus_trader.config import (
        BacktestEngineConfig,
        BacktestRunConfig,
        BacktestVenueConfig,
        DataEngineConfig,
        LoggingConfig,
    )
    from nautilus_trader.model.identifiers import TraderId

    venue = config.venue
    fee_model = None
    if venue.maker_fee_bps is not None or venue.taker_fee_bps is not None:
        fee_model = ImportableFeeModelConfig(
            fee_model_path="ravebear.platform.simulated_venue.fees:BpsFeeModel",
            config_path="ravebear.platform.simulated_venue.fees:BpsFeeModelConfig",
            config={"maker_bps": venue.maker_fee_bps or 0.0, "taker_bps": venue.taker_fee_bps or 0.0},
        )
    modules = []
    if config.funding.rates or config.funding.from_catalog:
        from ravebear.platform.simulated_venue.funding import funding_module_config

        modules.append(
            funding_module_config(
                rates={instrument_id: str(Path(path).resolve()) for instrument_id, path in config.funding.rates.items()},
                catalog_path=str(catalog_path) if config.funding.from_catalog else None,
                catalog_instruments=instrument_ids(config) if config.funding.from_catalog else None,
            ),
        )
    venue_config = BacktestVenueConfig(
        name=venue.name,
        oms_type=venue.oms_type,
        account_type=venue.account_type,
        base_currency=None,
        starting_balances=[venue.starting_balance],
        # a CASH (spot) account has no leverage: nautilus refuses one above 1
        default_leverage=venue.default_leverage if venue.account_type == "MARGIN" else 1.0,
        leverages=(dict(venue.leverages) or None) if venue.account_type == "MARGIN" else None,
        fee_model=fee_model,
        fill_model=fill_model_config(config),
        bar_execution=True,
        # L2 deltas in the data: the matching engine keeps an L2 book (nautilus refuses deltas on an L1 venue)
        book_type="L2_MBP" if any(data.kind == "book" for data in config.data) else "L1_MBP",
        modules=modules or None,
    )
    data_configs = [market_data_config(data, catalog_path) for data in config.data]
    data_configs.extend(alt_data_configs(config, catalog_path))
    strategies, actors = component_configs(config)
    engine = BacktestEngineConfig(
        trader_id=TraderId("RAVEBEAR-001"),
        strategies=strategies,
        actors=actors,
        # a gap in the data is no trading: build no flat, volume-less bars for it (research does the same)
        data_engine=DataEngineConfig(time_bars_build_with_no_updates=False),
        risk_engine=risk_engine_for(config),
        logging=LoggingConfig(log_level=log_level or config.run.log_level, log_colors=False),
    )
    return BacktestRunConfig(
        engine=engine,
        venues=[venue_config],
        data=data_configs,
        dispose_on_completion=False,
        raise_exception=True,
    )


DATA_CLASSES = {
    "bars": "nautilus_trader.model.data:Bar",
    "trades": "nautilus_trader.model.data:TradeTick",
    "book": "nautilus_trader.model.data:OrderBookDelta",
    "quotes": "nautilus_trader.model.data:QuoteTick",
}  # a data: entry's kind -> the nautilus type it streams from the catalog


def market_data_config(data: DataSection, catalog_path: Path) -> Any:
    """The BacktestDataConfig of one `data:` entry: its bars, or its trades / L2 book deltas / quotes."""
    from nautilus_trader.config import BacktestDataConfig
    from nautilus_trader.model.identifiers import InstrumentId

    if data.kind == "bars":
        return BacktestDataConfig(
            catalog_path=str(catalog_path), data_cls=DATA_CLASSES["bars"], instrument_id=InstrumentId.from_str(data.instrument_id),
            bar_types=[data.bar_type or one_minute_bar_type(data.instrument_id)], start_time=utc_ns(data.start), end_time=utc_ns(data.end),
        )  # fmt: skip
    # an InstrumentId, not a str (bars too): BacktestNode's L2 check reads `.venue` from every entry's (docs/NOTES.md)
    return BacktestDataConfig(
        catalog_path=str(catalog_path), data_cls=DATA_CLASSES[data.kind], instrument_id=InstrumentId.from_str(data.instrument_id),
        start_time=utc_ns(data.start), end_time=utc_ns(data.end),
    )  # fmt: skip


def instrument_ids(config: RunFile) -> list[str]:
    """The run file's instruments, once each (an instrument may have several `data:` entries: bars, trades, book)."""
    return list(dict.fromkeys(data.instrument_id for data in config.data))


def risk_engine_for(config: RunFile):  # noqa: ANN201 - nautilus RiskEngineConfig, imported lazily
    """nautilus's RiskEngine settings from the same account-wide limits the strategies' guards use."""
    import msgspec

    from ravebear.risk.engine_config import risk_engine_config
    from ravebear.risk.guards import GuardLimits

    strategies = sum(len(strategy.expanded()) for strategy in config.strategies)
    return risk_engine_config(msgspec.convert(config.risk, GuardLimits), instrument_ids(config), strategies)


def alt_data_configs(config: RunFile, catalog_path: Path) -> list:
    """One BacktestDataConfig per configured alternative-data type (per instrument where the type has one)."""
    from nautilus_trader.config import BacktestDataConfig

    from ravebear.catalog.alt_data import types

    configs = []
    start = min((utc_ns(d.start) for d in config.data if d.start), default=None)
    end = max((utc_ns(d.end) for d in config.data if d.end), default=None)
    for name in config.alt_data.types:
        cls = getattr(types, name)
        per_instrument = "instrument_id" in getattr(cls, "__annotations__", {})
        for instrument_id in instrument_ids(config) if per_instrument else [None]:
            configs.append(
                BacktestDataConfig(
                    catalog_path=str(catalog_path), data_cls=f"{cls.__module__}:{name}", instrument_id=instrument_id,
                    client_id=config.alt_data.client_id, start_time=start, end_time=end,
                ),
            )  # fmt: skip
    return configs


def component_configs(
    config: RunFile, overrides: dict | None = None, alt_data_clients: dict[str, str] | None = None, mode: str = "backtest", trader_id: str = "RAVEBEAR-001",
) -> tuple[list, list]:
    """The nautilus strategy and actor configs of a run file (shared by the backtest and the paper/live nodes).

    `overrides` are merged into every strategy config whose class has those fields (e.g. the live
    node's `stop_action`). `alt_data_clients` (alternative-data type name -> client id) tells each
    strategy where to subscribe to the data its entry filter needs; default: the catalog's `alt_data`.
    With `alerts:`, the AlertActor is added: counting in shadow mode (backtests) or sending (paper, live); with `ledger:`,
    the LedgerActor, recording the node's `mode`.
    """
    if alt_data_clients is None:
        alt_data_clients = dict.fromkeys(config.alt_data.types, config.alt_data.client_id)
    from nautilus_trader.config import ImportableActorConfig, ImportableStrategyConfig

    strategies = []
    for strategy in config.strategies:
        fields = component_fields(strategy)
        extra = {key: value for key, value in (overrides or {}).items() if key in fields}
        if alt_data_clients and "alt_data_clients" in fields:
            extra["alt_data_clients"] = dict(alt_data_clients)
        strategies.extend(
            ImportableStrategyConfig(
                strategy_path=strategy.strategy_path,
                config_path=component_config_path(strategy),
                config={**with_account_risk(expanded, fields, config.risk), **extra},
            )
            for expanded in strategy.expanded()
        )
    actors = [
        ImportableActorConfig(actor_path=actor.actor_path, config_path=component_config_path(actor), config=actor_config(actor, alt_data_clients, config))
        for actor in config.actors
    ]
    if config.alerts is not None:
        from ravebear.platform.alerts.composition import alert_actor_config

        actors.append(alert_actor_config(config, alt_data_clients, mode == "backtest"))
    if config.ledger is not None:
        from ravebear.platform.ledger_feed.composition import ledger_actor_config

        actors.append(ledger_actor_config(config, alt_data_clients, mode, trader_id))
    return strategies, actors


def actor_config(actor: Any, alt_data_clients: dict[str, str], config: RunFile) -> dict[str, Any]:
    """An actor section's config. An actor whose config has `alt_data_clients` (the SwarmActor) learns which client
    serves each alternative-data type in this node, as strategies do; one with `data_kinds`, which kinds of market
    data (bars, trades, book, quotes) the `data:` entries give each instrument, so it subscribes to no stream the
    node does not have."""
    values = dict(actor.config)
    wanted = {"alt_data_clients", "data_kinds"} - set(values)
    fields = component_fields(actor) if wanted else set()
    if alt_data_clients and "alt_data_clients" in wanted & fields:
        values["alt_data_clients"] = dict(alt_data_clients)
    if "data_kinds" in wanted & fields:
        kinds: dict[str, list[str]] = {}
        for data in config.data:
            kinds.setdefault(data.instrument_id, []).append(data.kind)
        values["data_kinds"] = kinds
    return values


def backtest_warnings(config: RunFile) -> tuple[str, ...]:
    """What a backtest of this run file will silently lack: entry-filter data that `alt_data:` does not replay."""
    from ravebear.platform.alerts.composition import alert_warnings

    strategies, _ = component_configs(config)
    served = dict.fromkeys(config.alt_data.types, config.alt_data.client_id)
    return unserved_filter_data(strategies, served) + unserved_swarm_signals(config, strategies) + alert_warnings(config)


@dataclass
class TradingNodePlan:
    """What a paper or live TradingNode is built from."""

    config: Any  # nautilus TradingNodeConfig
    data_factories: dict[str, type] = field(default_factory=dict)  # client name -> LiveDataClientFactory
    exec_factories: dict[str, type] = field(default_factory=dict)  # client name -> LiveExecClientFactory
    replay_client: str | None = None  # the catalog replay's client id, when data is a replay
    sources: tuple[str, ...] = ()  # the live alternative-data sources that run (client ids)
    warnings: tuple[str, ...] = ()  # sources left out and filter data nothing serves: shown before the node starts
    show_dashboard: bool = False


def trading_node_plan(
    config: RunFile, mode: Mode, catalog_path: Path | None = None, log_level: str | None = None, dashboard: bool | None = None,
    environ: dict[str, str] | None = None,
) -> TradingNodePlan:  # fmt: skip
    """The TradingNode config of a run file for `ravebear paper` (sandbox) or `ravebear live` (OKX)."""
    from nautilus_trader.config import (
        CacheConfig,
        DatabaseConfig,
        LiveDataEngineConfig,
        LiveExecEngineConfig,
        LiveRiskEngineConfig,
        LoggingConfig,
        TradingNodeConfig,
    )

    node_settings = config.node
    venue = config.venue
    replay = node_settings.data == "replay"
    if venue.name != "OKX" and not (mode == "paper" and replay):
        raise ConfigError(f"venue.name: live nodes and paper nodes on OKX data trade OKX, got {venue.name!r} (a paper replay may simulate any venue)")
    plan = TradingNodePlan(config=None)
    data_clients: dict[str, Any] = {}
    exec_clients: dict[str, Any] = {}
    serves: dict[str, str] = {}
    if replay:
        if catalog_path is None:
            raise ConfigError("node.data is 'replay' but no catalog was given")
        from ravebear.adapters.replay.config import ReplayDataClientConfig
        from ravebear.adapters.replay.factories import ReplayDataClientFactory
        from ravebear.catalog.alt_data import types as alt_types

        client_name = config.alt_data.client_id if config.alt_data.types else REPLAY_CLIENT
        starts = [utc_ns(d.start) for d in config.data if d.start]
        ends = [utc_ns(d.end) for d in config.data if d.end]
        data_clients[client_name] = ReplayDataClientConfig(
            catalog_path=str(catalog_path), venue=venue.name, instrument_ids=tuple(instrument_ids(config)),
            start_ns=min(starts) if starts else None, end_ns=max(ends) if ends else None, speed=node_settings.speed,
            custom_data=tuple(f"{alt_types.__name__}:{name}" for name in config.alt_data.types),
            entries=tuple((data.kind, data.instrument_id, utc_ns(data.start), utc_ns(data.end)) for data in config.data),
        )  # fmt: skip
        plan.data_factories[client_name] = ReplayDataClientFactory
        plan.replay_client = client_name
        serves.update(dict.fromkeys(config.alt_data.types, config.alt_data.client_id))
    else:
        from ravebear.platform.live_fixes.okx_books import OKXBookSnapshotDataClientFactory

        data_clients["OKX"] = okx_data_config(config)
        plan.data_factories["OKX"] = OKXBookSnapshotDataClientFactory  # nautilus's, with a CLEAR before each book snapshot
    sources = live_sources(config, environ)
    data_clients.update(sources.clients)
    plan.data_factories.update(sources.factories)
    serves.update(sources.serves)  # a live source wins over the replay for the types it serves
    plan.sources, plan.warnings = tuple(sources.clients), sources.warnings
    # a replay serves trades, books and quotes as a backtest does; OKX market data serves them to whoever subscribes
    # (the OrderFlowActor does), but its book then exists only while subscribed, so the OKX-fed sandbox stays L1
    book = any(data.kind == "book" for data in config.data)
    if mode == "paper" and not replay:
        plan.warnings += tuple(
            f"data[{index}]: kind book: on OKX market data the paper sandbox fills on bars, trades and quotes (an L1 book), not on "
            f"{data.instrument_id}'s L2 book as a backtest or a paper replay does"
            for index, data in enumerate(config.data) if data.kind == "book"
        )  # fmt: skip
    if mode == "paper":
        from ravebear.platform.simulated_venue.sandbox import BarSandboxConfig, SandboxLiveExecClientFactory

        exec_clients[venue.name] = BarSandboxConfig(
            venue=venue.name, starting_balances=[venue.starting_balance], base_currency=None, oms_type="NETTING",
            account_type=venue.account_type,  # CASH for spot pairs: no leverage
            default_leverage=Decimal(str(venue.default_leverage)) if venue.account_type == "MARGIN" else Decimal(1),
            leverages=({key: Decimal(str(value)) for key, value in venue.leverages.items()} or None) if venue.account_type == "MARGIN" else None,
            use_random_ids=True,  # venue order ids must not repeat across restarts
            fill_model=fill_model_config(config),  # the backtest's, same seed: the same slipped fills
            # the backtest venue's book: L2 when a book entry streams deltas (the replay serves them whether subscribed or not)
            book_type="L2_MBP" if book and replay else "L1_MBP",
        )  # fmt: skip
        plan.exec_factories[venue.name] = SandboxLiveExecClientFactory
    else:
        from nautilus_trader.adapters.okx.factories import OKXLiveExecClientFactory

        exec_clients["OKX"] = okx_exec_config(config)
        plan.exec_factories["OKX"] = OKXLiveExecClientFactory
    cache = None
    if node_settings.redis is not None:
        redis = node_settings.redis
        cache = CacheConfig(
            database=DatabaseConfig(type="redis", host=redis.host, port=redis.port, connection_timeout=5, response_timeout=5),
            encoding="msgpack", buffer_interval_ms=None, flush_on_start=redis.flush_on_start,
        )  # fmt: skip
    strategies, actors = component_configs(config, {"stop_action": node_settings.stop_action}, serves, mode, node_settings.trader_id)
    from ravebear.platform.alerts.composition import alert_warnings

    plan.warnings += unserved_filter_data(strategies, {**dict.fromkeys(sources.left_out, ""), **serves}) + unserved_swarm_signals(config, strategies)
    plan.warnings += alert_warnings(config)
    plan.show_dashboard = node_settings.dashboard if dashboard is None else dashboard
    level = log_level or config.run.log_level
    if plan.show_dashboard:  # nautilus writes logs to stdout, which would tear the in-place view: errors only there, the rest to a file
        log_dir = Path(config.run.output_dir) / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        logging = LoggingConfig(log_level="ERROR", log_level_file=level, log_directory=str(log_dir), log_colors=False)
    else:
        logging = LoggingConfig(log_level=level, log_colors=False)
    plan.config = TradingNodeConfig(
        trader_id=node_settings.trader_id,
        logging=logging,
        cache=cache,
        load_state=cache is not None,
        save_state=cache is not None,
        data_engine=LiveDataEngineConfig(time_bars_build_with_no_updates=False),
        risk_engine=LiveRiskEngineConfig(**msgspec.structs.asdict(risk_engine_for(config))),
        exec_engine=LiveExecEngineConfig(reconciliation=node_settings.reconciliation, reconciliation_startup_delay_secs=1.0),
        data_clients=data_clients,
        exec_clients=exec_clients,
        strategies=strategies,
        actors=actors,
        timeout_connection=CONNECT_TIMEOUT_S, timeout_reconciliation=10.0, timeout_portfolio=5.0, timeout_disconnection=5.0,
        timeout_post_stop=2.0 if mode == "paper" else 5.0, timeout_shutdown=5.0,
    )  # fmt: skip
    return plan


def _instruments(config: RunFile) -> Any:
    """Load the file's instruments at connect: without it nautilus 1.231's OKX clients connect, load nothing
    and silently drop every push for an instrument not in the cache (docs/OKX_1231_CAPTURE.md)."""
    from nautilus_trader.config import InstrumentProviderConfig

    return InstrumentProviderConfig(load_ids=frozenset(d.instrument_id for d in config.data))


def _ws_url(config: RunFile, channel: str) -> str | None:
    """The public (data) or private (execution) WebSocket URL from `node.okx.base_url_ws` (either form given)."""
    url = config.node.okx.base_url_ws
    if url is None:
        return None
    from nautilus_trader.core import nautilus_pyo3

    return nautilus_pyo3.derive_okx_ws_url(url, channel)


def okx_data_config(config: RunFile) -> Any:
    """OKX market data for the file's instruments (keys from the environment)."""
    from nautilus_trader.adapters.okx.config import OKXDataClientConfig
    from nautilus_trader.core.nautilus_pyo3 import OKXEnvironment, OKXInstrumentType

    okx = config.node.okx
    return OKXDataClientConfig(
        instrument_types=(OKXInstrumentType.SWAP,),
        instrument_provider=_instruments(config),
        environment=OKXEnvironment.DEMO if okx.environment == "demo" else OKXEnvironment.LIVE,
        base_url_http=okx.base_url_http, base_url_ws=_ws_url(config, "public"),
    )  # fmt: skip


def okx_exec_config(config: RunFile) -> Any:
    """OKX execution (demo or live) in the file's margin mode (keys from the environment)."""
    from nautilus_trader.adapters.okx.config import OKXExecClientConfig
    from nautilus_trader.core.nautilus_pyo3 import OKXEnvironment, OKXInstrumentType, OKXMarginMode

    okx = config.node.okx
    return OKXExecClientConfig(
        instrument_types=(OKXInstrumentType.SWAP,),
        environment=OKXEnvironment.DEMO if okx.environment == "demo" else OKXEnvironment.LIVE,
        margin_mode=OKXMarginMode.CROSS if okx.margin_mode == "cross" else OKXMarginMode.ISOLATED,
        instrument_provider=_instruments(config),
        base_url_http=okx.base_url_http, base_url_ws=_ws_url(config, "private"),
    )  # fmt: skip


