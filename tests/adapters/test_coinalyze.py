"""Coinalyze: parsing, the shared adapter contract, history downloads into the catalog, and the shared call budget.

The fixtures and the local server follow the documented Coinalyze format
(shared/data/API_FORMATS.md), not a live capture.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ravebear.adapters.coinalyze import parsing
from ravebear.adapters.coinalyze.config import CoinalyzeDataClientConfig
from ravebear.adapters.coinalyze.factories import CoinalyzeLiveDataClientFactory
from ravebear.adapters.coinalyze.history import download_coinalyze_history, plan_windows
from ravebear.adapters.coinalyze.http import CoinalyzeHttpClient
from ravebear.adapters.common.errors import AuthError, RequestFailedError
from ravebear.adapters.common.http import RetryPolicy
from ravebear.adapters.common.rate_limit import reset_shared_rate_limiters
from ravebear.catalog.alt_data import AltDataStore, FundingRate, Liquidation, LongShortRatio, OpenInterest
from ravebear.catalog.store import RaveCatalog
from tests.adapters.coinalyze_server import FIXTURES, CoinalyzeServer, value
from tests.adapters.contract import AdapterContract
from tests.adapters.harness import ClientRun
from tests.adapters.local_server import Fault, LocalServer

S = 1_000_000_000
SYMBOLS = {"BTCUSDT_PERP.3": "BTC-USDT-SWAP.OKX", "ETHUSDT_PERP.3": "ETH-USDT-SWAP.OKX"}
KEY = "rb-secret-7Hq2xWv9KpL4"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


# -- parsing ------------------------------------------------------------------------------


def test_parse_open_interest_history_stamps_rows_at_the_interval_end():
    result = parsing.parse_history(load("http_get_open_interest_history.json"), "open_interest", SYMBOLS, "5min", usd=True)
    assert not result.errors
    btc = [r for r in result.records if r.symbol == "BTCUSDT_PERP.3"]
    assert [r.ts_event for r in btc] == [(1767225600 + 300) * S, (1767225900 + 300) * S, (1767226200 + 300) * S]
    first = btc[0]
    assert (first.open, first.high, first.low, first.close) == (3401200000.0, 3415800000.0, 3398100000.0, 3412556789.12)
    assert first.instrument_id.value == "BTC-USDT-SWAP.OKX" and first.usd and first.interval_s == 300
    assert len(result.records) == 4


def test_parse_funding_and_predicted_funding_history_set_the_predicted_flag():
    settled = parsing.parse_history(load("http_get_funding_rate_history.json"), "funding_rate", SYMBOLS, "5min").records
    predicted = parsing.parse_history(load("http_get_predicted_funding_rate_history.json"), "predicted_funding_rate", SYMBOLS, "5min").records
    assert [type(r) for r in settled + predicted] == [FundingRate] * 4
    assert [r.predicted for r in settled] == [False, False] and [r.predicted for r in predicted] == [True, True]
    assert settled[0].close == 0.000085 and predicted[0].close == 0.000102


def test_parse_liquidation_and_long_short_ratio_history():
    liquidations = parsing.parse_history(load("http_get_liquidation_history.json"), "liquidations", SYMBOLS, "5min", usd=True).records
    assert [(r.long_liquidations, r.short_liquidations) for r in liquidations] == [(125430.5, 8200.0), (0.0, 1540220.75)]
    assert all(isinstance(r, Liquidation) and r.usd for r in liquidations)
    ratios = parsing.parse_history(load("http_get_long_short_ratio_history.json"), "long_short_ratio", SYMBOLS, "5min").records
    assert [(r.ratio, r.long_percent, r.short_percent) for r in ratios] == [(1.1978, 54.5, 45.5), (1.2371, 55.3, 44.7)]
    assert all(isinstance(r, LongShortRatio) for r in ratios)


def test_parse_history_with_a_missing_field_skips_that_row_and_names_the_field():
    raw = load("http_get_open_interest_history.json")
    del raw[0]["history"][1]["c"]
    result = parsing.parse_history(raw, "open_interest", SYMBOLS, "5min")
    assert len(result.records) == 3
    assert result.errors == ["open-interest-history BTCUSDT_PERP.3 row 1: missing field 'c'"]


def test_parse_history_with_non_numeric_value_and_unknown_symbol_reports_both():
    raw = [
        {"symbol": "BTCUSDT_PERP.3", "history": [{"t": 1767225600, "r": "n/a", "l": 50, "s": 50}]},
        {"symbol": "XRPUSDT_PERP.3", "history": [{"t": 1767225600, "r": 1, "l": 50, "s": 50}]},
        {"history": []},
    ]
    result = parsing.parse_history(raw, "long_short_ratio", SYMBOLS, "5min")
    assert result.records == []
    assert result.errors[0] == "long-short-ratio-history BTCUSDT_PERP.3 row 0: field 'r' is not a number: 'n/a'"
    assert "unknown symbol 'XRPUSDT_PERP.3'" in result.errors[1]
    assert "missing field 'symbol'" in result.errors[2]


def test_parse_history_with_empty_history_returns_no_rows():
    assert parsing.parse_history([{"symbol": "BTCUSDT_PERP.3", "history": []}], "liquidations", SYMBOLS, "1hour").records == []
    assert parsing.parse_history([], "liquidations", SYMBOLS, "1hour").records == []
    assert parsing.parse_history({"message": "error"}, "liquidations", SYMBOLS, "1hour").errors


def test_parse_history_drops_the_interval_still_forming():
    raw = load("http_get_open_interest_history.json")
    closed_before = (1767226200 + 299) * S  # the third BTC row ends one second later
    result = parsing.parse_history(raw, "open_interest", SYMBOLS, "5min", closed_before_ns=closed_before)
    assert len([r for r in result.records if r.symbol == "BTCUSDT_PERP.3"]) == 2


def test_parse_current_values_use_the_update_time_in_ms():
    oi = parsing.parse_current(load("http_get_open_interest.json"), "open_interest", SYMBOLS, usd=True, ts_init=5).records
    assert [(r.instrument_id.value, r.close, r.ts_event, r.ts_init, r.interval_s) for r in oi] == [
        ("BTC-USDT-SWAP.OKX", 3412556789.12, 1767225912345 * 1_000_000, 5, 0),
        ("ETH-USDT-SWAP.OKX", 1834200455.5, 1767225912101 * 1_000_000, 5, 0),
    ]
    predicted = parsing.parse_current(load("http_get_predicted_funding_rate.json"), "predicted_funding_rate", SYMBOLS).records
    assert [(r.predicted, r.close) for r in predicted] == [(True, 0.000102), (True, 0.000031)]
    broken = [{"symbol": "BTCUSDT_PERP.3", "value": 1.0}]
    assert parsing.parse_current(broken, "funding_rate", SYMBOLS).errors == ["funding-rate item 0: missing field 'update'"]


def test_okx_instruments_map_to_coinalyze_symbols_with_the_exchange_code_read_at_runtime():
    code = parsing.parse_exchanges(load("http_get_exchanges.json"))["OKX"]
    markets = parsing.parse_future_markets(load("http_get_future_markets.json")).records
    mapping = parsing.map_okx_instruments(["BTC-USDT-SWAP.OKX", "SOL-USDT-SWAP", "DOGE-USDT-SWAP.OKX"], code, markets)
    assert mapping == {"BTCUSDT_PERP.3": "BTC-USDT-SWAP.OKX", "SOLUSDT_PERP.3": "SOL-USDT-SWAP.OKX", "DOGEUSDT_PERP.3": "DOGE-USDT-SWAP.OKX"}
    assert parsing.map_okx_instruments(["BTC-USDT-SWAP.OKX"], "6", markets) == {"BTCUSDT_PERP.6": "BTC-USDT-SWAP.OKX"}
    with pytest.raises(ValueError, match="not an OKX perpetual swap"):
        parsing.coinalyze_symbol_guess("BTC-USDT.OKX", "3")


def test_plan_windows_cover_the_range_aligned_to_the_interval():
    windows = plan_windows(1000, 10_000, 300, 10)
    assert windows[0][0] == 900 and windows[-1][1] == 10_000
    assert all(b[0] == a[1] + 1 for a, b in zip(windows, windows[1:], strict=False))


# -- the contract ---------------------------------------------------------------------------


class TestCoinalyzeContract(AdapterContract):
    env_var = "COINALYZE_API_KEY"
    client_name = "COINALYZE"
    factory = CoinalyzeLiveDataClientFactory
    data_types = (OpenInterest, FundingRate, Liquidation, LongShortRatio)
    fault_path = "/open-interest"

    def make_server(self) -> LocalServer:
        return CoinalyzeServer()

    def make_config(self, server: LocalServer, **overrides: Any) -> CoinalyzeDataClientConfig:
        settings: dict[str, Any] = {
            "base_url": server.url, "instrument_ids": ("BTC-USDT-SWAP.OKX", "ETH-USDT-SWAP.OKX"), "poll_interval_s": 0.1,
            "live_interval": "1min", "timeout_s": 0.5, "backoff_s": 0.05, "max_retries": 3, "rate_limit_calls": 1000,
            "rate_limit_period_s": 1.0,
        }  # fmt: skip
        return CoinalyzeDataClientConfig(**{**settings, **overrides})

    def check_records(self, run: ClientRun, server: LocalServer) -> None:
        instruments = {"BTCUSDT_PERP.3": "BTC-USDT-SWAP.OKX", "ETHUSDT_PERP.3": "ETH-USDT-SWAP.OKX"}
        for record in run.of(OpenInterest):
            assert record.instrument_id.value == instruments[record.symbol] and record.usd and record.interval_s == 0
            assert record.close == value(record.symbol, "open_interest", record.ts_event // S)["c"]
        funding = run.of(FundingRate)
        assert {r.predicted for r in funding} == {False, True}
        for record in funding:
            metric = "predicted_funding_rate" if record.predicted else "funding_rate"
            assert record.close == value(record.symbol, metric, record.ts_event // S)["c"]
        for record in run.of(LongShortRatio):
            assert record.interval_s == 60 and record.ts_event % (60 * S) == 0 and record.ts_event <= time.time_ns()
            assert record.ratio == value(record.symbol, "long_short_ratio", record.ts_event // S - 60)["r"]
        for record in run.of(Liquidation):
            expected = value(record.symbol, "liquidations", record.ts_event // S - 60)
            assert (record.long_liquidations, record.short_liquidations) == (expected["l"], expected["s"])
        published = [(type(r).__name__, r.symbol, r.predicted if isinstance(r, FundingRate) else None, r.ts_event) for r in run.records]
        assert len(published) == len(set(published))  # each value published once

    def break_one_record(self, server: LocalServer) -> str:
        def drop(body: Any) -> Any:
            del body[0]["value"]
            return body

        server.mutate_next("/open-interest", drop)
        return "value"

    def probe_history(self, server: LocalServer, log: Any) -> None:
        import tempfile

        server.fail_next("/open-interest-history", Fault("500"))
        store = AltDataStore(Path(tempfile.mkdtemp()))
        http = CoinalyzeHttpClient(server.url, log, RetryPolicy(timeout_s=1, backoff_s=0.05), calls=1000, period_s=1.0)
        now = int(time.time())

        async def download() -> None:
            try:
                await download_coinalyze_history(store, http, ["BTC-USDT-SWAP.OKX"], ["open_interest"], "5min", now - 7200, log=log)
                server.reject_all_keys = True
                await download_coinalyze_history(store, http, ["BTC-USDT-SWAP.OKX"], ["liquidations"], "5min", now - 7200, log=log)
            except AuthError as exc:
                log.error(str(exc))
            finally:
                await http.close()
                server.reject_all_keys = False

        asyncio.run(download())


# -- history ---------------------------------------------------------------------------------


@pytest.fixture
def coinalyze(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COINALYZE_API_KEY", KEY)
    reset_shared_rate_limiters()
    with CoinalyzeServer(api_key=KEY) as server:
        yield server
    reset_shared_rate_limiters()


def download(server: CoinalyzeServer, catalog: Path, metrics: list[str], start_s: int, end_s: int | None = None, **kwargs: Any):
    from loguru import logger

    calls, period = kwargs.pop("calls", 1000), kwargs.pop("period_s", 1.0)
    retry = kwargs.pop("retry", RetryPolicy(timeout_s=2, backoff_s=0.05))
    instruments = kwargs.pop("instrument_ids", ["BTC-USDT-SWAP.OKX", "ETH-USDT-SWAP.OKX"])

    async def go():
        http = CoinalyzeHttpClient(server.url, logger, retry, calls=calls, period_s=period)
        try:
            return await download_coinalyze_history(AltDataStore(catalog), http, instruments, metrics, kwargs.pop("interval", "5min"), start_s, end_s, log=logger, **kwargs)
        finally:
            await http.close()

    return asyncio.run(go())


ALL_METRICS = ["open_interest", "funding_rate", "predicted_funding_rate", "liquidations", "long_short_ratio"]


def test_history_download_stores_every_closed_interval_and_a_rerun_writes_nothing(coinalyze: CoinalyzeServer, tmp_path: Path):
    now = int(time.time())
    start = now - 6 * 3600
    result = download(coinalyze, tmp_path, ALL_METRICS, start, points_per_request=30)
    closed = len(range(start - start % 300, now - 300 + 1, 300))  # from the interval holding `start` to the last one ended by now
    assert result.written == 5 * 2 * closed and result.skipped == 0
    store = AltDataStore(tmp_path)
    oi = store.read(OpenInterest, "BTC-USDT-SWAP.OKX")
    assert len(oi) == closed and all(r.ts_event <= now * S for r in oi)
    assert [r.close for r in oi] == [value("BTCUSDT_PERP.3", "open_interest", r.ts_event // S - 300)["c"] for r in oi]
    funding = store.read(FundingRate, "ETH-USDT-SWAP.OKX")
    assert sum(r.predicted for r in funding) == closed and len(funding) == 2 * closed
    assert RaveCatalog(tmp_path).instrument_ids() == ["BTC-USDT-SWAP.OKX", "ETH-USDT-SWAP.OKX"]
    history_requests = [h for h in coinalyze.hits if h.path.endswith("-history")]
    assert all(int(h.query["from"]) < 10**11 for h in history_requests)  # seconds, not ms

    coinalyze.hits.clear()
    again = download(coinalyze, tmp_path, ALL_METRICS, start, points_per_request=30)
    assert again.written == 0
    resumed_from = {int(h.query["from"]) for h in coinalyze.hits if h.path.endswith("-history")}
    assert min(resumed_from) >= now - 600  # resumed at the stored end, not at `start`


def test_interrupted_history_download_resumes_and_ends_identical_to_a_clean_one(coinalyze: CoinalyzeServer, tmp_path: Path):
    now = int(time.time())
    start, end = now - 4 * 3600, now - 1800
    # windows 1-2 succeed, window 3 fails for good (one retry allowed)
    coinalyze.fail_next("/open-interest-history", Fault("ok"), Fault("ok"), Fault("500"), Fault("500"))
    with pytest.raises(RequestFailedError, match="failed after 2 attempts: HTTP 500"):
        download(coinalyze, tmp_path / "a", ["open_interest"], start, end, points_per_request=10, retry=RetryPolicy(max_retries=1, backoff_s=0.01))
    partial = AltDataStore(tmp_path / "a").read(OpenInterest, "BTC-USDT-SWAP.OKX")
    assert len(partial) == 20  # two windows of 10 intervals were stored before the failure

    coinalyze.hits.clear()
    result = download(coinalyze, tmp_path / "a", ["open_interest"], start, end, points_per_request=10)
    assert min(int(h.query["from"]) for h in coinalyze.hits_to("/open-interest-history")) == partial[-1].ts_event // S
    full = AltDataStore(tmp_path / "a").read(OpenInterest, "BTC-USDT-SWAP.OKX")
    assert len(full) == len(range(start - start % 300, end + 1, 300))  # intervals starting in [start, end]
    assert result.written == 2 * (len(full) - 20)  # BTC and ETH, nothing stored twice

    download(coinalyze, tmp_path / "clean", ["open_interest"], start, end, points_per_request=10)
    for instrument in ("BTC-USDT-SWAP.OKX", "ETH-USDT-SWAP.OKX"):
        resumed = AltDataStore(tmp_path / "a").read_table(OpenInterest, instrument)
        clean = AltDataStore(tmp_path / "clean").read_table(OpenInterest, instrument)
        assert resumed.num_rows == clean.num_rows > 0 and resumed.equals(clean)


def test_requests_carry_at_most_20_symbols_and_the_budget_is_never_exceeded(coinalyze: CoinalyzeServer, tmp_path: Path):
    instruments = [f"COIN{i}-USDT-SWAP.OKX" for i in range(25)]
    now = int(time.time())
    download(coinalyze, tmp_path, ["open_interest", "liquidations"], now - 3600, instrument_ids=instruments, calls=30, period_s=0.5)
    history = [h for h in coinalyze.hits if h.path.endswith("-history")]
    assert sorted(h.cost for h in history) == [5, 5, 20, 20]
    assert coinalyze.max_cost_in_window(0.5) <= 30
    assert history[-1].t - history[0].t >= 0.5  # 50 calls cannot fit in one window of 30


def test_two_clients_on_two_event_loops_share_one_budget(coinalyze: CoinalyzeServer, tmp_path: Path):
    now = int(time.time())
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            download(coinalyze, tmp_path / str(index), ["open_interest"], now - 7200, calls=8, period_s=0.4, points_per_request=4)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert len([h for h in coinalyze.hits if h.path.endswith("-history")]) >= 2 * 6  # 2 h in 20-minute windows, each
    assert coinalyze.max_cost_in_window(0.4) <= 8


def test_history_with_an_unknown_metric_or_interval_is_refused(coinalyze: CoinalyzeServer, tmp_path: Path):
    with pytest.raises(ValueError, match="unknown Coinalyze metric 'oi'"):
        download(coinalyze, tmp_path, ["oi"], 0)
    with pytest.raises(ValueError, match="unknown Coinalyze interval '7min'"):
        download(coinalyze, tmp_path, ["open_interest"], 0, interval="7min")


def test_exchange_code_is_read_from_the_exchanges_endpoint(coinalyze: CoinalyzeServer, tmp_path: Path):
    coinalyze.okx_code = "7"
    now = int(time.time())
    result = download(coinalyze, tmp_path, ["open_interest"], now - 3600)
    assert result.symbols == {"BTCUSDT_PERP.7": "BTC-USDT-SWAP.OKX", "ETHUSDT_PERP.7": "ETH-USDT-SWAP.OKX"}
    assert result.written > 0
