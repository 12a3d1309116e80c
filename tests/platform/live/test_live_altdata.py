"""`ravebear live --arm` at the local OKX venue with the run file's `sources:` pointed at the local Coinalyze, Whale Alert
and stablecoin servers (keys in the node's environment): the funding filter refuses the first scripted long on the
served rate, the test lowers the rate the server answers, and the second long is taken.

The venue plays real candles stamped from the current minute, and Coinalyze stamps current funding with the
server's wall-clock `update`, so bars and funding share one clock: the test switches the value between the entries.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml
from aiohttp import web

from tests.adapters.coinalyze_server import CURRENT, CoinalyzeServer
from tests.adapters.stablecoins_server import StablecoinServer
from tests.adapters.whale_alert_server import WhaleAlertServer
from tests.platform.node_sources import KEYS, SAMPLE, sources_section
from tests.platform.live.checks import venue_client_id
from tests.platform.live.harness import WINDOW_START, finish, start_live, start_venue, wait_for, write_config

FIRST_ENTRY, SECOND_ENTRY = 20, 60  # base bars of the two scripted longs: 10 s apart at 0.25 s a minute
HIGH_RATE, LOW_RATE, LIMIT = 0.0012, 0.0001, 0.0005


@dataclass
class SwitchableFunding(CoinalyzeServer):
    """Coinalyze whose current funding rate is `rate` (the test changes it while the node runs), stamped now."""

    rate: float = HIGH_RATE

    async def _current(self, request: web.Request) -> web.Response:
        if CURRENT[request.path] != "funding_rate":
            return await super()._current(request)
        now_ms = int(time.time() * 1000)
        rate = self.rate
        return await self.reply(request, [{"symbol": s, "value": rate, "update": now_ms} for s in request.query.get("symbols", "").split(",")])


def invalidation(bar: int) -> float:
    """1 % under the close of the venue's bar-th minute (real candles from WINDOW_START, gaps skipped)."""
    candles = pd.read_parquet(SAMPLE)
    closes = candles[candles["ts"] >= int(WINDOW_START.timestamp() * 1000)]["close"]
    return round(float(closes.iloc[bar - 1]) * 0.99, 1)


def wait_for_text(log: Path, text: str, timeout_s: float, proc) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        if log.exists() and text in log.read_text(errors="replace"):
            return True
        time.sleep(0.1)
    return False


def test_live_node_filter_refuses_then_allows_on_served_funding(tmp_path, monkeypatch):
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)  # start_live hands the node os.environ plus the OKX keys
    venue = start_venue()
    try:
        with (
            SwitchableFunding(api_key=KEYS["COINALYZE_API_KEY"]) as coinalyze,
            WhaleAlertServer(api_key=KEYS["WHALE_ALERT_API_KEY"]) as whale,
            StablecoinServer(api_key=KEYS["COINGECKO_API_KEY"]) as stable,
        ):
            entry_filter = {
                # funding decides; whale flow and USDT dominance make the node use the other two sources (never decisive here:
                # no net flow reaches 1e15 USD, and dominance has no row 24 h back, which missing_data: pass counts as agreeing)
                "conditions": ["funding", "whale_flow", "usdt_dominance"], "funding_max_abs": LIMIT, "whale_min_net_usd": 1e15,
                "missing_data": "pass",
            }  # fmt: skip
            entries = [[n, 1, invalidation(n)] for n in (FIRST_ENTRY, SECOND_ENTRY)]
            path = write_config(tmp_path, venue, entries=entries, strategy={"entry_filter": entry_filter})
            raw = yaml.safe_load(path.read_text())
            raw["sources"] = sources_section(coinalyze.url, whale.url, stable.url)
            path.write_text(yaml.safe_dump(raw, sort_keys=False))
            log = tmp_path / "live.log"
            proc = start_live(path, log)
            try:
                refused = wait_for_text(log, f"guard entry_filter blocked: scripted at bar {FIRST_ENTRY}:", 60, proc)
                coinalyze.rate = LOW_RATE
                filled = wait_for(venue, lambda v: len(v.ledger_view()["fills"]) >= 1, 60, proc)
                minutes_at_fill = venue.call(lambda: venue.venue.path.position)
            finally:
                run = finish(venue, proc, log)
            whale_subscriptions, stable_paths = len(whale.subscriptions), {hit.path for hit in stable.hits if hit.status == 200}
            funding_hits = [hit for hit in coinalyze.hits_to("/funding-rate") if hit.status == 200]
    finally:
        venue.stop()
    assert run.returncode == 0, run.output[-4000:]
    assert refused and filled, run.output[-4000:]
    assert "warning:" not in run.output  # every source had its key

    # the first long was refused on the served 0.12 %, nothing else was
    events = run.csv("guard_events.csv")
    blocked = events[events["guard"] == "entry_filter"]
    assert blocked["action"].tolist() == ["blocked"]
    detail = blocked["detail"].iloc[0]
    assert detail == f"scripted at bar {FIRST_ENTRY}: blocked long (2/3 agree, need all): funding +0.1200 % > +0.0500 %"
    # the second long, under the served 0.01 %, filled at the venue: the only entry, and the venue's first fill
    orders = run.csv("orders.csv")
    entries_made = orders[orders["tags"].fillna("").str.contains("risk=")]
    assert entries_made["tags"].str.contains(f"signal=scripted at bar {SECOND_ENTRY}'").tolist() == [True]
    assert entries_made["status"].tolist() == ["FILLED"]
    first_fill = run.ledger["fills"][0]
    assert venue_client_id(run.ledger, first_fill["ordId"]) == entries_made["client_order_id"].iloc[0] and first_fill["side"] == "buy"
    assert minutes_at_fill >= SECOND_ENTRY  # not filled before the second scripted bar had been played
    # all three sources were used: Coinalyze polled (many times, at 0.2 s), Whale Alert subscribed, CoinGecko asked for dominance
    assert len(funding_hits) >= 10
    assert whale_subscriptions >= 1
    assert "/global" in stable_paths, stable_paths
    for secret in KEYS.values():
        assert secret not in run.output
