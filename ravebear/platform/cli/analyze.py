"""`ravebear analyze`: the analysis bots over catalog candles -> terminal tables, report.html, results.json.

Registered on the main group with `main.add_command(analyze)`. pandas, numpy and plotly load
inside the command so `ravebear --help` stays fast.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import click

from ravebear.platform.cli.common import catalog_option, fail, utc_ms
from ravebear.research import ANALYSES

DEFAULT_BAR_TYPE = "BTC-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL"
DEFAULT_OUT_ROOT = Path("var") / "analysis"
ORDERFLOW = "orderflow"
CORRELATIONS = "correlations"
SWARM = "swarm"


def _ms(value: str | None, option: str) -> int | None:
    if value is None:
        return None
    try:
        return utc_ms(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date/time (use e.g. 2024-08-01 or 2024-08-01T12:00)", code=2)


@click.command(short_help="Analyse catalog candles: tables, report.html, results.json.", epilog=f"ANALYSES (default: all): {' '.join(ANALYSES)}.  `analyze orderflow -i INSTRUMENT`: the order-flow analyses over catalog trades and book (alone).  `analyze correlations`: market state at level touches vs their outcomes, from the ledger (alone).  `analyze swarm [--bar-type BT] [--reference BT]`: the signal swarm's hit rates by regime and horizon, agreement, calibration (alone).")
@click.argument("analyses", nargs=-1)
@click.option("--bar-type", default=DEFAULT_BAR_TYPE, show_default=True, help="1-minute bar series in the catalog.")
@click.option("--instrument", "-i", default=None, help="orderflow: instrument id of the trades and book, e.g. BTCUSDT-PERP.BINANCE.")
@click.option("--pair", default=None, help="orderflow: the other market for spot-vs-perp CVD divergence (default: BTCUSDT-PERP.X <-> BTCUSDT.X).")
@click.option("--reference", "reference_type", default=None, help="swarm: 1-minute bar series of the reference instrument (CorrBreak), e.g. BTC-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL.")
@click.option("--start", default=None, help="UTC date/time: first candle open included (default: first stored).")
@click.option("--end", default=None, help="UTC date/time: candles opening before it (default: last stored).")
@catalog_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: var/analysis/<UTC time>-<bar type>/).")  # fmt: skip
@click.option("--url", "ledger_url", default=None, help="correlations: the ledger's URL (default: $RAVEBEAR_LEDGER_URL, else sqlite:///var/ledger.sqlite).")
@click.option("--run", "run_id", default=None, help="correlations: one run's touches (default: every run in the ledger).")
@click.option("--set", "overrides", multiple=True, metavar="SECTION.FIELD=VALUE",
              help="Change a threshold, e.g. --set big_moves.range_quantile=0.995 --set touch_times.wick.min_wick_bps=5 (repeatable).")  # fmt: skip
def analyze(
    analyses: tuple[str, ...], bar_type: str, instrument: str | None, pair: str | None, reference_type: str | None, start: str | None, end: str | None, catalog_path: str | None,
    out_dir: str | None, ledger_url: str | None, run_id: str | None, overrides: tuple[str, ...],
) -> None:  # fmt: skip
    """Run the analysis bots over catalog candles; print tables, write report.html and results.json."""
    started = time.perf_counter()
    if CORRELATIONS in (name.lower() for name in analyses):
        if len(analyses) > 1:
            fail(f"`{CORRELATIONS}` runs alone: `ravebear analyze correlations` (it reads the ledger, the others read candles)", code=2)
        _correlations(ledger_url, run_id, instrument, start, end, out_dir, overrides, started)
        return
    if SWARM in (name.lower() for name in analyses):
        if len(analyses) > 1:
            fail(f"`{SWARM}` runs alone: `ravebear analyze swarm` (the other analyses have their own reports)", code=2)
        _swarm(bar_type, reference_type, start, end, catalog_path, out_dir, overrides, started)
        return
    if reference_type is not None:
        fail("--reference is an option of `analyze swarm` only", code=2)
    if ORDERFLOW in (name.lower() for name in analyses):
        if len(analyses) > 1:
            fail(f"`{ORDERFLOW}` runs alone: `ravebear analyze orderflow -i INSTRUMENT` (the other analyses read candles)", code=2)
        _orderflow(instrument, pair, start, end, catalog_path, out_dir, overrides, started)
        return
    from ravebear.catalog.store import RaveCatalog
    from ravebear.research import runner
    from ravebear.research.data import NoDataError

    try:
        names = runner.resolve(list(analyses))
        config = runner.apply_overrides(runner.AnalysisConfig(), list(overrides))
    except ValueError as exc:
        fail(str(exc), code=2)
    start_ms, end_ms = _ms(start, "--start"), _ms(end, "--end")
    store = RaveCatalog(catalog_path)
    try:
        results = runner.run(store, bar_type, start_ms, end_ms, names, config)
    except NoDataError as exc:
        if start_ms is not None or end_ms is not None:  # the series may be stored, outside the chosen dates
            fail(f"{exc}; `ravebear catalog list` shows the stored range", code=2)
        fail(f"{exc}; import candles first, e.g. `ravebear catalog import FILE -i BTC-USDT-SWAP` or `ravebear catalog import-sample`", code=2)
    except ValueError as exc:
        fail(str(exc), code=2)
    _write(results, out_dir, bar_type, started)


def _orderflow(
    instrument: str | None, pair: str | None, start: str | None, end: str | None, catalog_path: str | None,
    out_dir: str | None, overrides: tuple[str, ...], started: float,
) -> None:  # fmt: skip
    """`analyze orderflow`: absorption, level survival, CVD divergence and whales of one instrument's catalog order flow."""
    if not instrument:
        fail("analyze orderflow needs the instrument: -i INSTRUMENT (e.g. -i BTCUSDT-PERP.BINANCE; `ravebear catalog list` shows the stored ones)", code=2)
    from ravebear.catalog.store import RaveCatalog
    from ravebear.research import orderflow

    try:
        config = orderflow.apply_overrides(orderflow.OrderflowAnalysisConfig(), overrides)
    except ValueError as exc:
        fail(str(exc), code=2)
    start_ms, end_ms = _ms(start, "--start"), _ms(end, "--end")
    try:
        results = orderflow.run(RaveCatalog(catalog_path), instrument, start_ms, end_ms, config, pair)
    except orderflow.NoOrderflowData as exc:
        fail(str(exc), code=2)
    _write(results, out_dir, f"{instrument}-orderflow", started)


