"""The history download commands as a user runs them: progress, summaries, resuming, and one-line errors.

The local servers follow the documented API formats (see each server module), not live captures.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from ravebear.adapters.common.rate_limit import reset_shared_rate_limiters
from ravebear.catalog.alt_data import AltDataStore, Dominance, FundingRate, OpenInterest, StablecoinSupply, WhaleTransaction
from ravebear.platform.cli.altdata import coinalyze_download, stablecoins_download, whale_alert_download
from tests.adapters.coinalyze_server import CoinalyzeServer
from tests.adapters.stablecoins_server import StablecoinServer
from tests.adapters.whale_alert_server import WhaleAlertServer

KEY = "rb-secret-7Hq2xWv9KpL4"


@pytest.fixture(autouse=True)
def fresh_budgets():
    reset_shared_rate_limiters()
    yield
    reset_shared_rate_limiters()


def since(seconds_ago: int) -> str:
    return str(int(time.time()) - seconds_ago)


def test_coinalyze_download_stores_rows_shows_progress_and_resumes(tmp_path: Path):
    runner = CliRunner()
    env = {"COINALYZE_API_KEY": KEY}
    args = ["-i", "BTC-USDT-SWAP.OKX", "-m", "open_interest", "-m", "funding_rate", "--interval", "5min", "--since", since(6 * 3600), "--points", "24", "--catalog", str(tmp_path)]
    with CoinalyzeServer(api_key=KEY) as server:
        first = runner.invoke(coinalyze_download, [*args, "--url", server.url], env=env)
        second = runner.invoke(coinalyze_download, [*args, "--url", server.url], env=env)
    assert first.exit_code == 0, first.output
    assert "coinalyze 5min open_interest, funding_rate (BTC-USDT-SWAP.OKX = BTCUSDT_PERP.3)" in first.stdout
    assert "window" in first.stderr and "100%" in first.stderr  # tqdm progress bar
    stored = AltDataStore(tmp_path)
    assert len(stored.read(OpenInterest, "BTC-USDT-SWAP.OKX")) == len(stored.read(FundingRate, "BTC-USDT-SWAP.OKX")) >= 71
    assert second.exit_code == 0 and ", 0 written," in second.stdout  # a rerun resumes at the stored end and adds nothing new


def test_coinalyze_download_without_a_key_names_the_variable(tmp_path: Path):
    done = CliRunner().invoke(coinalyze_download, ["--catalog", str(tmp_path), "--url", "http://127.0.0.1:9"], env={"COINALYZE_API_KEY": ""})
    assert done.exit_code == 1
    assert done.stderr.strip() == "error: Coinalyze needs an API key: set the environment variable COINALYZE_API_KEY"


def test_coinalyze_download_with_a_refused_key_is_one_clear_line(tmp_path: Path):
    with CoinalyzeServer(api_key="other") as server:
        done = CliRunner().invoke(coinalyze_download, ["--catalog", str(tmp_path), "--url", server.url, "--no-progress"], env={"COINALYZE_API_KEY": KEY})
    assert done.exit_code == 1
    assert done.stderr.strip().splitlines()[-1] == 'error: Coinalyze rejected the API key (HTTP 401: {"message": "Unauthorized"}); set COINALYZE_API_KEY to a valid key'
    assert KEY not in done.output


def test_whale_alert_download_with_tiers_and_min_value(tmp_path: Path):
    runner = CliRunner()
    with WhaleAlertServer(api_key=KEY) as server:
        args = ["--url", server.url, "--since", since(3000), "--min-value", "2000000", "--tier", "5e6", "--tier", "5e7", "--catalog", str(tmp_path)]
        done = runner.invoke(whale_alert_download, args, env={"WHALE_ALERT_API_KEY": KEY})
        again = runner.invoke(whale_alert_download, args, env={"WHALE_ALERT_API_KEY": KEY})
    assert done.exit_code == 0, done.output
    stored = AltDataStore(tmp_path).read(WhaleTransaction)
    assert stored and all(r.amount_usd >= 2e6 for r in stored)
    assert {r.tier for r in stored} == {0, 1, 2}  # 2.5M below 5M; 12M; 75M
    assert f", {len(stored)} written," in done.stdout and ", 0 written," in again.stdout
    assert "s/s" in done.stderr or "100%" in done.stderr


def test_stablecoins_download_supply_and_dominance(tmp_path: Path):
    runner = CliRunner()
    with StablecoinServer(days=30, api_key=KEY) as server:
        args = ["--url", server.url, "--coingecko-url", server.url, "--catalog", str(tmp_path), "--asset", "usdt"]
        done = runner.invoke(stablecoins_download, args, env={"COINGECKO_API_KEY": KEY})
    assert done.exit_code == 0, done.output
    assert "stablecoins USDT + ALL: 58 daily points, 58 written" in done.stdout
    assert "dominance: 1 new snapshot(s)" in done.stdout
    store = AltDataStore(tmp_path)
    assert {r.asset for r in store.read(StablecoinSupply)} == {"USDT", "ALL"}
    assert [r.asset for r in store.read(Dominance)] == ["USDT"]


def test_stablecoins_download_when_the_service_is_down_fails_after_retries(tmp_path: Path):
    from tests.adapters.local_server import Fault

    with StablecoinServer() as server:
        server.fail_next("/stablecoins", *[Fault("500")] * 2)
        done = CliRunner().invoke(stablecoins_download, ["--url", server.url, "--retries", "1", "--no-dominance", "--catalog", str(tmp_path)])
    assert done.exit_code == 1
    assert done.stderr.strip().splitlines()[-1] == "error: DefiLlama GET /stablecoins failed after 2 attempts: HTTP 500"
    assert "WARNING | DefiLlama GET /stablecoins: HTTP 500; retry 1/1 in" in done.stderr  # loguru, above the progress bar
