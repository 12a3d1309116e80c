"""`ravebear catalog ...`: import, download and list market data in the Parquet catalog."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ravebear.platform.cli.common import HelpGroup, catalog_option, fail, open_catalog, require_writable
from ravebear.text import plural

REPO_ROOT = Path(__file__).resolve().parents[3]
SAMPLE_DIR = REPO_ROOT / "data" / "sample"
SHOWN_PROBLEMS = 20  # rejected rows and gaps printed in full; the rest are counted


@click.group(cls=HelpGroup)
def catalog() -> None:
    """Import, download and list market data in the Parquet catalog."""


def _print_import(result, source: str, shown_gaps: int = SHOWN_PROBLEMS) -> None:  # noqa: ANN001
    report = result.report
    click.echo(
        f"{source}: {report.total} rows, {report.valid} valid, {len(report.rejections)} rejected; "
        f"{result.written} bars written, {result.already_stored} already stored -> {result.bar_type}",
    )
    for note in report.notes:
        click.echo(f"  {note}")
    for rejection in report.rejections[:SHOWN_PROBLEMS]:
        click.echo(f"  rejected {rejection}")
    if len(report.rejections) > SHOWN_PROBLEMS:
        click.echo(f"  ... and {len(report.rejections) - SHOWN_PROBLEMS} more rejected rows")
    if result.conflicts:
        click.echo(f"  {len(result.conflicts)} rows differ from the stored bars at the same time; the stored ones were kept")
    if report.gaps:
        missing = sum(gap.missing for gap in report.gaps)
        click.echo(f"  {plural(len(report.gaps), 'gap')}, {plural(missing, 'candle')} missing" + (":" if shown_gaps else " (`ravebear catalog list --gaps` lists them)"))
        for gap in report.gaps[:shown_gaps]:
            click.echo(f"    {gap}")
        if shown_gaps and len(report.gaps) > shown_gaps:
            click.echo(f"    ... and {plural(len(report.gaps) - shown_gaps, 'more gap')}")


@catalog.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--instrument", "-i", required=True, help="BTC-USDT-SWAP (OKX swap), BTCUSDT.BINANCE (spot), BTCUSDT-PERP.BINANCE, or one added with `catalog instrument add`.")
@catalog_option
def catalog_import(files: tuple[str, ...], instrument: str, catalog_path: str | None) -> None:
    """Import 1-minute candles (parquet/CSV in the ohlcv_1m format, or OKX v5 candle JSON).

    Every file is tried; one that cannot be read or holds no valid candle is named and the next
    one is imported. Exit 1 when any file gave nothing.
    """
    from ravebear.catalog.candles import CandleFormatError
    from ravebear.catalog.instruments import instrument_for

    store = open_catalog(catalog_path, writable=True)
    try:
        target = instrument_for(instrument, store)  # bundled, else one `catalog instrument add` stored
    except ValueError as exc:
        fail(str(exc), 2)
    empty: list[str] = []  # files that gave no valid candle
    unreadable = False
    for file in files:
        try:
            result = store.import_file(file, target)
        except ValueError as exc:  # CandleFormatError names the file; anything else gets its name here
            click.secho(f"error: {exc}" if isinstance(exc, CandleFormatError) else f"error: {file}: {exc}", fg="red", err=True)
            empty.append(file)
            unreadable = True
            continue
        _print_import(result, file)
        if result.report.valid == 0:
            empty.append(file)
    if not empty:
        return
    if len(files) == 1 and unreadable:
        sys.exit(1)  # its one error line is already out
    imported = len(files) - len(empty)
    fail(f"nothing valid imported from {', '.join(empty)}" + (f" ({imported} other file(s) imported)" if imported else ""))


def _sample_files() -> list[tuple[Path, str]]:
    return [(path, path.name.split("_")[2]) for path in sorted(SAMPLE_DIR.glob("okx_swap_*.parquet"))]


@catalog.command("import-sample")
@click.option("--if-empty", is_flag=True, help="Do nothing when the catalog already holds bars.")
@catalog_option
def catalog_import_sample(if_empty: bool, catalog_path: str | None) -> None:
    """Import the bundled OKX sample (BTC, ETH, SOL swaps; see data/sample/SOURCE.md)."""
    store = open_catalog(catalog_path)
    if if_empty and store.summary():
        click.echo(f"catalog {store.path} already holds bars; sample not imported")
        return
    require_writable(store)
    files = _sample_files()
    if not files:
        fail(f"no sample files in {SAMPLE_DIR}")
    for path, symbol in files:
        _print_import(store.import_file(path, symbol), path.name, shown_gaps=0)


@catalog.command("list")
@click.option("--gaps", "show_gaps", is_flag=True, help="List every gap.")
@catalog_option
def catalog_list(show_gaps: bool, catalog_path: str | None) -> None:
    """Show instruments and bar series: time ranges, row counts and gaps."""
    import pandas as pd

    store = open_catalog(catalog_path)
    instruments = store.instrument_ids()
    series = store.summary()
    click.echo(f"catalog: {store.path.resolve()}")
    click.echo(f"instruments ({len(instruments)}): {', '.join(instruments) or 'none'}")
    _print_orderflow(store)
    if not series:
        click.echo("no bars stored; try `ravebear catalog import-sample`")
        return
    rows = [("bar type", "first open (UTC)", "last open (UTC)", "bars", "gaps", "missing")]
    for item in series:
        first = pd.Timestamp(item.first_open, unit="ms", tz="UTC")
        last = pd.Timestamp(item.last_open, unit="ms", tz="UTC")
        missing = sum(gap.missing for gap in item.gaps)
        rows.append((str(item.bar_type), f"{first:%Y-%m-%d %H:%M}", f"{last:%Y-%m-%d %H:%M}", f"{item.rows:,}", f"{len(item.gaps):,}", f"{missing:,}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):  # text columns left-aligned, counts right-aligned, header over its column
        click.echo("  ".join(cell.ljust(width) if i < 3 else cell.rjust(width) for i, (cell, width) in enumerate(zip(row, widths, strict=True))))
        if show_gaps and index:
            for gap in series[index - 1].gaps:
                click.echo(f"    gap {gap}")


def _print_orderflow(store) -> None:  # noqa: ANN001 - RaveCatalog, imported lazily
    """One line per stored trade, quote and book-delta series (`catalog import-orderflow`)."""
    import pandas as pd

    from ravebear.catalog.orderflow.store import series_summary

    for kind, instrument_id, rows, first, last in series_summary(store):
        span = f"{pd.Timestamp(first, unit='ns', tz='UTC'):%Y-%m-%d %H:%M:%S} .. {pd.Timestamp(last, unit='ns', tz='UTC'):%Y-%m-%d %H:%M:%S} UTC"
        click.echo(f"{kind} {instrument_id}: {rows:,} rows, {span}")


class _DownloadGroup(HelpGroup):
    """`download SYMBOL ...` means `download candles SYMBOL ...`; other sources are subcommands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["candles", *args]
        return super().parse_args(ctx, args)


