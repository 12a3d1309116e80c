"""What every `ravebear` command module shares: the catalog option, the help layout and the one-line failure."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

catalog_option = click.option(
    "--catalog", "catalog_path", type=click.Path(file_okay=False), default=None,
    help="Catalog folder (default: $RAVEBEAR_CATALOG or ./var/catalog).",
)  # fmt: skip


class HelpGroup(click.Group):
    """A group whose command list shows each command's whole first sentence (click cuts it to fit 80 columns),
    and that prints its help and succeeds when called alone (click exits 2)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """The help and exit 0 when no command is given."""
        if not args and not ctx.resilient_parsing:
            click.echo(ctx.get_help())
            ctx.exit(0)
        return super().parse_args(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands with their full one-sentence summaries (wrapped, never cut)."""
        rows = [(name, command.get_short_help_str(limit=10_000)) for name in self.list_commands(ctx)
                if (command := self.get_command(ctx, name)) is not None and not command.hidden]  # fmt: skip
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print `error: <message>` in red on stderr and exit with `code` (1 failure, 2 bad input)."""
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)


def utc_ms(text: str) -> int:
    """UNIX ms of a date/time given on the command line (naive = UTC); raises ValueError when it is not one."""
    import pandas as pd

    stamp = pd.Timestamp(text)
    return int((stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).value // 1_000_000)


def open_catalog(path: str | None, writable: bool = False):  # noqa: ANN201 - RaveCatalog, imported lazily
    """The catalog at `path` (default: $RAVEBEAR_CATALOG or ./var/catalog).

    `writable`: prove the folder can be written before any work (else one line, exit 2), for commands
    that store something.
    """
    from ravebear.catalog.store import RaveCatalog

    store = RaveCatalog(path)
    if writable:
        require_writable(store)
    return store


def require_writable(store) -> None:  # noqa: ANN001 - RaveCatalog, imported lazily
    """Prove the catalog folder is writable before any work: else a one-line error, exit 2."""
    from ravebear.catalog.atomic_write import CatalogNotWritable

    try:
        store.check_writable()
    except CatalogNotWritable as exc:
        fail(f"--catalog: {exc}", 2)
