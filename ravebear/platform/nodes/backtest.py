"""Build a nautilus BacktestNode from a validated backtest config and run it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ravebear.catalog.store import RaveCatalog, one_minute_bar_type
from ravebear.risk.topics import GUARD_TOPIC
from ravebear.platform.nodes.run_file import RunFile, ConfigError, component_config_path, component_fields, with_account_risk
from ravebear.reports.run_folder import BalanceRecorder, GuardRecorder, RunFolder, new_run_dir, write_run_folder

if TYPE_CHECKING:
    from nautilus_trader.config import BacktestRunConfig


def _ns(value: str | None) -> int | None:
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.value


def prepare_backtest_process() -> None:
    """Set process-wide options every backtest process should run with.

    nautilus's PortfolioAnalyzer appends each closed trade's PnL with `pd.concat` onto a
    growing Series indexed by position-id strings, which is quadratic in trades; pandas 3's
    default pyarrow-backed string index makes each concat ~3x slower (3.3 ms a trade at
    1,200 trades). Object strings restore the pandas 2 behaviour for the whole backtest
    process; reports and results are the same text either way.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the option is deprecated for pandas 4, where it goes away
        try:
            pd.set_option("future.infer_string", False)
        except (KeyError, ValueError, pd.errors.OptionError):
            pass


def check_data_available(config: RunFile, catalog: RaveCatalog) -> None:
    """Fail with a clear message when a configured series or funding file is missing."""
    for instrument_id, path in config.funding.rates.items():
        if not Path(path).is_file():
            raise ConfigError(f"funding.rates.{instrument_id}: no such file {path} (relative paths are from {Path.cwd()})")
    stored = {series.bar_type: series for series in catalog.summary()}
    for data in config.data:
        bar_type = data.bar_type or one_minute_bar_type(data.instrument_id)
        if bar_type not in stored:
            have = ", ".join(stored) or "nothing"
            raise ConfigError(
                f"no bars for {bar_type} in the catalog at {catalog.path} (it has {have}); "
                "import some with `ravebear catalog import` or `ravebear catalog download`",
            )


def build_run_config(config: RunFile, catalog_path: Path, log_level: str | None = None) -> BacktestRunConfig:
    """Translate a RaveBear backtest config into a nautilus BacktestRunConfig."""
    from nautilus_trader.backtest.config import ImportableFeeModelConfig, ImportableFillModelConfig
    from nautilus_trader.config import (
        BacktestDataConfig,
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
                catalog_instruments=[data.instrument_id for data in config.data] if config.funding.from_catalog else None,
            ),
        )
    venue_config = BacktestVenueConfig(
        name=venue.name,
        oms_type=venue.oms_type,
        account_type=venue.account_type,
        base_currency=None,
        starting_balances=[venue.starting_balance],
        default_leverage=venue.default_leverage,
        leverages=dict(venue.leverages) or None,
        fee_model=fee_model,
        fill_model=ImportableFillModelConfig(
            fill_model_path="nautilus_trader.backtest.models:FillModel",
            config_path="nautilus_trader.backtest.config:FillModelConfig",
            config=venue.fill_model.model_dump(),
        ),
        bar_execution=True,
        modules=modules or None,
    )
    data_configs = [
        BacktestDataConfig(
            catalog_path=str(catalog_path),
            data_cls="nautilus_trader.model.data:Bar",
            instrument_id=data.instrument_id,
            bar_types=[data.bar_type or one_minute_bar_type(data.instrument_id)],
            start_time=_ns(data.start),
            end_time=_ns(data.end),
        )
        for data in config.data
    ]
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


def _funding(engine, config: RunFile) -> pd.DataFrame | None:  # noqa: ANN001 - BacktestEngine
    """The funding the simulation module charged, or None when funding was not simulated."""
    if not (config.funding.rates or config.funding.from_catalog):
        return None
    from ravebear.platform.simulated_venue.funding import funding_frame

    return funding_frame(engine)


def risk_engine_for(config: RunFile):  # noqa: ANN201 - nautilus RiskEngineConfig, imported lazily
    """nautilus's RiskEngine settings from the same account-wide limits the strategies' guards use."""
    import msgspec

    from ravebear.risk.engine_config import risk_engine_config
    from ravebear.risk.guards import GuardLimits

    strategies = sum(len(strategy.expanded()) for strategy in config.strategies)
    return risk_engine_config(msgspec.convert(config.risk, GuardLimits), [data.instrument_id for data in config.data], strategies)


