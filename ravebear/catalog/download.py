"""Download closed 1-minute candles through ccxt into the catalog, page by page, resumably.

Paging: each page is a window of `limit` minutes starting at a cursor; the next page starts
one minute after the last candle received, or after the whole window when it came back empty
(a hole in the exchange's data). The run ends at `until_ms` or at the exchange's clock.

OKX specifics (ccxt 4.5 `okx.fetch_ohlcv`): ccxt turns `since`/`limit` into the window
`before = since - 1`, `after = since + limit minutes`, and OKX answers with the *newest* `limit`
rows of that window, newest first. `limit` must therefore not exceed what the endpoint serves,
or the oldest rows of each window are silently lost; ccxt itself asks `history-candles` for 300
rows where OKX documents 100. This module picks the endpoint from the exchange's clock
(`market/candles`, 300 rows, for the last 1,439 minutes; `market/history-candles`, 100 rows,
before that) and passes it as ccxt's `type` param. Other exchanges get the window end as ccxt's
`until` param. ccxt returns the base-currency volume (`volCcy`) for swaps and drops OKX's
`confirm` flag, so a candle counts as closed only when its close time is not after the
exchange's time (`GET /api/v5/public/time` for OKX).
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd
from loguru import logger

from ravebear.catalog.candles import OHLCV_COLUMNS
from ravebear.catalog.ccxt_instruments import ccxt_instrument, nautilus_symbol
from ravebear.catalog.instrument_metadata import OKX_LV1_FEES, okx_instrument
from ravebear.catalog.instruments import OKX_SWAPS, OKX_VENUE, okx_swap, stored_instrument
from ravebear.catalog.store import one_minute_bar_type
from ravebear.catalog.validation import ONE_MINUTE_MS

if TYPE_CHECKING:
    import ccxt
    from nautilus_trader.model.instruments import Instrument

    from ravebear.catalog.store import RaveCatalog

T = TypeVar("T")

sleep: Callable[[float], None] = time.sleep  # every wait goes through here (tests may replace it)

OKX_CANDLES_LIMIT = 300  # GET /api/v5/market/candles rows per request
OKX_HISTORY_LIMIT = 100  # GET /api/v5/market/history-candles rows per request
OKX_RECENT_MINUTES = 1439  # market/candles serves the latest 1,440 candles (ccxt uses the same border)
DEFAULT_PAGE_LIMIT = 100  # other exchanges, when ccxt's `features` do not say
MAX_RETRY_AFTER_S = 300.0


@dataclass
class DownloadResult:
    """What one download run fetched and stored."""

    bar_type: str
    pages: int = 0  # candle pages received (retried requests count once)
    fetched: int = 0  # closed candles received inside the requested range
    written: int = 0  # bars new to the catalog
    rejected: int = 0  # candles validation rejected
    retries: int = 0  # failed requests that were retried
    first_open_ms: int | None = None  # first candle received this run
    last_open_ms: int | None = None  # last candle received this run


class DownloadError(RuntimeError):
    """A download that stopped: what failed, after how many retries, and what is already stored."""

    def __init__(self, message: str, result: DownloadResult) -> None:
        super().__init__(message)
        self.result = result


class _BadPage(Exception):
    """A response ccxt accepted but that is not a usable candle page."""


def _utc(ms: int) -> str:
    return f"{pd.Timestamp(ms, unit='ms', tz='UTC'):%Y-%m-%d %H:%M} UTC"


def _make_exchange(exchange_id: str, rest_url: str | None) -> ccxt.Exchange:
    import ccxt

    if exchange_id not in ccxt.exchanges:
        raise ValueError(f"unknown ccxt exchange {exchange_id!r}")
    exchange = getattr(ccxt, exchange_id)({"enableRateLimit": True})
    exchange.enableLastJsonResponse = True  # to tell a garbage page from an empty one
    if not exchange.has.get("fetchOHLCV"):
        raise ValueError(f"ccxt exchange {exchange_id!r} cannot fetch OHLCV candles")
    if rest_url is not None:
        api = exchange.urls.get("api")
        if isinstance(api, dict) and "rest" not in api:  # one URL per API section: all go to rest_url
            exchange.urls["api"] = {key: rest_url.rstrip("/") for key in api}
        else:
            exchange.urls["api"] = {"rest": rest_url.rstrip("/")}
        if exchange_id == "okx":  # a local server only needs to serve what is used
            exchange.options["fetchMarkets"] = {"types": ["spot", "swap"]}
    return exchange


def _find_market(exchange: ccxt.Exchange, symbol: str) -> dict[str, Any]:
    if symbol in exchange.markets:
        return exchange.markets[symbol]
    by_id = exchange.markets_by_id.get(symbol) if exchange.markets_by_id else None
    if by_id:
        return by_id[0]
    raise ValueError(f"{exchange.id} has no market {symbol!r} (give an exchange id like BTC-USDT-SWAP or a ccxt symbol like BTC/USDT:USDT)")


def _instrument(exchange: ccxt.Exchange, market: dict[str, Any], catalog: RaveCatalog) -> Instrument:
    """A bundled definition, else the one the catalog keeps (`catalog instrument add`), else one built from the
    market: for OKX from its raw `public/instruments` row (ccxt's `info`), as `catalog instrument add` builds it."""
    if exchange.id == "okx" and market["id"] in OKX_SWAPS:
        return okx_swap(market["id"])
    venue = OKX_VENUE if exchange.id == "okx" else exchange.id.upper()
    stored = stored_instrument(catalog, f"{nautilus_symbol(market)}.{venue}")
    if stored is not None:
        return stored
    if exchange.id == "okx" and isinstance(market.get("info"), dict) and market["info"].get("instType") in OKX_LV1_FEES:
        return okx_instrument(market["info"])
    return ccxt_instrument(market, venue, exchange.precisionMode)


def _retry_after(exchange: ccxt.Exchange) -> float | None:
    headers = exchange.last_response_headers or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    if value is None:
        return None
    try:
        return min(MAX_RETRY_AFTER_S, max(0.0, float(value)))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            return None
        return min(MAX_RETRY_AFTER_S, max(0.0, when - time.time()))


def _is_retryable(exc: BaseException) -> bool:
    import ccxt

    if isinstance(exc, _BadPage | ccxt.OperationFailed | TypeError | ValueError | KeyError | IndexError):
        return True  # network errors, 5xx, rate limits, unparseable pages
    return type(exc) is ccxt.ExchangeError  # an unknown error, e.g. JSON of the wrong shape


class _Downloader:
    """One run: holds the exchange, the market, the retry policy and the running result."""

    def __init__(self, catalog: RaveCatalog, exchange: ccxt.Exchange, max_retries: int, backoff_s: float) -> None:
        self.catalog = catalog
        self.exchange = exchange
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.result = DownloadResult(bar_type="")
        self.label = exchange.id

    def stored_text(self) -> str:
        """Describe what the catalog holds of the series, for error messages."""
        if not self.result.bar_type:
            return "the catalog was not touched"
        times = self.catalog.stored_open_times(self.result.bar_type)
        if len(times) == 0:
            return f"the catalog holds no bars of {self.result.bar_type}"
        return (
            f"the catalog holds {len(times):,} bars of {self.result.bar_type} up to {_utc(int(times[-1]))}"
            f" (this run wrote {self.result.written:,}); run again to resume after the last stored bar"
        )

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one request, retrying retryable failures with Retry-After or exponential backoff."""
        import ccxt

        attempt = 0
        while True:
            try:
                return fn()
            except Exception as exc:  # noqa: BLE001 - classified just below
                reason = f"{type(exc).__name__}: {exc}"[:300]
                if not _is_retryable(exc):
                    raise DownloadError(f"{self.label}: {what} failed: {reason}; {self.stored_text()}", self.result) from exc
                if attempt >= self.max_retries:
                    raise DownloadError(
                        f"{self.label}: {what} failed after {attempt} retries: {reason}; {self.stored_text()}",
                        self.result,
                    ) from exc
                attempt += 1
                self.result.retries += 1
                wait = _retry_after(self.exchange) if isinstance(exc, ccxt.RateLimitExceeded | ccxt.DDoSProtection) else None
                if wait is not None:
                    logger.warning("{}: {} rate limited; waiting Retry-After {:.1f} s (retry {}/{})", self.label, what, wait, attempt, self.max_retries)
                else:
                    wait = min(60.0, self.backoff_s * 2 ** (attempt - 1))
                    logger.warning("{}: {} failed ({}); retry {}/{} in {:.2f} s", self.label, what, reason, attempt, self.max_retries, wait)
                sleep(wait)

    def now_ms(self) -> int:
        """Return the exchange's clock when it publishes one, else the local clock."""
        if self.exchange.has.get("fetchTime"):
            ts = self.call("fetch exchange time", self.exchange.fetch_time)
            if isinstance(ts, int) and ts > 0:
                return ts
            raise DownloadError(f"{self.label}: exchange time is unusable ({ts!r}); {self.stored_text()}", self.result)
        return int(self.exchange.milliseconds())

    def page(self, symbol: str, cursor: int, limit: int, params: dict[str, Any]) -> list[list[Any]]:
        """Fetch one page of candles opening at or after `cursor`, checked for shape."""

        def fetch() -> list[list[Any]]:
            self.exchange.last_json_response = None
            rows = self.exchange.fetch_ohlcv(symbol, "1m", since=cursor, limit=limit, params=dict(params))
            raw = self.exchange.last_json_response
            if raw is None:
                raise _BadPage("response is not JSON")
            if self.exchange.id == "okx" and not (isinstance(raw, dict) and isinstance(raw.get("data"), list)):
                raise _BadPage("response JSON has no 'data' list of candle rows")
            if not isinstance(rows, list):
                raise _BadPage(f"ccxt returned {type(rows).__name__}, not a list of candles")
            for row in rows:
                if not isinstance(row, list) or len(row) < 6 or any(value is None for value in row[:6]):
                    raise _BadPage(f"malformed candle row {row!r}")
            return rows

        return self.call(f"candle page from {_utc(cursor)}", fetch)


def _ccxt_page_cap(exchange: ccxt.Exchange, market: dict[str, Any]) -> int:
    """Return ccxt's documented fetchOHLCV row limit for a market type, else DEFAULT_PAGE_LIMIT."""
    try:
        features = (getattr(exchange, "features", None) or {}).get(market["type"]) or {}
        if "fetchOHLCV" not in features:  # contract markets are split into linear / inverse
            features = features.get("inverse" if market.get("inverse") else "linear") or {}
        return int((features.get("fetchOHLCV") or {}).get("limit") or DEFAULT_PAGE_LIMIT)
    except (AttributeError, TypeError, ValueError):
        return DEFAULT_PAGE_LIMIT


def _page_plan(exchange: ccxt.Exchange, market: dict[str, Any], cursor: int, now: int, page_limit: int | None) -> tuple[int, dict[str, Any]]:
    """Return the row limit and ccxt params of the page starting at `cursor`."""
    if exchange.id == "okx":
        recent = cursor >= now - OKX_RECENT_MINUTES * ONE_MINUTE_MS
        cap = OKX_CANDLES_LIMIT if recent else OKX_HISTORY_LIMIT
        return min(page_limit or cap, cap), {"type": "Candles" if recent else "HistoryCandles"}
    cap = _ccxt_page_cap(exchange, market)
    limit = min(page_limit or cap, cap)
    return limit, {"until": cursor + limit * ONE_MINUTE_MS - 1}  # bound the window as OKX's `after` does


def _frame(candles: list[list[Any]]) -> pd.DataFrame:
    frame = pd.DataFrame([row[:6] for row in candles], columns=list(OHLCV_COLUMNS)).astype("float64")
    frame.insert(0, "row", range(1, len(frame) + 1))
    return frame


def download_candles(
    catalog: RaveCatalog,
    symbol: str,
    *,
    exchange_id: str = "okx",
    since_ms: int | None = None,
    until_ms: int | None = None,
    rest_url: str | None = None,
    page_limit: int | None = None,
    max_retries: int = 5,
    progress: bool = True,
    backoff_s: float = 1.0,
) -> DownloadResult:
    """Download closed 1-minute candles opening in [since_ms, until_ms) into the catalog.

    `symbol` is an exchange market id (`BTC-USDT-SWAP`) or a ccxt symbol (`BTC/USDT:USDT`).
    Resume: when the catalog already holds the series, start at its last bar + 1 minute and
    ignore an earlier `since_ms` (holes before the last stored bar are not refilled); a later
    `since_ms` is honoured. `since_ms` is required when the series is empty. Without
    `until_ms`, page forward to the exchange's current time. Each page is imported at once,
    so an interruption loses at most one page. Retryable failures (rate limits, network
    errors, 5xx, garbage pages) are retried up to `max_retries` times per request, waiting
    `Retry-After` when given, else `backoff_s` doubling; then `DownloadError` is raised.
    Bar volume is ccxt's volume (base units) divided by the contract multiplier.
    """
    exchange = _make_exchange(exchange_id, rest_url)
    run = _Downloader(catalog, exchange, max_retries, backoff_s)
    run.label = f"{exchange_id} {symbol}"
    try:
        run.call("load markets", exchange.load_markets)
        market = _find_market(exchange, symbol)
        instrument = _instrument(exchange, market, catalog)
        run.result.bar_type = one_minute_bar_type(instrument.id.value)
        now = run.now_ms()
        start = _start(catalog.stored_open_times(run.result.bar_type), since_ms, run.result.bar_type)
        end = now // ONE_MINUTE_MS * ONE_MINUTE_MS  # candles opening before this have closed by `now`
        if until_ms is not None:
            end = min(end, until_ms)
        _paginate(run, market, instrument, start, end, now, page_limit, progress)
    finally:
        exchange.close()
    r = run.result
    logger.info(
        "{}: {} pages, {} candles fetched, {} bars written, {} rejected, {} retries",
        run.label, r.pages, r.fetched, r.written, r.rejected, r.retries,
    )
    return r


def _start(stored: Any, since_ms: int | None, bar_type: str) -> int:
    """Return the first candle open time to fetch: after the stored series, else `since_ms`."""
    if len(stored):
        start = int(stored[-1]) + ONE_MINUTE_MS
        if since_ms is not None and since_ms > start:
            start = since_ms
    elif since_ms is None:
        raise ValueError(f"the catalog has no bars of {bar_type}; give since_ms to start a download")
    else:
        start = since_ms
    return -(-start // ONE_MINUTE_MS) * ONE_MINUTE_MS  # round up onto the candle grid


def _paginate(
    run: _Downloader,
    market: dict[str, Any],
    instrument: Instrument,
    start: int,
    end: int,
    now: int,
    page_limit: int | None,
    progress: bool,
) -> None:
    """Fetch windows of `limit` minutes from `start` to `end`, importing each page at once."""
    from tqdm import tqdm

    result, cursor = run.result, start
    with tqdm(total=max(0, (end - start) // ONE_MINUTE_MS), unit="min", desc=instrument.id.value, disable=not progress) as bar:
        while cursor < end:
            limit, params = _page_plan(run.exchange, market, cursor, now, page_limit)
            rows = run.page(market["symbol"], cursor, limit, params)
            result.pages += 1
            candles = [row for row in rows if cursor <= int(row[0]) < end]
            if candles:
                imported = run.catalog.import_candles(_frame(candles), instrument)
                result.fetched += len(candles)
                result.written += imported.written
                result.rejected += len(imported.report.rejections)
                if result.first_open_ms is None:
                    result.first_open_ms = int(candles[0][0])
                result.last_open_ms = int(candles[-1][0])
                step = int(candles[-1][0]) + ONE_MINUTE_MS - cursor
            else:
                step = limit * ONE_MINUTE_MS  # the whole window is a hole in the exchange's data
            bar.update(min(step, end - cursor) // ONE_MINUTE_MS)
            cursor += step
