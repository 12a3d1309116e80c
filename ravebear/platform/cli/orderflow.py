"""`ravebear catalog import-orderflow`: trades, L2 book updates and L1 quotes from capture files into the catalog."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ravebear.platform.cli.common import catalog_option, fail, open_catalog
from ravebear.text import plural

SHOWN_PROBLEMS = 20  # rejected rows, gaps and crossed books printed in full; the rest are counted


def _print_list(items: list, label: str, more: str) -> None:
    for item in items[:SHOWN_PROBLEMS]:
        click.echo(f"  {label} {item}")
    if len(items) > SHOWN_PROBLEMS:
        click.echo(f"  ... and {plural(len(items) - SHOWN_PROBLEMS, more)}")


def _print_import(result) -> None:  # noqa: ANN001 - OrderflowImport, imported lazily
    report, write = result.report, result.write
    click.echo(
        f"{result.source}: {result.kind}, {report.total} rows, {report.valid} valid, {len(report.rejections)} rejected; "
        f"{write.written} {result.series} written, {write.already_stored} already stored -> {result.instrument_id}",
    )
    for note in report.notes:
        click.echo(f"  {note}")
    _print_list(report.rejections, "rejected", "more rejected row")
    if report.gaps:
        click.echo(f"  {plural(len(report.gaps), 'sequence gap')}:")
        _print_list(report.gaps, "  gap at", "more gap")
    if report.crossed:
        click.echo(f"  {plural(len(report.crossed), 'crossed book')} after sync (kept; the source's own updates):")
        _print_list(report.crossed, "  crossed at", "more crossed book")


@click.command("import-orderflow")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--instrument", "-i", default=None, help="Instrument id (default: from the file name, e.g. binance_spot_BTCUSDT_... -> BTCUSDT.BINANCE, or OKX's instId).")
@catalog_option
def catalog_import_orderflow(files: tuple[str, ...], instrument: str | None, catalog_path: str | None) -> None:
    """Import trades, L2 book updates and L1 quotes: Binance captures, OKX WebSocket messages, Tardis CSV, Hyperliquid.

    Binance (.parquet): the kind comes from the columns: trades -> TradeTick, bookticker -> QuoteTick,
    depthdiff -> OrderBookDelta (the book rebuilt from its `_depthsnap` snapshot with Binance's sync).
    OKX (.json/.jsonl, v5 messages): trades, bbo-tbt and books channels, instrument from instId.
    Tardis CSV (trades, incremental_book_L2, book_snapshot_N) and Hyperliquid (l2book, trades parquet).
    Every file is tried; one that cannot be read or gives nothing valid is named. Exit 1 when any
    file gave nothing to store, 2 for an unknown instrument.
    """
    from ravebear.catalog.orderflow.binance import OrderflowFormatError
    from ravebear.catalog.orderflow.importer import UnknownInstrument, import_file

    store = open_catalog(catalog_path, writable=True)
    paths = [Path(file) for file in files]
    failed: list[str] = []
    unreadable = False
    for path in paths:
        try:
            results = import_file(store, path, instrument, given=paths)
        except UnknownInstrument as exc:
            fail(str(exc), 2)
        except OrderflowFormatError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            failed.append(str(path))
            unreadable = True
            continue
        if not results:
            if not any("_depthdiff" in other.name for other in paths):
                click.echo(f"{path}: depth snapshot; read with its depth diffs (give the _depthdiff file)")
            continue
        for result in results:
            _print_import(result)
        if all(result.write.written + result.write.already_stored == 0 for result in results):  # nothing reached the catalog
            failed.append(str(path))
    if not failed:
        return
    if len(paths) == 1 and unreadable:
        sys.exit(1)  # its one error line is already out
    fail(f"nothing valid imported from {', '.join(failed)}" + (f" ({len(paths) - len(failed)} other file(s) imported)" if len(paths) > len(failed) else ""))
