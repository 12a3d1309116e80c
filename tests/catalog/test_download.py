"""Candle downloads through ccxt against a local OKX v5 server serving the real BTC-USDT-SWAP file."""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ravebear.catalog.ccxt_instruments import ccxt_instrument
from ravebear.catalog.download import DownloadError, DownloadResult, download_candles
from ravebear.catalog.store import RaveCatalog
from tests.okx_candle_server import Faults, OkxCandleServer, load_candles

SYMBOL = "BTC-USDT-SWAP"
BAR_TYPE = "BTC-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL"
MINUTE = 60_000
HISTORY = "/api/v5/market/history-candles"
RECENT = "/api/v5/market/candles"
# 2026-08-15 22:00 .. 2026-08-18 08:00 UTC: 3,480 minutes, 2,940 real bars, gaps of 17 to 197 minutes,
# and the window starts 17 minutes inside a gap.
START = int(pd.Timestamp("2026-08-15 22:00", tz="UTC").value // 1_000_000)
END = int(pd.Timestamp("2026-08-18 08:00", tz="UTC").value // 1_000_000)

SOURCE = load_candles()
TS = SOURCE["ts"].to_numpy(dtype=np.int64)


def source_rows(start: int, end: int) -> pd.DataFrame:
    """Return the real candles opening in [start, end)."""
    return SOURCE[(TS >= start) & (TS < end)].reset_index(drop=True)


def expected_cursors(start: int, end: int, limit: int = 100) -> list[int]:
    """Return the page starts a correct forward pager visits, from the source data alone."""
    cursors, cursor = [], start
    while cursor < end:
        cursors.append(cursor)
        inside = TS[(TS >= cursor) & (TS < min(cursor + limit * MINUTE, end))]
        cursor = int(inside[-1]) + MINUTE if len(inside) else cursor + limit * MINUTE
    return cursors


def stored_bars(catalog: RaveCatalog) -> list[tuple[int, float, float, float, float, float]]:
    """Return the stored bars as (open ms, o, h, l, c, volume in contracts)."""
    return [
        (
            bar.ts_event // 1_000_000 - MINUTE,
            *(round(value.as_double(), 6) for value in (bar.open, bar.high, bar.low, bar.close, bar.volume)),
        )
        for bar in catalog.bars(BAR_TYPE)
    ]


def source_bars(start: int, end: int) -> list[tuple[int, float, float, float, float, float]]:
    """Return the real candles opening in [start, end) in the shape of `stored_bars`."""
    rows = source_rows(start, end)
    return [
        (int(r.ts), *(round(value, 6) for value in (r.open, r.high, r.low, r.close, r.volume_contracts)))
        for r in rows.itertuples(index=False)
    ]


def download(catalog: RaveCatalog, server: OkxCandleServer, **kwargs: object) -> DownloadResult:
    """Download BTC-USDT-SWAP from the local server, fast retries, no progress bar."""
    options: dict[str, object] = {"since_ms": START, "until_ms": END, "backoff_s": 0.01, "progress": False}
    options.update(kwargs)
    return download_candles(catalog, SYMBOL, rest_url=server.url, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def server() -> Iterator[OkxCandleServer]:
    with OkxCandleServer(SOURCE) as okx:
        yield okx


@pytest.fixture
def okx(server: OkxCandleServer) -> OkxCandleServer:
    server.reset()
    return server


@pytest.fixture(scope="module")
def full(server: OkxCandleServer, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DownloadResult, list]:
    """Download START..END once into a clean catalog; keep its result and candle requests."""
    server.reset()
    path = tmp_path_factory.mktemp("full")
    result = download(RaveCatalog(path), server)
    return path, result, server.candle_requests


def test_full_download_paginates_and_stores_the_source_bars(full: tuple[Path, DownloadResult, list]) -> None:
    path, result, requests = full
    cursors = expected_cursors(START, END)
    expected = source_bars(START, END)
    assert len(expected) == 2940
    assert result.pages == len(requests) == len(cursors) == 37
    for request, cursor in zip(requests, cursors, strict=True):
        assert request.path == HISTORY  # a month-old window: history-candles, 100 rows a page
        assert request.query == {
            "instId": SYMBOL,
            "bar": "1m",
            "limit": "100",
            "before": str(cursor - 1),
            "after": str(cursor + 100 * MINUTE),
        }
    assert (result.fetched, result.written, result.rejected, result.retries) == (2940, 2940, 0, 0)
    assert (result.first_open_ms, result.last_open_ms) == (expected[0][0], expected[-1][0])
    assert stored_bars(RaveCatalog(path)) == expected


def test_resume_after_interruption_fetches_only_the_rest(
    okx: OkxCandleServer,
    full: tuple[Path, DownloadResult, list],
    tmp_path: Path,
) -> None:
    catalog = RaveCatalog(tmp_path)
    cursors = expected_cursors(START, END)
    okx.reset(Faults(fail_from=13))  # pages 1..12 succeed, then the server is down for good
    with pytest.raises(DownloadError) as failure:
        download(catalog, okx, max_retries=2)
    stopped_at = cursors[12]
    stored_before = source_bars(START, stopped_at)
    message = str(failure.value)
    assert f"candle page from {pd.Timestamp(stopped_at, unit='ms', tz='UTC'):%Y-%m-%d %H:%M} UTC failed after 2 retries" in message
    assert 'OnMaintenance: okx {"code": "50001", "msg": "Service temporarily unavailable"' in message
    last = pd.Timestamp(stored_before[-1][0], unit="ms", tz="UTC")
    assert f"the catalog holds {len(stored_before):,} bars of {BAR_TYPE} up to {last:%Y-%m-%d %H:%M} UTC" in message
    assert failure.value.result.pages == 12 and failure.value.result.retries == 2
    assert len(okx.candle_requests) == 15  # 12 pages + the failing one tried 3 times
    assert stored_bars(catalog) == stored_before  # completed pages are kept

    okx.reset()
    resumed = download(catalog, okx)
    first = okx.candle_requests[0].query
    assert int(first["before"]) == stored_before[-1][0] + MINUTE - 1  # starts after the last stored bar
    assert resumed.first_open_ms == stored_before[-1][0] + MINUTE
    assert resumed.pages == len(expected_cursors(stored_before[-1][0] + MINUTE, END))
    assert resumed.written == resumed.fetched == 2940 - len(stored_before)
    times = catalog.stored_open_times(BAR_TYPE)
    assert len(np.unique(times)) == len(times) == 2940  # no duplicates
    assert stored_bars(catalog) == stored_bars(RaveCatalog(full[0]))


def test_rate_limit_honours_retry_after(okx: OkxCandleServer, tmp_path: Path) -> None:
    until = START + 600 * MINUTE
    okx.reset(Faults(rate_limited={2}, retry_after="1"))
    result = download(RaveCatalog(tmp_path), okx, until_ms=until)
    requests = okx.candle_requests
    assert [r.status for r in requests[:3]] == [200, 429, 200]
    assert requests[2].t - requests[1].t >= 0.95  # measured at the server
    assert requests[2].query == requests[1].query  # the same page again
    assert result.retries == 1
    assert stored_bars(RaveCatalog(tmp_path)) == source_bars(START, until)


def test_garbage_pages_are_retried(okx: OkxCandleServer, tmp_path: Path) -> None:
    until = START + 600 * MINUTE
    okx.reset(Faults(garbage={2}, wrong_shape={4}, server_error={5}))
    result = download(RaveCatalog(tmp_path), okx, until_ms=until)
    assert [r.status for r in okx.candle_requests[:6]] == [200, 200, 200, 200, 500, 200]
    assert result.retries == 3
    assert result.pages == len(expected_cursors(START, until))
    assert stored_bars(RaveCatalog(tmp_path)) == source_bars(START, until)


def test_permanently_garbage_server_raises(okx: OkxCandleServer, tmp_path: Path) -> None:
    okx.reset(Faults(always_garbage=True))
    with pytest.raises(DownloadError) as failure:
        download(RaveCatalog(tmp_path), okx, max_retries=2)
    message = str(failure.value)
    assert "failed after 2 retries: _BadPage: response is not JSON" in message
    assert f"the catalog holds no bars of {BAR_TYPE}" in message
    assert len(okx.candle_requests) == 3
    assert RaveCatalog(tmp_path).stored_open_times(BAR_TYPE).size == 0


def test_forming_candle_is_not_stored(tmp_path: Path) -> None:
    forming = int(TS[20000])  # a real candle with 200 real minutes before it
    assert TS[20000 - 200] == forming - 200 * MINUTE
    with OkxCandleServer(SOURCE, now_ms=forming + 30_000) as okx:
        url = f"{okx.url}{RECENT}?instId={SYMBOL}&limit=2"
        newest = json.loads(urllib.request.urlopen(url, timeout=5).read())["data"]  # noqa: S310 - 127.0.0.1
        assert [row[0] for row in newest] == [str(forming), str(forming - MINUTE)]
        assert [row[8] for row in newest] == ["0", "1"]  # the server does send the open candle
        okx.reset()
        result = download(RaveCatalog(tmp_path), okx, since_ms=forming - 200 * MINUTE, until_ms=None)
        requests = okx.candle_requests
    assert [r.path for r in requests] == [RECENT]  # the last 1,440 minutes: market/candles
    assert requests[0].query["limit"] == "300"
    assert result.last_open_ms == forming - MINUTE
    assert stored_bars(RaveCatalog(tmp_path)) == source_bars(forming - 200 * MINUTE, forming)


def test_same_range_twice_writes_nothing(
    okx: OkxCandleServer,
    full: tuple[Path, DownloadResult, list],
    tmp_path: Path,
) -> None:
    path = tmp_path / "catalog"
    shutil.copytree(full[0], path)
    catalog = RaveCatalog(path)
    before = stored_bars(catalog)
    last = before[-1][0]
    assert END - last == 4 * MINUTE  # the range ends inside a real gap
    again = download(catalog, okx)
    assert (again.written, again.fetched) == (0, 0)
    # Only the trailing gap after the last stored bar is asked for again (OKX cannot say it is final).
    assert [int(r.query["before"]) for r in okx.candle_requests] == [last + MINUTE - 1]
    assert again.pages == 1
    assert stored_bars(catalog) == before
    third = download(catalog, okx, until_ms=last + MINUTE)  # a range ending at the last stored bar
    assert (third.pages, third.written) == (0, 0)
    assert len(okx.candle_requests) == 1


def test_ccxt_markets_become_nautilus_instruments() -> None:
    swap = {
        "id": "BTCUSDT", "symbol": "BTC/USDT:USDT", "base": "BTC", "quote": "USDT", "settle": "USDT",
        "type": "swap", "swap": True, "spot": False, "linear": True, "inverse": False, "contractSize": 1.0,
        "precision": {"price": 0.1, "amount": 0.001}, "limits": {"amount": {"min": 0.001}, "leverage": {"max": 125}},
        "maker": 0.0002, "taker": 0.0005,
    }
    perp = ccxt_instrument(swap, "binance")
    assert perp.id.value == "BTCUSDT-PERP.BINANCE"
    assert (perp.price_precision, perp.size_precision, str(perp.multiplier)) == (1, 3, "1")
    spot = {**swap, "symbol": "BTC/USDT", "type": "spot", "swap": False, "spot": True, "settle": None}
    pair = ccxt_instrument({**spot, "precision": {"price": 2, "amount": 5}}, "binance", precision_mode=2)
    assert pair.id.value == "BTCUSDT.BINANCE"
    assert (pair.price_precision, pair.size_precision, str(pair.price_increment)) == (2, 5, "0.01")
    assert type(pair).__name__ == "CurrencyPair"


def test_cli_download_prints_what_it_stored_and_fails_cleanly(okx: OkxCandleServer, tmp_path: Path) -> None:
    from tests.platform.test_backtest import ravebear

    env = {"RAVEBEAR_CATALOG": str(tmp_path / "cat")}
    window = ["--since", "2026-08-15 22:00", "--until", "2026-08-16 08:00", "--url", okx.url, "--no-progress"]
    done = ravebear("catalog", "download", SYMBOL, *window, env=env)
    assert done.returncode == 0, done.stderr
    expected = source_bars(START, START + 600 * MINUTE)
    pages = len(expected_cursors(START, START + 600 * MINUTE))
    assert f"{BAR_TYPE}: {pages} pages, {len(expected)} candles fetched, {len(expected)} new bars written, 0 rejected, 0 retries" in done.stdout
    assert stored_bars(RaveCatalog(tmp_path / "cat")) == expected

    okx.reset(Faults(always_garbage=True))
    later = ["--until", "2026-08-17 08:00", "--url", okx.url, "--no-progress", "--retries", "1"]
    failed = ravebear("catalog", "download", SYMBOL, *later, env=env)
    assert failed.returncode == 1
    *warnings, error = failed.stderr.strip().splitlines()
    assert "WARNING" in warnings[0] and "response is not JSON" in warnings[0]  # each retry is logged
    resume_from = pd.Timestamp(expected[-1][0] + MINUTE, unit="ms", tz="UTC")
    assert error.startswith(f"error: okx BTC-USDT-SWAP: candle page from {resume_from:%Y-%m-%d %H:%M} UTC failed after 1 retries")
    assert f"the catalog holds {len(expected):,} bars" in error and "run again to resume" in error
    assert "Traceback" not in failed.stderr
    assert stored_bars(RaveCatalog(tmp_path / "cat")) == expected
