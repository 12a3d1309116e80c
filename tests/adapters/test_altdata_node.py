"""The paper node YAML: it builds offline with dummy credentials, names bad keys and missing variables,
and a node with all three adapters keeps running when one of them is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ravebear.adapters.altdata_node import NodeFileError, build_node, build_trading_node_config

REPO = Path(__file__).resolve().parents[2]
PAPER = REPO / "config" / "paper_altdata.yaml"
DUMMY = {name: f"dummy-{name.lower()}" for name in ("OKX_API_KEY", "OKX_API_SECRET", "OKX_API_PASSPHRASE", "COINALYZE_API_KEY", "WHALE_ALERT_API_KEY")}


def test_paper_config_builds_a_node_offline_with_dummy_credentials(monkeypatch: pytest.MonkeyPatch):
    for name, value in DUMMY.items():
        monkeypatch.setenv(name, value)
    config = build_trading_node_config(PAPER)
    assert set(config.data_clients) == {"OKX", "COINALYZE", "WHALE_ALERT", "STABLECOINS"}
    assert set(config.exec_clients) == {"OKX"}
    coinalyze = config.data_clients["COINALYZE"]
    assert coinalyze.instrument_ids == ("BTC-USDT-SWAP.OKX", "ETH-USDT-SWAP.OKX", "SOL-USDT-SWAP.OKX")
    assert config.data_clients["WHALE_ALERT"].tiers_usd == (1e6, 1e7, 5e7)
    text = config.json().decode()
    assert not any(value in text for value in DUMMY.values())  # no secret in the node config
    node = build_node(PAPER)
    try:
        assert node.is_built()
        assert sorted(c.value for c in node.kernel.data_engine.registered_clients) == ["COINALYZE", "OKX", "STABLECOINS", "WHALE_ALERT"]
    finally:
        node.dispose()


def test_missing_credentials_name_the_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    for name in DUMMY:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(NodeFileError, match="OKX_API_KEY, OKX_API_SECRET, OKX_API_PASSPHRASE"):
        build_node(PAPER)
    only_coinalyze = tmp_path / "node.yaml"
    only_coinalyze.write_text(yaml.safe_dump({"coinalyze": {"instrument_ids": ["BTC-USDT-SWAP.OKX"]}}))
    with pytest.raises(Exception, match="set the environment variable COINALYZE_API_KEY"):
        build_node(only_coinalyze)


def test_unknown_keys_are_errors_that_name_the_key(tmp_path: Path):
    path = tmp_path / "node.yaml"
    path.write_text(yaml.safe_dump({"whale_alert": {"min_value": 1}}))
    with pytest.raises(NodeFileError, match="whale_alert: Object contains unknown field `min_value`"):
        build_trading_node_config(path)
    path.write_text(yaml.safe_dump({"node": {"trader": "X"}}))
    with pytest.raises(NodeFileError, match="node.trader: Extra inputs are not permitted"):
        build_trading_node_config(path)
    path.write_text(yaml.safe_dump({"coinalyze": {"api_key": "secret-in-yaml"}}))
    with pytest.raises(NodeFileError, match="unknown field `api_key`"):  # secrets are never read from files
        build_trading_node_config(path)


def test_node_keeps_running_when_one_adapter_is_refused_and_logs_no_key():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "tests.adapters.node_probe"], capture_output=True, text=True, cwd=REPO, env=env, timeout=90)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    summary = json.loads(done.stdout.split("NODE-PROBE ", 1)[1].splitlines()[0])
    assert "NODE-PROBE-RUNNING True" in done.stdout  # still running at the end
    assert summary["coinalyze_stopped"] and summary["coinalyze_hits_after_stop"] == 0
    assert all(summary["received"][name] == 0 for name in ("OpenInterest", "FundingRate", "LongShortRatio", "Liquidation"))
    assert summary["after_coinalyze_stopped"].get("WhaleTransaction", 0) > 5  # the other clients went on
    assert summary["after_coinalyze_stopped"].get("Dominance", 0) > 2 and summary["received"]["StablecoinSupply"] == 3
    refused = [line for line in output.splitlines() if "[ERROR]" in line and "COINALYZE_API_KEY" in line]
    assert len(refused) == 1 and "Coinalyze polling stopped, the node keeps running" in refused[0]
    from tests.adapters.node_probe import KEYS

    assert not any(key in output for key in KEYS.values())


def test_node_receives_every_type_live_from_the_local_servers():
    from tests.adapters.coinalyze_server import value
    from tests.adapters.node_probe import KEYS, TYPES
    from tests.adapters.stablecoins_server import fixture as stablecoin_fixture
    from tests.adapters.whale_alert_server import USD_VALUES

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "tests.adapters.node_probe", "accepted"], capture_output=True, text=True, cwd=REPO, env=env, timeout=90)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    summary = json.loads(done.stdout.split("NODE-PROBE ", 1)[1].splitlines()[0])
    assert "NODE-PROBE-RUNNING True" in done.stdout and not summary["coinalyze_stopped"]
    assert all(summary["received"][name] > 0 for name in TYPES), summary["received"]
    records = summary["records"]
    S = 1_000_000_000

    # Coinalyze: current open interest and funding (settled and predicted) at the update time, closed 1min rows
    for r in records["OpenInterest"]:
        assert r["instrument_id"] == "BTC-USDT-SWAP.OKX" and r["usd"] and r["interval_s"] == 0
        assert r["close"] == value(r["symbol"], "open_interest", r["ts_event"] // S)["c"]
    funding = records["FundingRate"]
    assert {r["predicted"] for r in funding} == {False, True}
    for r in funding:
        assert r["close"] == value(r["symbol"], "predicted_funding_rate" if r["predicted"] else "funding_rate", r["ts_event"] // S)["c"]
    for r in records["Liquidation"]:
        row = value(r["symbol"], "liquidations", r["ts_event"] // S - r["interval_s"])  # stamped at the interval's end
        assert r["interval_s"] == 60 and (r["long_liquidations"], r["short_liquidations"]) == (row["l"], row["s"])
    for r in records["LongShortRatio"]:
        row = value(r["symbol"], "long_short_ratio", r["ts_event"] // S - r["interval_s"])
        assert (r["ratio"], r["long_percent"], r["short_percent"]) == (row["r"], row["l"], row["s"])

    # Whale Alert WebSocket: the index-th alert moves USD_VALUES[1 + index % 3] USDT worth that plus index USD
    whales = [r for r in records["WhaleTransaction"] if r["source"] == "websocket"]
    assert whales
    for r in whales:
        index = round(r["amount_usd"] - r["amount"])
        assert index >= 0 and r["amount"] == USD_VALUES[1 + index % 3] and r["symbol"] == "usdt", r

    # DefiLlama /stablecoins (fixture) and CoinGecko /global (USDT share moved by 0.01 per answer)
    pegged = {a["symbol"]: a for a in stablecoin_fixture("http_get_stablecoins.json")["peggedAssets"]}
    supply = {r["asset"]: r for r in records["StablecoinSupply"]}
    for asset in ("USDT", "USDC"):
        circulating, previous = pegged[asset]["circulating"]["peggedUSD"], pegged[asset]["circulatingPrevDay"]["peggedUSD"]
        assert supply[asset]["circulating_usd"] == circulating and supply[asset]["net_flow_usd"] == circulating - previous
    assert "ALL" in supply
    for r in records["Dominance"]:
        steps = round((r["percent"] - 5.0) * 100)
        assert r["asset"] == "USDT" and steps >= 1 and r["percent"] == round(5.0 + steps / 100, 2)

    assert not any(key in output for key in KEYS.values())
