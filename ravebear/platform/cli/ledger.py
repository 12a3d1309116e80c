"""`ravebear ledger list|export`: the event ledger's runs, level touches (market state and outcomes), signals,
alerts, orders and fills, filtered, shown in the terminal or written to CSV or Parquet."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import click

from ravebear.platform.cli.common import HelpGroup, fail, utc_ms

TABLE_NAMES = ("runs", "touches", "signals", "alerts", "orders", "fills", "swarm", "regimes")
SHOWN = {  # the columns `list` prints (export writes every column)
    "runs": ["id", "mode", "run_file", "trader_id", "started_at", "ended_at", "data_start", "data_end"],
    "touches": ["event_time", "instrument_id", "kind", "timeframe", "score", "side", "touch_price", "level_price",
                "markout_5m_bps", "markout_60m_bps", "mfe_bps", "mae_bps", "outcome"],
    "signals": ["event_time", "strategy_id", "instrument_id", "side", "accepted", "refused_by", "reason"],
    "alerts": ["event_time", "channel", "kind", "symbol", "title", "outcome"],
    "orders": ["event_time", "client_order_id", "instrument_id", "side", "order_type", "status", "quantity", "price"],
    "fills": ["event_time", "client_order_id", "instrument_id", "side", "quantity", "price", "fee", "realized_pnl", "r_multiple"],
    "swarm": ["event_time", "instrument_id", "direction", "score", "confluence", "long_votes", "short_votes", "regime", "votes"],
    "regimes": ["event_time", "instrument_id", "regime", "previous"],
}  # fmt: skip


def _filters(function):
    for option in reversed([
        click.option("--url", default=None, help="SQLAlchemy URL of the ledger (default: $RAVEBEAR_LEDGER_URL or sqlite:///var/ledger.sqlite)."),
        click.option("--run", default=None, help="Only this run id."),
        click.option("--instrument", default=None, help="Only this instrument (BTC-USDT-SWAP.OKX, or a prefix such as BTC)."),
        click.option("--kind", default=None, help="Only this kind (touches: the level's kind; alerts: the alert's kind)."),
        click.option("--since", default=None, help="From this UTC date/time (e.g. 2026-07-27 or '2026-07-27 12:20')."),
        click.option("--until", default=None, help="Before this UTC date/time."),
    ]):  # fmt: skip
        function = option(function)
    return function


@click.group(cls=HelpGroup)
def ledger() -> None:
    """The event ledger: runs, level touches with their market state and outcomes, signals, alerts, orders, fills, swarm
    signals and regime changes."""


def _table(name: str) -> str:
    if name not in TABLE_NAMES:
        close = difflib.get_close_matches(name, TABLE_NAMES, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        fail(f"unknown table {name!r}{hint}: one of {', '.join(TABLE_NAMES)}", 2)
    return name


def _ns(text: str | None, option: str) -> int | None:
    if text is None:
        return None
    try:
        return utc_ms(text) * 1_000_000
    except ValueError:
        fail(f"--{option}: not a date/time: {text!r} (e.g. 2026-07-27 or '2026-07-27 12:20')", 2)


def _frames(table: str, url: str | None, run: str | None, instrument: str | None, kind: str | None, since: str | None,
            until: str | None, limit: int | None, chunk_rows: int = 100_000):
    """The filtered rows in frames (an export never holds a whole table); one-line errors for bad input."""
    from ravebear.ledger.query import Filters, QueryError, iter_table
    from ravebear.ledger.store import LedgerError, open_ledger

    filters = Filters(run, instrument, kind, _ns(since, "since"), _ns(until, "until"), limit)
    try:
        engine = open_ledger(url, must_exist=True)
    except LedgerError as exc:
        fail(str(exc), exc.exit_code)
    try:
        yield from iter_table(engine, table, filters, chunk_rows)
    except QueryError as exc:
        fail(str(exc), 2)
    finally:
        engine.dispose()


def _cell(value: object) -> str:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


@ledger.command("list")
@click.argument("table")
@_filters
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True, help="Show the newest this many rows.")
def list_rows(table: str, url: str | None, run: str | None, instrument: str | None, kind: str | None, since: str | None,
              until: str | None, limit: int) -> None:  # fmt: skip
    """List a table's rows (runs, touches, signals, alerts, orders, fills, swarm or regimes), oldest first."""
    from ravebear.reports.tables import Table

    table = _table(table)
    import pandas as pd

    frame = pd.concat(list(_frames(table, url, run, instrument, kind, since, until, limit)), ignore_index=True)
    if frame.empty:
        click.echo(f"no {table} match")
        return
    columns = SHOWN[table]
    shown = Table(f"{table}: {len(frame):,} rows" + (f" (the newest {limit:,})" if len(frame) == limit else ""), columns,
                  [[_cell(value) for value in row] for row in frame[columns].itertuples(index=False)])  # fmt: skip
    click.echo(shown.text())


@ledger.command("export")
@click.argument("table")
@click.argument("output", type=click.Path())
@_filters
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default=None, help="Default: from OUTPUT's suffix (.csv or .parquet).")
@click.option("--chunk-rows", type=click.IntRange(1), default=100_000, hidden=True)  # rows read and written at a time
def export(table: str, output: str, url: str | None, run: str | None, instrument: str | None, kind: str | None, since: str | None,
           until: str | None, fmt: str | None, chunk_rows: int) -> None:  # fmt: skip
    """Write a table's rows, every column, to a CSV or Parquet file (times in UTC)."""
    table = _table(table)
    path = Path(output)
    if path.is_dir():
        fail(f"cannot write {output}: it is a folder", 2)
    fmt = fmt or {".csv": "csv", ".parquet": "parquet"}.get(path.suffix.lower())
    if fmt is None:
        fail(f"{output}: say --format csv or parquet (or name the file .csv or .parquet)", 2)
    staged = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:  # prove the output can be written before reading anything
        staged.touch()
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}", 2)
    rows = 0
    try:
        frames = _frames(table, url, run, instrument, kind, since, until, None, chunk_rows)
        if fmt == "csv":
            for i, frame in enumerate(frames):
                frame.to_csv(staged, index=False, header=i == 0, mode="w" if i == 0 else "a")
                rows += len(frame)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            from ravebear.ledger.query import arrow_schema

            schema = arrow_schema(table)  # fixed from the column types, so every chunk matches
            with pq.ParquetWriter(staged, schema) as parquet:
                for frame in frames:
                    parquet.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False))
                    rows += len(frame)
        staged.replace(path)  # whole file or none
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}", 2)
    finally:
        staged.unlink(missing_ok=True)
    click.echo(f"wrote {rows:,} {table} to {output} ({fmt})")
