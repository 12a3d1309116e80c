"""Stablecoins: DefiLlama supply and CoinGecko dominance parsing, the shared adapter contract, pluggable sources, history.

The fixtures and the local server follow the documented DefiLlama and CoinGecko formats
(shared/data/API_FORMATS.md), not a live capture.
"""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path
from typing import Any

import pytest

from ravebear.adapters.common.redact import Redactor
from ravebear.adapters.stablecoins import parsing
from ravebear.adapters.stablecoins.config import StablecoinsDataClientConfig
from ravebear.adapters.stablecoins.factories import StablecoinsLiveDataClientFactory
from ravebear.adapters.stablecoins.history import download_stablecoin_history, record_dominance_snapshot
from ravebear.adapters.stablecoins.sources import CoinGeckoDominanceSource, DefiLlamaSupplySource, StablecoinSource, source_class
from ravebear.catalog.alt_data import AltDataStore, Dominance, StablecoinSupply
from tests.adapters.contract import AdapterContract
from tests.adapters.harness import ClientRun
from tests.adapters.local_server import Fault, LocalServer
from tests.adapters.stablecoins_server import DAY, StablecoinServer, fixture, supply_on

S = 1_000_000_000
KEY = "rb-secret-7Hq2xWv9KpL4"


# -- parsing ------------------------------------------------------------------------------


def test_current_supply_of_usdt_usdc_and_all_usd_stablecoins_with_daily_net_flow():
    result = parsing.parse_current_supply(fixture("http_get_stablecoins.json"), ("USDT", "USDC"), True, ts_event=7)
    assert not result.errors
    by_asset = {r.asset: r for r in result.records}
    assert by_asset["USDT"].circulating_usd == 184125430112.42
    assert by_asset["USDT"].net_flow_usd == pytest.approx(184125430112.42 - 183905112004.17)
    assert by_asset["USDC"].net_flow_usd == pytest.approx(75210884512.0 - 75398102233.6)  # outflow: negative
    assert by_asset["ALL"].circulating_usd == pytest.approx(184125430112.42 + 75210884512.0 + 5120443210.5)  # EUR-pegged left out
    assert all(r.interval_s == DAY and r.source == "defillama" and r.ts_event == 7 for r in result.records)


def test_current_supply_with_a_missing_field_names_it_and_keeps_the_rest():
    raw = fixture("http_get_stablecoins.json")
    del raw["peggedAssets"][1]["circulatingPrevDay"]
    result = parsing.parse_current_supply(raw, ("USDT", "USDC"), False, ts_event=1)
    assert [r.asset for r in result.records] == ["USDT"]
    assert result.errors == ["stablecoins USDC (item 1): missing field 'circulatingPrevDay'"]
    assert parsing.parse_current_supply(raw, ("PYUSD",), False, 1).errors == ["stablecoins: no USD-pegged asset with symbol 'PYUSD'"]


def test_supply_chart_points_are_stamped_at_the_end_of_their_day_with_net_flows():
    chart = fixture("http_get_stablecoincharts_all_stablecoin_1.json")
    result = parsing.parse_supply_chart(chart, "USDT")
    assert [r.ts_event for r in result.records] == [(1767052800 + DAY) * S, (1767139200 + DAY) * S, (1767225600 + DAY) * S]
    assert math.isnan(result.records[0].net_flow_usd)
    assert result.records[1].net_flow_usd == pytest.approx(183941893026.57 - 183536700000.0)
    running = parsing.parse_supply_chart(chart, "USDT", now_s=1767225600 + 3600)  # the last day is still running
    assert len(running.records) == 2


def test_supply_chart_with_a_missing_field_skips_the_point_and_restarts_the_flow():
    chart = fixture("http_get_stablecoincharts_all_stablecoin_1.json")
    del chart[1]["totalCirculatingUSD"]
    result = parsing.parse_supply_chart(chart, "USDT")
    assert result.errors == ["stablecoincharts USDT point 1: missing field 'totalCirculatingUSD'"]
    assert len(result.records) == 2 and math.isnan(result.records[1].net_flow_usd)  # no flow across the hole


