"""`ravebear paper` and `ravebear live`: the backtest's strategies on a sandbox or on OKX."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from ravebear.platform.cli.common import catalog_option, fail

ARM_ENV = "RAVEBEAR_LIVE_ARMED"  # set to "yes" to arm live trading without --arm (e.g. a service unit)
REQUIRED_GUARDS = ("max_drawdown_pct", "daily_loss_limit_pct", "max_open_positions")


def _load(config_file: str, overrides: dict[str, Any]) -> tuple[Any, str]:
    from ravebear.platform.nodes.run_file import ConfigError, load_run_file

    try:
        config, text = load_run_file(Path(config_file))
    except ConfigError as exc:
        fail(str(exc), code=2)
    from pydantic import ValidationError

    from ravebear.platform.nodes.run_file import NodeSection

    try:  # options go through the same validation as the file's node section
        node = NodeSection.model_validate({**config.node.model_dump(), **{k: v for k, v in overrides.items() if v is not None}})
    except ValidationError as exc:
        problems = "; ".join(f"--{'-'.join(str(p) for p in e['loc'])}".replace("_", "-") + f": {e['msg']}" for e in exc.errors())
        fail(problems, code=2)
    return config.model_copy(update={"node": node}), text


def _catalog_path(catalog_path: str | None, config: Any) -> Path:
    from ravebear.catalog.store import RaveCatalog

    return RaveCatalog(Path(catalog_path or config.run.catalog_path or os.environ.get("RAVEBEAR_CATALOG", "var/catalog"))).path.resolve()


def describe(config: Any, mode: str) -> list[str]:
    """What the node will trade and its limits, printed before it starts."""
    node = config.node
    lines = [
        f"{mode} node {node.trader_id}: data {node.data}" + (f" (speed {node.speed or 'max'})" if node.data == "replay" else f" (OKX {node.okx.environment})"),
        "execution: " + ("sandbox (simulated fills)" if mode == "paper" else f"OKX {node.okx.environment.upper()} account, {node.okx.margin_mode} margin"),
        "cache: " + (f"Redis {node.redis.host}:{node.redis.port}" if node.redis else "in memory (a restart starts over)"),
        "instruments: " + ", ".join(d.instrument_id for d in config.data),
        "alternative data: " + (", ".join(config.sources.configured()) + " (live)" if config.sources.configured() else "none live")
        + (f"; {', '.join(config.alt_data.types)} from the catalog" if config.alt_data.types and node.data == "replay" else ""),
    ]
    for strategy in config.strategies:
        for expanded in strategy.expanded():
            lines.append(
                f"strategy {strategy.strategy_path.split(':')[-1]} on {expanded.get('instrument_id')}: "
                f"risk {expanded.get('risk_per_trade_pct', 0.5)} % a trade, max leverage {expanded.get('max_leverage', 3.0)}x",
            )
    currency = config.venue.starting_balance.split()[-1]
    limits = ", ".join(_guard_text(key, value, currency) for key, value in config.risk.items()) or "defaults"
    lines.append(f"guards: {limits}")
    lines.append(f"on stop (Ctrl-C): {node.stop_action}")
    return lines


def _guard_text(key: str, value: Any, currency: str) -> str:
    """One guard limit as the run file names it, with its unit: `max_drawdown_pct 10 %`, `max_notional_per_order 50,000 USDT`."""
    if key.endswith("_pct"):
        return f"{key} {value} %"
    if key.startswith("max_notional") and isinstance(value, (int, float)):
        return f"{key} {value:,} {currency}"
    return f"{key} {value}"


def live_refusals(config: Any, armed: bool, environ: dict[str, str] | None = None) -> list[str]:
    """Every reason `ravebear live` must not start; empty when it may."""
    from ravebear.platform.nodes.okx_keys import missing_okx_keys

    environ = os.environ if environ is None else environ
    reasons = []
    if not armed:
        reasons.append(f"live trading is not armed: pass --arm (or set {ARM_ENV}=yes) once you mean it")
    missing = missing_okx_keys(environ)
    if missing:
        reasons.append(f"OKX keys missing: set {', '.join(missing)} in the environment or .env")
    unset = [key for key in REQUIRED_GUARDS if not config.risk.get(key)]
    if unset:
        reasons.append(f"risk guards not configured: set {', '.join(f'risk.{key}' for key in unset)} (> 0) in the config")
    if config.node.data != "okx":
        reasons.append("node.data must be 'okx' for a live node (a replay is for `ravebear paper`)")
    return reasons


def _run(config: Any, text: str, mode: str, catalog_path: Path | None, output_dir: str | None, timeout: float | None, dashboard: bool | None) -> None:
    """Build and run a paper or live node, print where its run folder is; `| head` and a closed pipe cannot kill it."""
    from ravebear.platform.cli.closed_pipe import survive_closed_pipes

    with survive_closed_pipes():
        _run_node(config, text, mode, catalog_path, output_dir, timeout, dashboard)


def _run_node(config: Any, text: str, mode: str, catalog_path: Path | None, output_dir: str | None, timeout: float | None, dashboard: bool | None) -> None:
    from ravebear.platform.nodes.backtest import check_output_dir
    from ravebear.platform.nodes.run_file import ConfigError
    from ravebear.platform.nodes.trading import build_trading_node, run_trading_node

    for line in describe(config, mode):
        click.echo(line)
    try:
        check_output_dir(Path(output_dir or config.run.output_dir), "--output" if output_dir else "run.output_dir")  # before the session, not after it
        handles = build_trading_node(config, mode, catalog_path, dashboard=dashboard)
    except ConfigError as exc:
        fail(str(exc), code=2)
    for warning in handles.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    for note in handles.notes:
        click.echo(note)
    outcome = run_trading_node(handles, config, text, Path(output_dir) if output_dir else None, timeout_s=timeout)
    click.echo(f"{mode} session ended after {outcome.elapsed_s:.1f}s" + (f"; {outcome.items:,} items replayed" if outcome.items else ""))
    if outcome.run_dir is not None:
        click.echo(f"run folder: {outcome.run_dir.resolve()}")
        report = outcome.run_dir / "risk_report.html"
        if report.exists():
            click.echo(f"risk report: {report.resolve()}")
    if outcome.failure:
        fail(outcome.failure)


@click.command()
@click.argument("config_file", type=click.Path(dir_okay=False))
@catalog_option
@click.option("--speed", type=float, default=None, show_default="node.speed in the config", help="Replay speed: 0 as fast as possible, N = N x real time.")
@click.option("--trader-id", default=None, show_default="node.trader_id in the config", help="NAME-NNN; the same id after a restart finds its state in Redis.")
@click.option("--redis-port", type=int, default=None, show_default="node.redis in the config, else in memory", help="Keep the node's state in Redis on 127.0.0.1:PORT.")
@click.option("--start-over", is_flag=True, help="Wipe the trader's state in Redis: a fresh account, the replay from its start (default: resume where a killed run stopped).")
@click.option("--output", "output_dir", type=click.Path(file_okay=False), default=None, show_default="run.output_dir in the config", help="Runs folder.")
@click.option("--timeout", type=click.FloatRange(0, min_open=True), default=None, metavar="SECONDS", show_default="run until the replay ends or Ctrl-C", help="Stop after this many seconds.")
@click.option("--no-dashboard", is_flag=True, help="No in-place terminal view (default: node.dashboard in the config).")
def paper(config_file: str, catalog_path: str | None, speed: float | None, trader_id: str | None, redis_port: int | None,
          start_over: bool, output_dir: str | None, timeout: float | None, no_dashboard: bool) -> None:  # fmt: skip
    """Paper-trade a run config: sandbox fills, on a catalog replay (offline) or on OKX market data."""
    overrides: dict[str, Any] = {"speed": speed, "trader_id": trader_id, "redis": {"port": redis_port} if redis_port is not None else None}
    config, text = _load(config_file, overrides)
    if start_over and config.node.redis is not None:
        config = config.model_copy(update={"node": config.node.model_copy(update={"redis": config.node.redis.model_copy(update={"flush_on_start": True})})})
    catalog = _catalog_path(catalog_path, config) if config.node.data == "replay" else None
    _run(config, text, "paper", catalog, output_dir, timeout, False if no_dashboard else None)


@click.command()
@click.argument("config_file", type=click.Path(dir_okay=False))
@click.option("--arm", is_flag=True, help="Really trade (OKX demo or live account, as node.okx.environment says).")
@click.option("--output", "output_dir", type=click.Path(file_okay=False), default=None, show_default="run.output_dir in the config", help="Runs folder.")
@click.option("--no-dashboard", is_flag=True, help="No in-place terminal view (default: node.dashboard in the config).")
def live(config_file: str, arm: bool, output_dir: str | None, no_dashboard: bool) -> None:
    """Trade a run config on OKX. Refuses to start unless armed, the keys are set and the guards are configured."""
    config, text = _load(config_file, {})
    armed = arm or os.environ.get(ARM_ENV, "").lower() == "yes"
    reasons = live_refusals(config, armed)
    if reasons:
        click.secho("refusing to start a live node:", fg="red", err=True)
        for reason in reasons:
            click.secho(f"  - {reason}", fg="red", err=True)
        raise SystemExit(2)
    _run(config, text, "live", None, output_dir, None, False if no_dashboard else None)
