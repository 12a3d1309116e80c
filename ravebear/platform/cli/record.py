"""`ravebear record`: record OKX trades + L2 books and Kraken spot trades into the catalog until Ctrl-C."""

from __future__ import annotations

import click

from ravebear.platform.cli.common import catalog_option, fail, open_catalog
from ravebear.text import plural


@click.command()
@click.option("--okx", "okx", multiple=True, metavar="INSTID", help="OKX instrument to record trades and the L2 book of (repeatable), e.g. BTC-USDT-SWAP.")
@click.option("--kraken", "kraken", multiple=True, metavar="PAIR", help="Kraken spot pair to record trades of (repeatable), e.g. BTC/USD (XBT/USD is the same).")
@catalog_option
@click.option("--batch-seconds", type=click.FloatRange(1, 3600), default=60.0, show_default=True, metavar="SECONDS",
              help="Write every buffer at least this often (s).")  # fmt: skip
@click.option("--batch-items", type=click.IntRange(100, 5_000_000), default=50_000, show_default=True, metavar="N",
              help="Write a buffer as soon as it holds N trades or book deltas.")  # fmt: skip
@click.option("--timeout", type=click.FloatRange(0, min_open=True), default=None, metavar="SECONDS", help="Stop after this many seconds (default: until Ctrl-C).")
@click.option("--okx-http", default=None, metavar="URL", help="OKX REST base URL (default OKX's; e.g. a local venue).")
@click.option("--okx-ws", default=None, metavar="URL", help="OKX public WebSocket URL (default OKX's), .../ws/v5/public.")
@click.option("--kraken-http", default=None, metavar="URL", help="Kraken spot REST base URL (default Kraken's).")
@click.option("--kraken-ws", default=None, metavar="URL", help="Kraken spot WebSocket v2 URL (default Kraken's), .../v2.")
@click.option("--status-seconds", type=click.FloatRange(0.1, 60), default=1.0, show_default=True, metavar="SECONDS", help="Status line refresh (s).")
@click.option("--log-seconds", type=click.FloatRange(0.1, 3600), default=10.0, show_default=True, metavar="SECONDS",
              help="Status line interval when stderr is not a terminal (s).")  # fmt: skip
def record(okx: tuple[str, ...], kraken: tuple[str, ...], catalog_path: str | None, batch_seconds: float, batch_items: int, timeout: float | None,
           okx_http: str | None, okx_ws: str | None, kraken_http: str | None, kraken_ws: str | None, status_seconds: float, log_seconds: float) -> None:  # fmt: skip
    """Record live order flow into the catalog: OKX trades and L2 books, Kraken spot trades (the CVD feed).

    Writes rotating batches through the catalog's atomic writes (whole files only), keeps gaps (a socket
    down, a book re-snapshot, skipped trade ids, time not running) in <catalog>/recorder/gaps.jsonl, never
    filled in. Ctrl-C writes the buffered batches and exits 0. No API keys needed (public channels).
    """
    from ravebear.platform.recorder.clients import kraken_instrument_id, okx_instrument_id

    if not okx and not kraken:
        fail("nothing to record: give --okx INSTID and/or --kraken PAIR (e.g. --okx BTC-USDT-SWAP --kraken BTC/USD)", 2)
    try:
        okx_ids = tuple(dict.fromkeys(okx_instrument_id(text) for text in okx))
        kraken_ids = tuple(dict.fromkeys(kraken_instrument_id(text) for text in kraken))
    except ValueError as exc:
        fail(str(exc), 2)
    for option, url in (("--okx-http", okx_http), ("--okx-ws", okx_ws), ("--kraken-http", kraken_http), ("--kraken-ws", kraken_ws)):
        if url is not None and not url.startswith(("http://", "https://", "ws://", "wss://")):
            fail(f"{option} {url!r}: not a URL (http(s):// for REST, ws(s):// for WebSockets)", 2)
    store = open_catalog(catalog_path, writable=True)
    from ravebear.platform.recorder.runner import RecorderSettings, run_recorder

    settings = RecorderSettings(
        okx_ids=okx_ids, kraken_ids=kraken_ids, batch_seconds=batch_seconds, batch_items=batch_items, status_seconds=status_seconds,
        log_seconds=log_seconds, okx_http=okx_http, okx_ws=okx_ws, kraken_http=kraken_http, kraken_ws=kraken_ws, timeout_s=timeout,
    )  # fmt: skip
    click.echo(f"recording {', '.join([*(f'{i} trades+book' for i in okx_ids), *(f'{i} trades' for i in kraken_ids)])} into {store.path}"
               f" (batches every {batch_seconds:g} s or {batch_items:,} items; Ctrl-C stops)")  # fmt: skip
    outcome = run_recorder(store, settings)
    if outcome.usage_error:
        fail(outcome.usage_error, 2)
    for series in outcome.series:
        click.echo(f"{series.instrument_id} {series.kind}: {plural(series.received, 'trade' if series.kind == 'trades' else 'book delta')} received")
    active = [series for series in outcome.series if series.updates]
    if active:
        span = max(s.last_wall for s in active) - min(s.first_wall for s in active)
        updates = sum(s.updates for s in active)
        click.echo(f"{plural(updates, 'update')} (trades and book messages) handled in {span:.1f} s from first to last ({updates / span if span else 0:,.0f}/s)")
    click.echo(f"{plural(outcome.batches, 'batch', 'batches')} written ({outcome.written:,} objects, {outcome.repeats_dropped:,} repeats dropped) in {outcome.elapsed_s:.1f} s; writer busy {outcome.writer_busy_s:.1f} s")
    if outcome.gaps:
        click.echo(f"{plural(len(outcome.gaps), 'gap')} recorded (kept in {store.path}/recorder/gaps.jsonl, not filled in):")
        for gap in outcome.gaps:
            click.echo(f"  gap {gap.describe()}")
    else:
        click.echo("no gaps")
    if outcome.unwritten:
        fail("the writer did not finish in time: the last batches may be missing (none is half-written)")
    if outcome.failure:
        fail(outcome.failure)