def test_usdt_dominance_from_coingecko_global():
    result = parsing.parse_global_dominance(fixture("http_get_global.json"), ("USDT", "BTC"))
    assert [(r.asset, r.percent, r.ts_event, r.source) for r in result.records] == [
        ("USDT", 5.17, 1767225720 * S, "coingecko"), ("BTC", 58.91, 1767225720 * S, "coingecko"),
    ]  # fmt: skip
    missing = parsing.parse_global_dominance(fixture("http_get_global.json"), ("PYUSD",))
    assert missing.errors == ["global PYUSD: missing field 'data.market_cap_percentage.pyusd'"]
    assert parsing.parse_global_dominance({"status": {"error_code": 429}}, ("USDT",)).errors == ["global: missing field 'data'"]


def test_stablecoin_ids_map_symbols_of_usd_pegged_assets():
    assert parsing.stablecoin_ids(fixture("http_get_stablecoins.json")) == {"USDT": "1", "USDC": "2", "DAI": "5"}


# -- the contract ---------------------------------------------------------------------------


class TestStablecoinsContract(AdapterContract):
    env_var = "COINGECKO_API_KEY"
    client_name = "STABLECOINS"
    factory = StablecoinsLiveDataClientFactory
    data_types = (StablecoinSupply, Dominance)
    fault_path = "/stablecoins"

    def make_server(self) -> LocalServer:
        return StablecoinServer()

    def make_config(self, server: LocalServer, **overrides: Any) -> StablecoinsDataClientConfig:
        settings: dict[str, Any] = {
            "base_url": server.url, "coingecko_url": server.url, "poll_interval_s": 0.1, "timeout_s": 0.5, "backoff_s": 0.05,
            "max_retries": 3, "rate_limit_calls": 1000, "rate_limit_period_s": 1.0,
        }  # fmt: skip
        return StablecoinsDataClientConfig(**{**settings, **overrides})

    def check_records(self, run: ClientRun, server: LocalServer) -> None:
        supply = {r.asset: r for r in run.of(StablecoinSupply)}
        assert set(supply) == {"USDT", "USDC", "ALL"}  # published once each: the fixture's values do not move
        assert len(run.of(StablecoinSupply)) == 3
        assert supply["USDT"].circulating_usd == 184125430112.42 and supply["USDC"].net_flow_usd < 0
        dominance = run.of(Dominance)
        assert all(r.asset == "USDT" and 5.0 < r.percent < 6.0 for r in dominance)
        assert [r.ts_event for r in dominance] == sorted({r.ts_event for r in dominance})  # each CoinGecko update once
        sent = [h for h in server.hits_to("/global") if h.status == 200]
        assert sent and sent[0].headers.get("x-cg-demo-api-key") == self.api_key

    def break_one_record(self, server: LocalServer) -> str:
        def drop(body: Any) -> Any:
            del body["peggedAssets"][0]["circulating"]
            return body

        server.mutate_next("/stablecoins", drop)
        return "circulating"

    def enough(self, run: ClientRun) -> bool:
        return {r.asset for r in run.of(StablecoinSupply)} >= {"USDT", "USDC", "ALL"} and bool(run.of(Dominance))

    def probe_history(self, server: LocalServer, log: Any) -> None:
        import tempfile

        from ravebear.adapters.common.errors import AuthError

        server.fail_next("/stablecoincharts/all", Fault("500"))
        config = self.make_config(server)

        async def download() -> None:
            store = AltDataStore(Path(tempfile.mkdtemp()))
            supply, dominance = DefiLlamaSupplySource(config, log, Redactor()), CoinGeckoDominanceSource(config, log, Redactor())
            try:
                await download_stablecoin_history(store, supply, 0, log=log)
                server.reject_all_keys = True
                await record_dominance_snapshot(store, dominance, log=log)
            except AuthError as exc:
                log.error(str(exc))
            finally:
                await supply.close()
                await dominance.close()
                server.reject_all_keys = False

        asyncio.run(download())


