"""The `ravebear` command: one module per group of verbs. Heavy libraries (nautilus, pandas) load inside
commands so --help stays fast."""

from __future__ import annotations

from pathlib import Path

import click

from ravebear.platform.cli.alerts import alerts
from ravebear.platform.cli.altdata import coinalyze_download, stablecoins_download, whale_alert_download
from ravebear.platform.cli.analyze import analyze
from ravebear.platform.cli.catalog import catalog, catalog_download_group
from ravebear.platform.cli.common import HelpGroup, fail
from ravebear.platform.cli.instruments import instrument
from ravebear.platform.cli.ledger import ledger
from ravebear.platform.cli.nodes import live, paper
from ravebear.platform.cli.optimize import optimize
from ravebear.platform.cli.orderflow import catalog_import_orderflow
from ravebear.platform.cli.record import record
from ravebear.platform.cli.runs import backtest, report
from ravebear.platform.cli.venue import venue

INTERRUPTED_EXIT = 130  # the shell's code for a process ended by SIGINT


class _Root(HelpGroup):
    """The `ravebear` group: Ctrl-C that reaches a command (e.g. while a node is built) is one line, not click's "Aborted!"."""

    def invoke(self, ctx: click.Context) -> None:  # noqa: D102
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            fail("interrupted (Ctrl-C)", INTERRUPTED_EXIT)


@click.group(cls=_Root, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120})
@click.version_option(package_name="ravebear")
def main() -> None:
    """RaveBear: backtest, paper-trade and live-trade crypto derivatives on nautilus_trader."""
    from dotenv import load_dotenv

    load_dotenv(Path.cwd() / ".env", override=False)  # secrets from ./.env; the environment wins


for _command in (catalog, backtest, report, analyze, optimize, paper, live, venue, record, alerts, ledger):
    main.add_command(_command)
catalog.add_command(instrument)
catalog.add_command(catalog_import_orderflow)
for _command in (coinalyze_download, whale_alert_download, stablecoins_download):
    catalog_download_group.add_command(_command)

