"""Shared parts of the run-file `sources:` node tests: the BTC replay run file, the local servers' settings, a
Coinalyze whose current funding follows a schedule in replay time, and the keys the tests hand the node."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from aiohttp import web
from nautilus_trader.model.data import Bar

from tests.adapters import recorder
from tests.adapters.coinalyze_server import CURRENT, CoinalyzeServer

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


def import_sample(folder: Path) -> Path:
    """A catalog holding the bundled real BTC-USDT-SWAP candles."""
    from ravebear.catalog.instruments import instrument_for
    from ravebear.catalog.store import RaveCatalog

    store = RaveCatalog(folder)
    store.import_file(SAMPLE, instrument_for("BTC-USDT-SWAP"))
    return store.path


def replay_bars(catalog: Path) -> list[Bar]:
    """The bars the replay hands the strategy, in order (bar number n is bars[n - 1])."""
    from ravebear.catalog.store import RaveCatalog

    return RaveCatalog(catalog).bars(BAR_TYPE, pd.Timestamp(START).value, pd.Timestamp(END).value)