def test_without_a_coingecko_key_the_keyless_api_is_used(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("COINGECKO_API_KEY", raising=False)
    with StablecoinServer() as server:
        contract = TestStablecoinsContract()
        run = contract.run(server)
        assert contract.enough(run)
        assert all("x-cg-demo-api-key" not in h.headers for h in server.hits_to("/global"))


class ConstantSupply(StablecoinSource):
    """A source defined outside the adapter: proves `sources` is pluggable."""

    name = "Constant"
    publishes = (StablecoinSupply,)

    def _make_http(self, log: Any) -> Any:
        from ravebear.adapters.common.http import JsonHttpClient

        return JsonHttpClient("http://127.0.0.1:9", "Constant", log, self.redactor)

    async def latest(self, now_ns: int) -> parsing.ParseResult:
        return parsing.ParseResult(records=[StablecoinSupply(asset="PYUSD", circulating_usd=1e9, net_flow_usd=0.0, interval_s=DAY, source="constant", ts_event=now_ns, ts_init=now_ns)])


def test_a_source_named_module_class_is_plugged_in(monkeypatch: pytest.MonkeyPatch):
    assert source_class("tests.adapters.test_stablecoins:ConstantSupply") is ConstantSupply
    with pytest.raises(ValueError, match="unknown stablecoin source 'glassnode'"):
        source_class("glassnode")
    with StablecoinServer() as server:
        contract = TestStablecoinsContract()
        run = contract.run(server, sources=("tests.adapters.test_stablecoins:ConstantSupply",), until=lambda r: bool(r.published))
        assert [(r.asset, r.source) for r in run.records] == [("PYUSD", "constant")]
        assert run.client.supported_types() == (StablecoinSupply,)


# -- history ---------------------------------------------------------------------------------


def test_supply_history_stores_closed_days_and_a_rerun_writes_nothing(tmp_path: Path):
    with StablecoinServer(days=40) as server:
        config = StablecoinsDataClientConfig(base_url=server.url, coingecko_url=server.url, backoff_s=0.01)
        store = AltDataStore(tmp_path)

        async def go() -> Any:
            source = DefiLlamaSupplySource(config, __import__("loguru").logger, Redactor())
            try:
                first = await download_stablecoin_history(store, source, 0)
                second = await download_stablecoin_history(store, source, 0)
                return first, second
            finally:
                await source.close()

        first, second = asyncio.run(go())
        first_day = server.first_day()
    assert first.written == 3 * 39 and second.written == 0 and second.already_stored == 3 * 39  # today is still running
    usdt = store.read(StablecoinSupply)
    usdt = [r for r in usdt if r.asset == "USDT"]
    assert [r.circulating_usd for r in usdt] == [supply_on("1", i) for i in range(39)]
    assert [r.ts_event for r in usdt] == [(first_day + (i + 1) * DAY) * S for i in range(39)]
    assert usdt[5].net_flow_usd == supply_on("1", 5) - supply_on("1", 4)
    assert max(r.ts_event for r in usdt) <= time.time_ns()


def test_dominance_snapshots_accumulate_once_per_coingecko_update(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("COINGECKO_API_KEY", raising=False)
    with StablecoinServer() as server:
        config = StablecoinsDataClientConfig(base_url=server.url, coingecko_url=server.url)
        store = AltDataStore(tmp_path)

        async def go() -> None:
            source = CoinGeckoDominanceSource(config, __import__("loguru").logger, Redactor())
            try:
                for _ in range(3):
                    await record_dominance_snapshot(store, source)
            finally:
                await source.close()

        asyncio.run(go())
    assert [r.percent for r in store.read(Dominance)] == [5.01, 5.02, 5.03]