def alt_data_configs(config: RunFile, catalog_path: Path) -> list:
    """One BacktestDataConfig per configured alternative-data type (per instrument where the type has one)."""
    from nautilus_trader.config import BacktestDataConfig

    from ravebear.catalog.alt_data import types

    configs = []
    start = min((_ns(d.start) for d in config.data if d.start), default=None)
    end = max((_ns(d.end) for d in config.data if d.end), default=None)
    for name in config.alt_data.types:
        cls = getattr(types, name)
        per_instrument = "instrument_id" in getattr(cls, "__annotations__", {})
        for instrument_id in [d.instrument_id for d in config.data] if per_instrument else [None]:
            configs.append(
                BacktestDataConfig(
                    catalog_path=str(catalog_path), data_cls=f"{cls.__module__}:{name}", instrument_id=instrument_id,
                    client_id=config.alt_data.client_id, start_time=start, end_time=end,
                ),
            )  # fmt: skip
    return configs


def component_configs(config: RunFile, overrides: dict | None = None) -> tuple[list, list]:
    """The nautilus strategy and actor configs of a run file (shared by the backtest and the paper/live nodes).

    `overrides` are merged into every strategy config whose class has those fields (e.g. the live
    node's `stop_action`).
    """
    from nautilus_trader.config import ImportableActorConfig, ImportableStrategyConfig

    strategies = []
    for strategy in config.strategies:
        fields = component_fields(strategy)
        extra = {key: value for key, value in (overrides or {}).items() if key in fields}
        strategies.extend(
            ImportableStrategyConfig(
                strategy_path=strategy.strategy_path,
                config_path=component_config_path(strategy),
                config={**with_account_risk(expanded, fields, config.risk), **extra},
            )
            for expanded in strategy.expanded()
        )
    actors = [
        ImportableActorConfig(actor_path=actor.actor_path, config_path=component_config_path(actor), config=dict(actor.config))
        for actor in config.actors
    ]
    return strategies, actors


@dataclass
class BacktestOutcome:
    """A finished backtest and where its results are."""

    run: RunFolder
    elapsed_s: float
    bars: int


def run_backtest(config: RunFile, config_text: str, catalog: RaveCatalog, output_dir: Path | None = None) -> BacktestOutcome:
    """Run a backtest and write its run folder; return the outcome."""
    from decimal import Decimal

    from nautilus_trader.analysis import MaxDrawdown
    from nautilus_trader.backtest.node import BacktestNode

    check_data_available(config, catalog)
    prepare_backtest_process()
    run_config = build_run_config(config, catalog.path.resolve())
    node = BacktestNode(configs=[run_config])
    try:
        node.build()
        engine = node.get_engine(run_config.id)
        engine.portfolio.analyzer.register_statistic(MaxDrawdown())
        recorder = BalanceRecorder()
        engine.kernel.msgbus.subscribe(topic="events.account.*", handler=recorder)
        guards = GuardRecorder()
        engine.kernel.msgbus.subscribe(topic=GUARD_TOPIC, handler=guards)
        started = time.perf_counter()
        results = node.run()
        elapsed = time.perf_counter() - started
        bars = results[0].iterations if results else 0
        span = {}
        if results and results[0].backtest_start and results[0].backtest_end:
            span = {key: pd.Timestamp(value, unit="ns", tz="UTC").isoformat() for key, value in (("start", results[0].backtest_start), ("end", results[0].backtest_end))}
        run_dir = new_run_dir(output_dir or Path(config.run.output_dir), config.run.name)
        run = write_run_folder(
            engine,
            run_dir,
            config_text,
            recorder.frame(),
            Decimal(config.venue.starting_balance.split()[0]),
            meta={"bars": bars, "elapsed_s": round(elapsed, 3), "bars_per_s": round(bars / elapsed) if elapsed else None, **span},
            tearsheet=config.run.tearsheet,
            guard_events=guards.frame(),
            funding=_funding(engine, config),
        )
        if config.run.risk_report:
            from ravebear.reports.risk_report_html import write_risk_report

            write_risk_report(run.path)
    finally:
        node.dispose()
    return BacktestOutcome(run=run, elapsed_s=elapsed, bars=bars)