def _swarm(
    bar_type: str, reference_type: str | None, start: str | None, end: str | None, catalog_path: str | None, out_dir: str | None,
    overrides: tuple[str, ...], started: float,
) -> None:  # fmt: skip
    """`analyze swarm`: the swarm over one catalog 1-minute series (and a reference series for CorrBreak)."""
    from ravebear.catalog.store import RaveCatalog
    from ravebear.research import swarm
    from ravebear.research.data import NoDataError, load_candles

    try:
        config = swarm.apply_overrides(swarm.SwarmAnalysisConfig(), overrides)
    except ValueError as exc:
        fail(str(exc), code=2)
    start_ms, end_ms = _ms(start, "--start"), _ms(end, "--end")
    store = RaveCatalog(catalog_path)
    try:
        frame = load_candles(store, bar_type, start_ms, end_ms)
        reference = load_candles(store, reference_type, start_ms, end_ms) if reference_type else None
    except NoDataError as exc:
        hint = "`ravebear catalog list` shows the stored series and ranges"
        if start_ms is None and end_ms is None:
            hint += "; import candles first, e.g. `ravebear catalog import-sample`"
        fail(f"{exc}; {hint}", code=2)
    except ValueError as exc:
        fail(str(exc), code=2)
    funding = swarm.load_funding(store, swarm.instrument_of(bar_type))
    results = swarm.run(frame, bar_type, config, reference, reference_type, funding)
    results["meta"]["catalog"] = str(store.path)
    results["meta"]["rows"].append(["catalog", str(store.path)])
    _write(results, out_dir, f"{bar_type}-swarm", started)


def _correlations(
    url: str | None, run_id: str | None, instrument: str | None, start: str | None, end: str | None, out_dir: str | None,
    overrides: tuple[str, ...], started: float,
) -> None:  # fmt: skip
    """`analyze correlations`: which market-state features go with touch outcomes, over the ledger's touches."""
    import dataclasses

    from ravebear.ledger.query import Filters
    from ravebear.ledger.store import LedgerError, open_ledger, redact_url
    from ravebear.research import correlations
    from ravebear.research.correlations.load import NoTouches, touches_frame

    config = correlations.CorrelationConfig()
    names = {f.name: f for f in dataclasses.fields(config)}
    for override in overrides:
        key, sep, value = override.partition("=")
        key = key.strip().removeprefix("correlations.")
        if not sep or key not in names:
            fail(f"--set {override}: expected one of {', '.join(f'{n}=VALUE' for n in names)}", code=2)
        current = getattr(config, key)
        try:
            parsed = tuple(v.strip() for v in value.split(",") if v.strip()) if isinstance(current, tuple) else type(current)(value)
            config = dataclasses.replace(config, **{key: parsed})
        except ValueError as exc:
            fail(f"--set {override}: {exc}", code=2)
    start_ms, end_ms = _ms(start, "--start"), _ms(end, "--end")
    filters = Filters(run=run_id, instrument=instrument, since_ns=start_ms * 1_000_000 if start_ms is not None else None,
                      until_ns=end_ms * 1_000_000 if end_ms is not None else None)
    try:
        engine = open_ledger(url, must_exist=True)
    except LedgerError as exc:
        fail(str(exc), code=exc.exit_code)
    try:
        touches = touches_frame(engine, filters)
    except NoTouches as exc:
        fail(str(exc), code=2)
    finally:
        engine.dispose()
    results = correlations.run(touches, config, source=redact_url(engine.url))
    _write(results, out_dir, "correlations", started)


def _write(results: dict, out_dir: str | None, label: str, started: float) -> None:
    from ravebear.research import report

    if out_dir is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out = DEFAULT_OUT_ROOT / f"{stamp}-{label}"
    else:
        out = Path(out_dir)
    results["meta"]["wall_s"] = round(time.perf_counter() - started, 3)
    click.echo(report.text(results), nl=False)
    html_path, json_path = report.write(results, out)
    click.echo(f"\nreport:  {html_path.resolve()}\nresults: {json_path.resolve()}")
    click.echo(f"done in {time.perf_counter() - started:.1f}s")
