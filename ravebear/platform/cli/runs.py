"""`ravebear backtest` and `ravebear report`: run a backtest from a run file, (re)write a run's risk report."""

from __future__ import annotations

from pathlib import Path

import click

from ravebear.platform.cli.catalog import open_catalog
from ravebear.platform.cli.common import catalog_option, fail

DEFAULT_CONFIG = Path("config") / "backtest.yaml"


@click.command()
@click.argument("config_file", required=False, type=click.Path(dir_okay=False))
@catalog_option
@click.option("--output", "output_dir", type=click.Path(file_okay=False), default=None, help="Runs folder (default: run.output_dir).")
def backtest(config_file: str | None, catalog_path: str | None, output_dir: str | None) -> None:
    """Run a backtest from a YAML config (default: config/backtest.yaml) and write its run folder."""
    from ravebear.platform.cli.closed_pipe import survive_closed_pipes

    with survive_closed_pipes():  # `ravebear backtest | head -1` still completes and writes its run folder
        _backtest(Path(config_file) if config_file else DEFAULT_CONFIG, catalog_path, output_dir)


def _backtest(path: Path, catalog_path: str | None, output_dir: str | None) -> None:
    from ravebear.platform.nodes.run_file import ConfigError, load_run_file

    try:
        config, text = load_run_file(path)
    except ConfigError as exc:
        fail(str(exc), code=2)
    from ravebear.platform.nodes.backtest import check_data_available, check_output_dir, run_backtest

    store = open_catalog(catalog_path or config.run.catalog_path)
    runs_dir = Path(output_dir) if output_dir else Path(config.run.output_dir)
    try:
        coverage = check_data_available(config, store)
        check_output_dir(runs_dir, "--output" if output_dir else "run.output_dir")  # before the work, not after it
    except ConfigError as exc:
        fail(str(exc), code=2)
    click.echo(f"backtest {config.run.name}: {path} on catalog {store.path}")
    from ravebear.platform.nodes.composer import backtest_warnings

    for warning in (*coverage, *backtest_warnings(config)):
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    try:
        outcome = run_backtest(config, text, store, runs_dir)
    except ConfigError as exc:
        fail(str(exc), code=2)
    _print_summary(outcome.run.summary)
    from ravebear.platform.cli.no_trades import no_trade_lines

    for line in no_trade_lines(outcome.run.summary, outcome.run.path):
        click.echo(line)
    _print_alert_load(outcome.run.path, outcome.run.summary)
    click.echo(f"run folder: {outcome.run.path.resolve()}")
    folder = outcome.run.path
    for label, name in (("risk report", "risk_report.html"), ("tearsheet", "report.html")):
        if (folder / name).exists():
            click.echo(f"{label + ':':<13}{(folder / name).resolve()}")


def _print_alert_load(folder: Path, summary: dict) -> None:
    """One line: what the run's alerts: section would send to Discord (counted in shadow mode)."""
    import pandas as pd

    from ravebear.reports.risk_report import alert_load

    start, end = (pd.Timestamp(summary[k]) if summary.get(k) else None for k in ("start", "end"))
    load = alert_load(folder, start, end, [])
    if load["recorded"]:
        parts = [f"{c['channel']} {c['total']:,} ({c['per_day']:,.1f}/day, busiest {c['max_day']:,})" for c in load["channels"]]
        click.echo(f"alerts a live node would send (not sent in a backtest): {', '.join(parts) or 'none'}")


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
def report(run_dir: str) -> None:
    """Write the risk report (risk_report.html and .json) of a backtest run folder."""
    from ravebear.reports.run_tables import RunFolderError
    from ravebear.reports.risk_report_html import summary_lines, write_risk_report

    try:
        html_path, json_path = write_risk_report(Path(run_dir))
    except RunFolderError as exc:
        fail(str(exc))
    except (ValueError, KeyError, TypeError) as exc:  # a table the checks let through: still one line, exit 1
        fail(f"cannot build the risk report of {run_dir}: {type(exc).__name__}: {exc}")
    import json

    report = json.loads(json_path.read_text())
    for warning in report.get("warnings", []):
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    for line in summary_lines(report):
        click.echo(line)
    click.echo(f"html: {html_path.resolve()}")
    click.echo(f"json: {json_path.resolve()}")


def _print_summary(summary: dict) -> None:
    def number(key: str, fmt: str = "{:,.2f}") -> str:
        value = summary.get(key)
        return "n/a" if value is None else fmt.format(value)

    click.echo(
        f"bars {summary['bars']:,} in {summary['elapsed_s']:.1f}s ({summary['bars_per_s'] or 0:,} bars/s); "
        f"orders {summary['orders']}, fills {summary['fills']}",
    )
    rows = [
        ("trades", str(summary["trades"])),
        ("win rate", number("win_rate", "{:.1%}")),
        ("PnL (USDT)", number("pnl")),
        ("return", number("return_pct", "{:.2f} %")),
        ("max drawdown", number("max_drawdown_pct", "{:.2f} %")),
        ("Sharpe (daily, 365)", number("sharpe")),
        ("Sortino (daily, 365)", number("sortino")),
        ("profit factor", number("profit_factor")),
        ("expectancy (USDT/trade)", number("expectancy")),
        ("fees (USDT)", number("fees")),
    ]
    for label, value in rows:
        click.echo(f"  {label:<24} {value:>14}")


