"""History downloads of alternative data into the catalog: `coinalyze`, `whale-alert`, `stablecoins`.

The commands are meant for `ravebear catalog download <source>`; each one is resumable (it
starts where the catalog's rows end) and idempotent (stored rows are never written twice),
shows a tqdm progress bar, logs retries with loguru, and exits 1 with one line naming the
problem (a missing or refused key names its environment variable).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from ravebear.platform.cli.common import catalog_option, fail, open_catalog
from ravebear.time_units import NS_PER_SECOND

T = TypeVar("T")

COINALYZE_METRICS = ("open_interest", "funding_rate", "predicted_funding_rate", "liquidations", "long_short_ratio")
COINALYZE_INTERVALS = ("1min", "5min", "15min", "30min", "1hour", "2hour", "4hour", "6hour", "12hour", "daily")

progress_option = click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
retries_option = click.option("--retries", default=5, show_default=True, help="Retries per request (429s wait Retry-After).")
timeout_option = click.option("--timeout", "timeout_s", default=30.0, show_default=True, help="Seconds per request.")


def _seconds(value: str | None, default: int | None = None) -> int | None:
    """Parse a UTC date/time (or UNIX seconds) into UNIX seconds."""
    if value is None:
        return default
    import pandas as pd

    if value.isdigit():
        return int(value)
    try:
        stamp = pd.Timestamp(value)
    except ValueError:
        raise click.BadParameter(f"not a date/time: {value!r}") from None
    return int((stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).value // NS_PER_SECOND)


def _store(catalog_path: str | None) -> Any:
    from ravebear.catalog.alt_data import AltDataStore

    return AltDataStore(open_catalog(catalog_path, writable=True))


def _retry(retries: int, timeout_s: float) -> Any:
    from ravebear.adapters.common.http import RetryPolicy

    return RetryPolicy(timeout_s=timeout_s, max_retries=retries)


def _run(work: Callable[[], Awaitable[T]], bar: Any) -> T:
    """Run a download coroutine; on failure close the progress bar, print one error line and exit 1."""
    import asyncio  # here, not at the top: it costs ~30 ms of every `ravebear --help`

    from ravebear.adapters.common.errors import AdapterError

    try:
        result = asyncio.run(work())
    except (AdapterError, ValueError) as exc:
        bar.close()
        fail(str(exc))
        raise AssertionError("unreachable") from None
    bar.close()
    return result


def _client(make: Callable[[], T]) -> T:
    """Create an API client; a missing key is one error line naming the variable."""
    from ravebear.adapters.common.errors import AdapterError

    try:
        return make()
    except AdapterError as exc:
        fail(str(exc))
        raise AssertionError("unreachable") from None


def _progress(total: int | None, unit: str, disable: bool, description: str) -> Any:
    """Return a tqdm bar on stderr; loguru lines are routed through `tqdm.write` so they do not tear it."""
    from loguru import logger
    from tqdm import tqdm

    logger.remove()  # a CLI process owns its log setup: one stderr sink, printed above the bar
    logger.add(lambda message: tqdm.write(message.rstrip("\n"), file=sys.stderr), level="INFO", format="{time:HH:mm:ss} | {level: <7} | {message}")
    return tqdm(total=total, unit=unit, disable=disable, desc=description, file=sys.stderr, dynamic_ncols=True)


@click.command("coinalyze")
@click.option("--instrument", "-i", "instruments", multiple=True, default=("BTC-USDT-SWAP.OKX",), show_default=True, help="OKX swap (repeat for more).")
@click.option("--metric", "-m", "metrics", multiple=True, type=click.Choice(COINALYZE_METRICS), help="Metric (repeat; default: all five).")
@click.option("--interval", default="1hour", show_default=True, type=click.Choice(COINALYZE_INTERVALS), help="Row interval (intraday keeps ~1500-2000 points; daily is kept in full).")
@click.option("--since", default=None, help="UTC start date/time (default: 30 days ago); a series with rows resumes where they end.")
@click.option("--until", default=None, help="UTC end date/time (default: now).")
@click.option("--usd/--no-usd", default=True, show_default=True, help="Open interest and liquidations in USD (else base units).")
@click.option("--points", "points_per_request", default=1000, show_default=True, help="Intervals per request window.")
@click.option("--url", "base_url", default=None, help="API base URL override (e.g. a local test server).")
@retries_option
@timeout_option
@progress_option
@catalog_option
def coinalyze_download(
    instruments: tuple[str, ...], metrics: tuple[str, ...], interval: str, since: str | None, until: str | None, usd: bool,
    points_per_request: int, base_url: str | None, retries: int, timeout_s: float, no_progress: bool, catalog_path: str | None,
) -> None:  # fmt: skip
    """Download Coinalyze open interest, funding, predicted funding, liquidations and long/short ratios (needs COINALYZE_API_KEY)."""
    from loguru import logger

    from ravebear.adapters.coinalyze.constants import BASE_URL
    from ravebear.adapters.coinalyze.history import download_coinalyze_history
    from ravebear.adapters.coinalyze.http import CoinalyzeHttpClient

    start = _seconds(since, int(time.time()) - 30 * 86_400)
    end = _seconds(until)
    chosen = list(metrics) or list(COINALYZE_METRICS)
    http = _client(lambda: CoinalyzeHttpClient(base_url or BASE_URL, logger, _retry(retries, timeout_s)))
    store = _store(catalog_path)
    bar = _progress(None, "window", no_progress, "coinalyze")

    def on_window(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    async def work() -> Any:
        try:
            return await download_coinalyze_history(
                store, http, list(instruments), chosen, interval, start or 0, end, log=logger, usd=usd,
                points_per_request=points_per_request, on_window=on_window,
            )  # fmt: skip
        finally:
            await http.close()

    result = _run(work, bar)
    symbols = ", ".join(f"{instrument} = {symbol}" for symbol, instrument in result.symbols.items())
    click.echo(f"coinalyze {interval} {', '.join(chosen)} ({symbols})")
    click.echo(
        f"{result.windows} windows, {result.fetched} rows fetched, {result.written} written, "
        f"{result.already_stored} already stored, {result.skipped} skipped -> {store.path}",
    )


@click.command("whale-alert")
@click.option("--since", default=None, help="UTC start date/time (default: 1 hour ago, the free plan's history); resumes after stored transfers.")
@click.option("--until", default=None, help="UTC end date/time (default: now).")
@click.option("--min-value", "min_value_usd", default=500_000.0, show_default=True, help="Smallest transfer, USD.")
@click.option("--tier", "tiers_usd", multiple=True, type=float, help="Tier threshold in USD (repeat; default 1e6, 1e7, 5e7).")
@click.option("--symbol", "symbols", multiple=True, help="Asset, lower case (repeat; default: all).")
@click.option("--url", "base_url", default=None, help="v1 REST base URL override (e.g. a local test server).")
@retries_option
@timeout_option
@progress_option
@catalog_option
def whale_alert_download(
    since: str | None, until: str | None, min_value_usd: float, tiers_usd: tuple[float, ...], symbols: tuple[str, ...],
    base_url: str | None, retries: int, timeout_s: float, no_progress: bool, catalog_path: str | None,
) -> None:  # fmt: skip
    """Download Whale Alert transfers (v1 REST, cursor paging) with tiers and exchange flows (needs WHALE_ALERT_API_KEY)."""
    from loguru import logger

    from ravebear.adapters.whale_alert.constants import BASE_URL
    from ravebear.adapters.whale_alert.history import download_whale_alert_history
    from ravebear.adapters.whale_alert.http import WhaleAlertHttpClient

    now = int(time.time())
    start = _seconds(since, now - 3600) or 0
    end = _seconds(until, now) or now
    http = _client(lambda: WhaleAlertHttpClient(base_url or BASE_URL, logger, _retry(retries, timeout_s)))
    store = _store(catalog_path)
    bar = _progress(max(end - start, 1), "s", no_progress, "whale-alert")

    def on_progress(covered: int, total: int) -> None:
        bar.update(max(0, min(covered, total) - bar.n))

    async def work() -> Any:
        try:
            return await download_whale_alert_history(
                store, http, start, end, min_value_usd=min_value_usd, tiers_usd=tiers_usd or (1e6, 1e7, 5e7),
                symbols=symbols, log=logger, on_progress=on_progress,
            )  # fmt: skip
        finally:
            await http.close()

    result = _run(work, bar)
    click.echo(
        f"whale-alert: {result.pages} pages, {result.fetched} transfers fetched, {result.written} written, "
        f"{result.already_stored} already stored, {result.skipped} skipped -> {store.path}",
    )


@click.command("stablecoins")
@click.option("--asset", "assets", multiple=True, default=("USDT", "USDC"), show_default=True, help="Stablecoin symbol (repeat).")
@click.option("--total/--no-total", default=True, show_default=True, help="Also store ALL (every USD-pegged stablecoin).")
@click.option("--since", default=None, help="UTC start date (default: the whole daily history).")
@click.option("--until", default=None, help="UTC end date (default: now).")
@click.option("--dominance/--no-dominance", default=True, show_default=True, help="Also store CoinGecko's current USDT dominance.")
@click.option("--url", "base_url", default=None, help="DefiLlama stablecoins base URL override (e.g. a local test server).")
@click.option("--coingecko-url", default=None, help="CoinGecko base URL override.")
@retries_option
@timeout_option
@progress_option
@catalog_option
def stablecoins_download(
    assets: tuple[str, ...], total: bool, since: str | None, until: str | None, dominance: bool, base_url: str | None,
    coingecko_url: str | None, retries: int, timeout_s: float, no_progress: bool, catalog_path: str | None,
) -> None:  # fmt: skip
    """Download daily stablecoin supply and net flows (DefiLlama), and record USDT dominance (CoinGecko, key optional)."""
    from loguru import logger

    from ravebear.adapters.common.redact import Redactor
    from ravebear.adapters.stablecoins.config import StablecoinsDataClientConfig
    from ravebear.adapters.stablecoins.history import download_stablecoin_history, record_dominance_snapshot
    from ravebear.adapters.stablecoins.sources import CoinGeckoDominanceSource, DefiLlamaSupplySource

    settings: dict[str, Any] = {"assets": tuple(a.upper() for a in assets), "include_total": total, "max_retries": retries, "timeout_s": timeout_s}
    if base_url:
        settings["base_url"] = base_url
    if coingecko_url:
        settings["coingecko_url"] = coingecko_url
    config = StablecoinsDataClientConfig(**settings)
    start = _seconds(since, 0) or 0
    end = _seconds(until)
    store = _store(catalog_path)
    bar = _progress(2 if dominance else 1, "step", no_progress, "stablecoins")

    async def work() -> Any:
        redactor = Redactor()
        supply = DefiLlamaSupplySource(config, logger, redactor)
        gecko = CoinGeckoDominanceSource(config, logger, redactor) if dominance else None
        try:
            supplied = await download_stablecoin_history(store, supply, start, end, log=logger, on_step=lambda: bar.update(1))
            snapshot = await record_dominance_snapshot(store, gecko, log=logger) if gecko is not None else None
            bar.update(1 if gecko is not None else 0)
            return supplied, snapshot
        finally:
            await supply.close()
            if gecko is not None:
                await gecko.close()

    supplied, snapshot = _run(work, bar)
    click.echo(
        f"stablecoins {', '.join(config.assets)}{' + ALL' if total else ''}: {supplied.fetched} daily points, "
        f"{supplied.written} written, {supplied.already_stored} already stored, {supplied.skipped} skipped -> {store.path}",
    )
    if snapshot is not None:
        click.echo(f"dominance: {snapshot.written} new snapshot(s), {snapshot.already_stored} already stored")
