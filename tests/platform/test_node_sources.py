"""Paper nodes with the run file's `sources:` section: live Coinalyze, Whale Alert and stablecoin clients next to a
catalog replay, feeding the entry filter that decides the scripted strategy's entries.

The three local servers speak the real APIs. For a replay, the funding the filter reads must carry times inside
the replayed window: `ReplayClockFunding` serves a scheduled current funding rate, stamped with the schedule's
(historical) time once the replay has passed it (the recorder actor's latest bar tells how far the replay is).
The replay is paced (1 h of bars per second) so each poll lands long before the bar it should affect.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
import yaml
from aiohttp import web
from nautilus_trader.model.data import Bar

from ravebear.catalog.instruments import instrument_for
from ravebear.catalog.store import RaveCatalog
from ravebear.platform.nodes.run_file import parse_run_file
from ravebear.platform.nodes.trading import build_trading_node, run_trading_node
from tests.adapters import recorder
from tests.adapters.coinalyze_server import CURRENT, CoinalyzeServer
from tests.adapters.stablecoins_server import StablecoinServer
from tests.adapters.whale_alert_server import WhaleAlertServer

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample" / "okx_swap_BTC-USDT-SWAP_1m_20260727_20260822_gappy.parquet"
INSTRUMENT = "BTC-USDT-SWAP.OKX"
BAR_TYPE = f"{INSTRUMENT}-1-MINUTE-LAST-EXTERNAL"
START, END = "2026-07-27T12:00:00+00:00", "2026-07-27T18:00:00+00:00"
FIRST_ENTRY, SECOND_ENTRY = 150, 330  # base bar numbers of the two scripted longs (2.5 h and 5.5 h into the window)
HIGH_AT, LOW_AT = 30, 240  # bar numbers whose close time stamps the served rates: 0.12 % before the first entry, 0.01 % before the second
HIGH_RATE, LOW_RATE, LIMIT = 0.0012, 0.0001, 0.0005
KEYS = {"COINALYZE_API_KEY": "rb-coinalyze-Zx81Qm3Tq", "WHALE_ALERT_API_KEY": "rb-whale-Pp20Lk7Wd", "COINGECKO_API_KEY": "rb-gecko-Hh55Rt0Ys"}
ALT_TYPES = {
    "OpenInterest": "COINALYZE", "FundingRate": "COINALYZE", "LongShortRatio": "COINALYZE", "Liquidation": "COINALYZE",
    "WhaleTransaction": "WHALE_ALERT", "StablecoinSupply": "STABLECOINS", "Dominance": "STABLECOINS",
}  # fmt: skip
EXITS = {"min_stop_bps": 30.0, "max_stop_bps": 500.0, "take_profits": [{"r": 2.0}]}


@dataclass
class ReplayClockFunding(CoinalyzeServer):
    """Coinalyze whose current funding rate (`/funding-rate`) follows a schedule in replay time.

    `schedule`: (update ms, rate) rows; a request answers the latest row at or before `replay_ms()` (the
    newest bar the node has seen), with that row's time as `update`, or an empty list before the first.
    """

    schedule: list[tuple[int, float]] = field(default_factory=list)
    replay_ms: Callable[[], int | None] = lambda: None

    async def _current(self, request: web.Request) -> web.Response:
        if CURRENT[request.path] != "funding_rate":
            return await super()._current(request)
        now = self.replay_ms()
        rows = [row for row in self.schedule if now is not None and row[0] <= now]
        symbols = request.query.get("symbols", "").split(",")
        return await self.reply(request, [{"symbol": s, "value": rows[-1][1], "update": rows[-1][0]} for s in symbols] if rows else [])


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Path:
    store = RaveCatalog(tmp_path_factory.mktemp("catalog"))
    store.import_file(SAMPLE, instrument_for("BTC-USDT-SWAP"))
    return store.path


@pytest.fixture(scope="module")
def bars(catalog) -> list[Bar]:
    """The bars the replay hands the strategy, in order (bar number n is bars[n - 1])."""
    return RaveCatalog(catalog).bars(BAR_TYPE, pd.Timestamp(START).value, pd.Timestamp(END).value)


def sources_section(coinalyze: str | None, whale: str, stablecoins: str) -> dict:
    fast = {"timeout_s": 2.0, "backoff_s": 0.05, "max_retries": 2, "rate_limit_calls": 1000, "rate_limit_period_s": 1.0}
    section = {
        "whale_alert": {"base_url": whale, "ws_url": whale.replace("http", "ws") + "/ws", "reconnect_delay_s": 0.1, **fast},
        "stablecoins": {"base_url": stablecoins, "coingecko_url": stablecoins, "poll_interval_s": 0.2, **fast},
    }
    if coinalyze is not None:
        section["coinalyze"] = {"base_url": coinalyze, "instrument_ids": [INSTRUMENT], "poll_interval_s": 0.2, "live_interval": "1min", **fast}
    return section


def run_file(folder: Path, bars: list[Bar], sources: dict, missing_data: str = "pass", speed: float = 3600.0, record: str | None = None) -> dict:
    """A paper replay of BTC 12:00-18:00 with the scripted strategy: longs at FIRST_ENTRY and SECOND_ENTRY, funding filter on."""
    entries = [[n, 1, round(bars[n - 1].close.as_double() * 0.99, 1)] for n in (FIRST_ENTRY, SECOND_ENTRY)]
    raw = {
        "run": {"name": "sources", "output_dir": str(folder / "runs"), "log_level": "ERROR", "tearsheet": False, "risk_report": False},
        "venue": {"name": "OKX", "starting_balance": "10000 USDT", "default_leverage": 10},
        "data": [{"instrument_id": INSTRUMENT, "start": START, "end": END}],
        "strategies": [{
            "strategy_path": "tests.scripted_strategy:ScriptedEntries",
            "config": {
                "instrument_id": INSTRUMENT, "timeframes": ["1m"], "entries": entries, "risk_per_trade_pct": 0.5, "max_leverage": 3.0,
                "exits": EXITS, "entry_filter": {"conditions": ["funding"], "funding_max_abs": LIMIT, "missing_data": missing_data},
            },
        }],
        "node": {"data": "replay", "speed": speed, "dashboard": False, "stop_action": "flatten"},
        "sources": sources,
    }  # fmt: skip
    if record is not None:
        paths = {f"ravebear.catalog.alt_data.types:{name}": client for name, client in ALT_TYPES.items()}
        raw["actors"] = [{
            "actor_path": "tests.adapters.recorder:Recorder", "config_path": "tests.adapters.recorder:RecorderConfig",
            "config": {"data_types": list(paths), "client_id": "COINALYZE", "client_ids": paths, "key": record, "bar_types": [BAR_TYPE]},
        }]  # fmt: skip
    return raw


def latest_bar_ms(key: str) -> Callable[[], int | None]:
    def now() -> int | None:
        received = recorder.RECEIVED.get(key, [])
        for item in reversed(received[-50:]):
            if isinstance(item, Bar):
                return item.ts_event // 1_000_000
        return None

    return now


def entries_of(folder: Path) -> pd.DataFrame:
    orders = pd.read_csv(folder / "orders.csv")
    return orders[orders["tags"].fillna("").str.contains("risk=")]


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
        capture_output=True, text=True, cwd=cwd, timeout=300, env={**env, "PYTHONPATH": str(REPO)},
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
