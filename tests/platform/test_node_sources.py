"""Paper nodes with the run file's `sources:` section: live Coinalyze, Whale Alert and stablecoin clients next to a
catalog replay, feeding the entry filter that decides the scripted strategy's entries.

The three local servers speak the real APIs. For a replay, the funding the filter reads must carry times inside
the replayed window: `ReplayClockFunding` serves a scheduled current funding rate, stamped with the schedule's
(historical) time once the replay has passed it (the recorder actor's latest bar tells how far the replay is).
The replay is paced (1 h of bars per second) so each poll lands long before the bar it should affect.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from nautilus_trader.model.data import Bar

from ravebear.platform.nodes.run_file import parse_run_file
from ravebear.platform.nodes.trading import build_trading_node, run_trading_node
from tests.adapters import recorder
from tests.adapters.coinalyze_server import CoinalyzeServer
from tests.adapters.stablecoins_server import StablecoinServer
from tests.adapters.whale_alert_server import WhaleAlertServer
from tests.platform.node_sources import (
    ALT_TYPES,
    FIRST_ENTRY,
    HIGH_AT,
    HIGH_RATE,
    INSTRUMENT,
    KEYS,
    LOW_AT,
    LOW_RATE,
    REPO,
    SECOND_ENTRY,
    ReplayClockFunding,
    entries_of,
    import_sample,
    latest_bar_ms,
    replay_bars,
    run_file,
    sources_section,
)  # fmt: skip


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Path:
    return import_sample(tmp_path_factory.mktemp("catalog"))


@pytest.fixture(scope="module")
def bars(catalog) -> list[Bar]:
    return replay_bars(catalog)


def test_paper_replay_filter_refuses_then_allows_on_served_funding(tmp_path, catalog, bars, monkeypatch):
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    high_ms, low_ms = (bars[n - 1].ts_event // 1_000_000 for n in (HIGH_AT, LOW_AT))
    key = f"sources-{time.monotonic_ns()}"
    funding = ReplayClockFunding(api_key=KEYS["COINALYZE_API_KEY"], schedule=[(high_ms, HIGH_RATE), (low_ms, LOW_RATE)], replay_ms=latest_bar_ms(key))
    with funding as coinalyze, WhaleAlertServer(api_key=KEYS["WHALE_ALERT_API_KEY"]) as whale, StablecoinServer(api_key=KEYS["COINGECKO_API_KEY"]) as stable:
        raw = run_file(tmp_path, bars, sources_section(coinalyze.url, whale.url, stable.url), record=key)
        text = yaml.safe_dump(raw)
        config = parse_run_file(text, "sources.yaml")
        handles = build_trading_node(config, "paper", catalog, log_level="ERROR")
        assert handles.sources == ("COINALYZE", "WHALE_ALERT", "STABLECOINS") and handles.warnings == ()
        outcome = run_trading_node(handles, config, text, tmp_path / "runs", timeout_s=120)
    assert outcome.failure is None and outcome.run_dir is not None
    assert outcome.items == len(bars) == 355  # the whole window replayed (6 h less 5 minutes missing in the real data)

    # every alternative-data type arrived from its server
    received = recorder.RECEIVED[key]
    counts = {name: sum(type(r).__name__ == name for r in received) for name in ALT_TYPES}
    assert min(counts.values()) >= 1, counts
    # the settled funding the filter reads: exactly the two served rows, with the served times and rates
    settled = [(r.ts_event // 1_000_000, r.close) for r in received if type(r).__name__ == "FundingRate" and not r.predicted]
    assert settled == [(high_ms, HIGH_RATE), (low_ms, LOW_RATE)]
    assert all(str(r.instrument_id) == INSTRUMENT for r in received if type(r).__name__ == "FundingRate")

    # the first long was refused on the 0.12 % rate, the second taken under the 0.01 % one
    events = pd.read_csv(outcome.run_dir / "guard_events.csv")
    refused = events[events["guard"] == "entry_filter"]
    assert refused[["action", "instrument_id"]].values.tolist() == [["blocked", INSTRUMENT]]
    assert refused["detail"].iloc[0] == f"scripted at bar {FIRST_ENTRY}: blocked long (0/1 agree, need all): funding +0.1200 % > +0.0500 %"
    assert pd.Timestamp(refused["ts"].iloc[0]).value == bars[FIRST_ENTRY - 1].ts_event
    entries = entries_of(outcome.run_dir)
    assert len(entries) == 1 and entries["side"].iloc[0] == "BUY" and entries["status"].iloc[0] == "FILLED"
    assert f"signal=scripted at bar {SECOND_ENTRY}" in entries["tags"].iloc[0]
    bar = bars[SECOND_ENTRY - 1]
    # filled on that bar (replay time) at its close
    assert int(entries["ts_last"].iloc[0]) == bar.ts_event and entries["avg_px"].iloc[0] == bar.close.as_double()


def paper_cli(run_file_path: Path, catalog: Path, cwd: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    """`ravebear paper` as a user runs it (cwd: a folder without .env, so only `env` holds keys)."""
    return subprocess.run(
        [sys.executable, "-m", "ravebear.platform.cli", "paper", str(run_file_path), "--catalog", str(catalog), "--no-dashboard", *extra],
        check=False, capture_output=True, text=True, cwd=cwd, timeout=300, env={**env, "PYTHONPATH": str(REPO)},
    )  # fmt: skip


def test_missing_coinalyze_key_leaves_it_out_and_missing_data_block_refuses_every_entry(tmp_path, catalog, bars):
    env = {k: v for k, v in os.environ.items() if k not in KEYS}
    env.update(WHALE_ALERT_API_KEY=KEYS["WHALE_ALERT_API_KEY"], COINGECKO_API_KEY=KEYS["COINGECKO_API_KEY"])
    with CoinalyzeServer(api_key=KEYS["COINALYZE_API_KEY"]) as coinalyze, WhaleAlertServer(api_key=KEYS["WHALE_ALERT_API_KEY"]) as whale, \
            StablecoinServer(api_key=KEYS["COINGECKO_API_KEY"]) as stable:  # fmt: skip
        raw = run_file(tmp_path, bars, sources_section(coinalyze.url, whale.url, stable.url), missing_data="block", speed=0.0)
        raw["run"]["log_level"] = "INFO"  # the most output a key could leak into
        path = tmp_path / "sources.yaml"
        path.write_text(yaml.safe_dump(raw))
        done = paper_cli(path, catalog, tmp_path, env, "--timeout", "120")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    warning = (
        "warning: sources.coinalyze: COINALYZE_API_KEY is not set (environment or .env), so Coinalyze is left out; "
        "the entry filter's missing_data policy applies to OpenInterest, FundingRate, LongShortRatio, Liquidation"
    )
    assert [line for line in done.stderr.splitlines() if line.startswith("warning:")] == [warning]
    assert coinalyze.hits == []  # no client was built for it: not one request
    # the node built the two sources whose keys are set, and no Coinalyze client
    built = sorted(line.rsplit(" ", 1)[1] for line in done.stdout.splitlines() if "TradingNode: Building data client for " in line)
    assert built == ["REPLAY", "STABLECOINS", "WHALE_ALERT"]

    folder = Path(done.stdout.split("run folder:")[1].split()[0])
    assert folder.is_dir() and folder.parent == tmp_path / "runs"
    # missing_data: block: the funding condition had no rate, so both scripted longs were refused as missing
    events = pd.read_csv(folder / "guard_events.csv")
    refused = events[events["guard"] == "entry_filter"]
    assert refused["detail"].tolist() == [
        f"scripted at bar {n}: blocked long (0/1 agree, need all): funding: no rate for {INSTRUMENT}" for n in (FIRST_ENTRY, SECOND_ENTRY)
    ]
    assert [pd.Timestamp(ts).value for ts in refused["ts"]] == [bars[n - 1].ts_event for n in (FIRST_ENTRY, SECOND_ENTRY)]
    assert pd.read_csv(folder / "orders.csv").empty
    # no key value in any output or file of the run folder
    files = {p.name: p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file()}
    assert "config.yaml" in files and "guard_events.csv" in files
    for secret in KEYS.values():
        assert secret not in output
        assert not [name for name, text in files.items() if secret in text]


def test_refused_coinalyze_key_one_error_node_runs_on_and_the_other_sources_publish(tmp_path, catalog):
    """tests/adapters/node_probe.py in a child process: Coinalyze answers 401 to the key it is given."""
    from tests.adapters.node_probe import REFUSED_SERVER_KEY

    done = subprocess.run(
        [sys.executable, "-m", "tests.adapters.node_probe", str(catalog)],
        check=False, capture_output=True, text=True, cwd=tmp_path, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    # raw_decode: nautilus's logger (its own thread) may append a line to the probe's before the newline lands
    summary, _ = json.JSONDecoder().raw_decode(done.stdout.split("NODE-PROBE ", 1)[1])
    # exactly one ERROR, naming the variable to fix; the client stops asking (one request in the whole run)
    errors = [line.split("] ", 1)[1] for line in output.splitlines() if "[ERROR]" in line]
    refusal = (
        'RAVEBEAR-001.DataClient-COINALYZE: Coinalyze rejected the API key (HTTP 401: {"message": "Unauthorized"}); '
        "set COINALYZE_API_KEY to a valid key; Coinalyze polling stopped, the node keeps running"
    )
    assert errors == [refusal]
    assert summary["coinalyze_requests"] == 1 and summary["coinalyze_statuses"] == [401]
    # the node kept running: the whole replay, no failure, a run folder; missing funding passed, so the first long filled
    assert summary["sources"] == ["COINALYZE", "WHALE_ALERT", "STABLECOINS"]
    assert summary["items"] == 355 and summary["failure"] is None
    folder = Path(summary["run_dir"])
    assert "entry_filter" not in set(pd.read_csv(folder / "guard_events.csv")["guard"])
    entries = entries_of(folder)
    assert entries["tags"].str.contains(f"signal=scripted at bar {FIRST_ENTRY}'").tolist() == [True] and entries["status"].tolist() == ["FILLED"]
    # Coinalyze published nothing; Whale Alert and the stablecoin sources published after the refusal
    assert [summary["received"][name] for name in ("OpenInterest", "FundingRate", "LongShortRatio", "Liquidation")] == [0, 0, 0, 0]
    assert min(summary["received"][name] for name in ("WhaleTransaction", "StablecoinSupply", "Dominance")) >= 1, summary
    # the polling clients went on after the refusal (the daily supply series has nothing new after its first poll,
    # so it alone may have arrived before the 401)
    assert summary["after_refusal"]["WhaleTransaction"] + summary["after_refusal"]["Dominance"] >= 1, summary
    # no key value (the one refused included) in the output or the run folder
    files = {p.name: p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file()}
    for secret in [*KEYS.values(), REFUSED_SERVER_KEY]:
        assert secret not in output
        assert not [name for name, text in files.items() if secret in text]
