"""The composer: one run file to a backtest, paper or live node config; which sources run, where each strategy
subscribes its filter's data, and what the user is warned about before anything starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from ravebear.platform.nodes.composer import backtest_run_config, backtest_warnings, trading_node_plan
from ravebear.platform.nodes.run_file import RunFile, load_run_file

REPO = Path(__file__).resolve().parents[2]
OKX_ENV = {"OKX_API_KEY": "k", "OKX_API_SECRET": "s", "OKX_API_PASSPHRASE": "p"}


def live_file(**changes) -> RunFile:
    config, _ = load_run_file(REPO / "config" / "live.yaml")
    return RunFile.model_validate({**config.model_dump(), **changes})


def test_the_shipped_live_file_runs_all_three_sources_and_routes_each_type_to_its_client():
    plan = trading_node_plan(live_file(), "live", dashboard=False, environ={**OKX_ENV, "COINALYZE_API_KEY": "rb-cz-key-9Q2", "WHALE_ALERT_API_KEY": "rb-wa-key-7Z1"})
    assert plan.sources == ("COINALYZE", "WHALE_ALERT", "STABLECOINS") and plan.warnings == ()
    assert set(plan.config.data_clients) == {"OKX", "COINALYZE", "WHALE_ALERT", "STABLECOINS"}
    for strategy in plan.config.strategies:  # one copy per instrument, each told where its filter's data comes from
        routes = strategy.config["alt_data_clients"]
        assert {name: routes[name] for name in ("Dominance", "WhaleTransaction", "FundingRate", "LongShortRatio")} == {
            "Dominance": "STABLECOINS", "WhaleTransaction": "WHALE_ALERT", "FundingRate": "COINALYZE", "LongShortRatio": "COINALYZE",
        }  # fmt: skip
    text = plan.config.json().decode()
    assert "rb-cz-key-9Q2" not in text and "rb-wa-key-7Z1" not in text  # keys stay in the environment


def test_a_missing_key_leaves_its_source_out_with_one_warning_and_no_repeat_for_the_filter():
    plan = trading_node_plan(live_file(), "live", dashboard=False, environ={**OKX_ENV, "WHALE_ALERT_API_KEY": "w"})
    assert plan.sources == ("WHALE_ALERT", "STABLECOINS")
    assert plan.warnings == (
        "sources.coinalyze: COINALYZE_API_KEY is not set (environment or .env), so Coinalyze is left out; "
        "the entry filter's missing_data policy applies to OpenInterest, FundingRate, LongShortRatio, Liquidation",
    )
    assert "COINALYZE" not in plan.config.data_clients
    assert "FundingRate" not in plan.config.strategies[0].config["alt_data_clients"]


def test_a_filter_condition_no_source_serves_is_named_before_the_node_starts():
    plan = trading_node_plan(live_file(sources={"coinalyze": {}}), "paper", dashboard=False, environ={**OKX_ENV, "COINALYZE_API_KEY": "c"})
    assert plan.warnings == tuple(
        f"entry_filter: {condition} reads {name}, which nothing in this node serves (add a source under sources:, "
        "or alt_data.types for a backtest or replay); its missing_data policy decides every entry"
        for condition, name in (("usdt_dominance", "Dominance"), ("whale_flow", "WhaleTransaction"))
    )


def test_a_backtest_routes_catalog_data_to_the_filter_and_warns_about_what_it_lacks(tmp_path):
    raw = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    raw["strategies"][0]["config"]["entry_filter"] = {"conditions": ["funding", "crowding"]}
    raw["alt_data"] = {"types": ["FundingRate"]}
    config = RunFile.model_validate(raw)
    run_config = backtest_run_config(config, tmp_path)
    strategy = run_config.engine.strategies[0]
    assert strategy.config["alt_data_clients"] == {"FundingRate": "ALTDATA"}
    assert [d.data_cls for d in run_config.data].count("ravebear.catalog.alt_data.types:FundingRate") == 3  # one per instrument
    assert backtest_warnings(config) == (
        "entry_filter: crowding reads LongShortRatio, which nothing in this node serves (add a source under sources:, "
        "or alt_data.types for a backtest or replay); its missing_data policy decides every entry",
    )


def test_ravebear_backtest_prints_the_warning_and_runs(tmp_path):
    raw = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    raw["run"].update(output_dir=str(tmp_path / "runs"), tearsheet=False, risk_report=False)
    raw["data"] = [{"instrument_id": "BTC-USDT-SWAP.OKX", "start": "2026-07-28", "end": "2026-07-29"}]
    raw["strategies"][0]["instruments"] = {"BTC-USDT-SWAP.OKX": {}}
    raw["strategies"][0]["config"]["entry_filter"] = {"conditions": ["funding"], "missing_data": "block"}
    path = tmp_path / "funding.yaml"
    path.write_text(yaml.safe_dump(raw))
    catalog = tmp_path / "catalog"
    subprocess.run([sys.executable, "-m", "ravebear.platform.cli", "catalog", "import-sample", "--catalog", str(catalog)], check=True, capture_output=True, cwd=REPO)
    done = subprocess.run([sys.executable, "-m", "ravebear.platform.cli", "backtest", str(path), "--catalog", str(catalog)], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    assert [line for line in done.stderr.splitlines() if line.startswith("warning:")] == [
        "warning: entry_filter: funding reads FundingRate, which nothing in this node serves (add a source under sources:, "
        "or alt_data.types for a backtest or replay); its missing_data policy decides every entry",
    ]
    guard_events = next((tmp_path / "runs").glob("*/guard_events.csv")).read_text()
    assert guard_events.count("funding: no rate for BTC-USDT-SWAP.OKX") >= 1  # and the policy blocked as the warning said
