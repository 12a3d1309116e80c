"""The `ravebear` command: one module per group of verbs. Heavy libraries (nautilus, pandas) load inside
commands so --help stays fast."""

from __future__ import annotations

from pathlib import Path

import click

from ravebear.platform.cli.altdata import coinalyze_download, stablecoins_download, whale_alert_download
from ravebear.platform.cli.analyze import analyze
from ravebear.platform.cli.catalog import catalog, catalog_download_group
from ravebear.platform.cli.instruments import instrument
from ravebear.platform.cli.nodes import live, paper
from ravebear.platform.cli.runs import backtest, report
from ravebear.platform.cli.venue import venue


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ravebear")
def main() -> None:
    """RaveBear: backtest, paper-trade and live-trade crypto derivatives on nautilus_trader."""
    from dotenv import load_dotenv

    load_dotenv(Path.cwd() / ".env", override=False)  # secrets from ./.env; the environment wins


for _command in (catalog, backtest, report, analyze, paper, live, venue):
    main.add_command(_command)
catalog.add_command(instrument)
for _command in (coinalyze_download, whale_alert_download, stablecoins_download):
    catalog_download_group.add_command(_command)