@catalog.group("download", cls=_DownloadGroup)
def catalog_download_group() -> None:
    """Download history into the catalog: candles (ccxt), coinalyze, whale-alert, stablecoins.

    `ravebear catalog download BTC-USDT-SWAP ...` is short for `... download candles BTC-USDT-SWAP ...`.
    """


@catalog_download_group.command("candles")
@click.argument("symbol")
@click.option("--exchange", default="okx", show_default=True, help="Any ccxt exchange id with OHLCV.")
@click.option("--since", default=None, help="UTC start date/time (ignored when the series already has bars: it resumes).")
@click.option("--until", default=None, help="UTC end date/time (default: now).")
@click.option("--url", "rest_url", default=None, help="REST base URL override (e.g. a local test server).")
@click.option("--retries", default=5, show_default=True, help="Retries per page before giving up (429s wait Retry-After).")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@catalog_option
def catalog_download(
    symbol: str, exchange: str, since: str | None, until: str | None, rest_url: str | None, retries: int,
    no_progress: bool, catalog_path: str | None,
) -> None:  # fmt: skip
    """Download 1-minute candles through ccxt into the catalog: paginated, rate-limited, resumable."""
    import pandas as pd

    from ravebear.catalog.download import DownloadError, download_candles

    def ms(value: str | None, option: str) -> int | None:
        if value is None:
            return None
        try:
            stamp = pd.Timestamp(value)
        except ValueError:
            fail(f"{option} {value!r}: expected an ISO date or date/time in UTC, e.g. 2026-11-01 or 2026-11-01T12:00", 2)
        return int((stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).value // 1_000_000)

    since_ms, until_ms = ms(since, "--since"), ms(until, "--until")
    store = open_catalog(catalog_path, writable=True)
    try:
        result = download_candles(
            store, symbol, exchange_id=exchange, since_ms=since_ms, until_ms=until_ms, rest_url=rest_url,
            max_retries=retries, progress=not no_progress,
        )  # fmt: skip
    except (DownloadError, ValueError) as exc:
        fail(str(exc))
    click.echo(
        f"{result.bar_type}: {result.pages} pages, {result.fetched} candles fetched, {result.written} new bars written, "
        f"{result.rejected} rejected, {result.retries} retries",
    )


