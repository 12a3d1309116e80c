"""`python -m tests.adapters.node_probe [refused|accepted]`: a TradingNode built from YAML with the three adapters against local servers.

`refused` (the default): Coinalyze rejects the key; Whale Alert (WebSocket) and the stablecoin
sources serve data. `accepted`: all three servers accept their keys, and the node runs until the
recorder has every type (settled and predicted funding) or 8 s passed. Prints one JSON line
(`NODE-PROBE {...}`) with what the recorder actor received (counts, and in `accepted` mode the
first records of each type as dicts) and when the Coinalyze client stopped; the test reads it
and the node's log output.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

from tests.adapters.coinalyze_server import CoinalyzeServer
from tests.adapters.stablecoins_server import StablecoinServer
from tests.adapters.whale_alert_server import WhaleAlertServer

KEYS = {"COINALYZE_API_KEY": "rb-coinalyze-Zx81Qm3Tq", "WHALE_ALERT_API_KEY": "rb-whale-Pp20Lk7Wd", "COINGECKO_API_KEY": "rb-gecko-Hh55Rt0Ys"}
TYPES = {
    "OpenInterest": "COINALYZE", "FundingRate": "COINALYZE", "LongShortRatio": "COINALYZE", "Liquidation": "COINALYZE",
    "WhaleTransaction": "WHALE_ALERT", "StablecoinSupply": "STABLECOINS", "Dominance": "STABLECOINS",
}  # fmt: skip


def node_yaml(coinalyze: str, whale: str, stablecoins: str) -> dict:
    """Return the node file: the repo's paper_altdata.yaml with servers swapped in, OKX and sandbox left out."""
    fast = {"timeout_s": 1.0, "backoff_s": 0.05, "max_retries": 2, "rate_limit_calls": 1000, "rate_limit_period_s": 1.0}
    paths = {name: f"ravebear.catalog.alt_data.types:{name}" for name in TYPES}
    return {
        "node": {"trader_id": "PROBE-001", "log_level": "DEBUG", "timeout_connection_s": 5.0, "timeout_post_stop_s": 0.0, "timeout_disconnection_s": 2.0},
        "coinalyze": {"base_url": coinalyze, "poll_interval_s": 0.2, "live_interval": "1min", **fast},
        "whale_alert": {"base_url": whale, "ws_url": whale.replace("http", "ws") + "/ws", "reconnect_delay_s": 0.1, **fast},
        "stablecoins": {"base_url": stablecoins, "coingecko_url": stablecoins, "poll_interval_s": 0.2, **fast},
        "actors": [{
            "actor_path": "tests.adapters.recorder:Recorder", "config_path": "tests.adapters.recorder:RecorderConfig",
            "config": {"data_types": list(paths.values()), "client_id": "COINALYZE", "client_ids": {p: TYPES[n] for n, p in paths.items()}, "key": "node"},
        }],
    }  # fmt: skip


def received_everything(received: list) -> bool:
    """Return whether every type arrived, and funding both settled and predicted."""
    names = {type(r).__name__ for r in received}
    flavors = {r.predicted for r in received if type(r).__name__ == "FundingRate"}
    return names >= set(TYPES) and flavors == {False, True}


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "refused"
    if mode not in ("refused", "accepted"):
        sys.exit(f"unknown mode {mode!r}: refused or accepted")
    accepted = mode == "accepted"
    os.environ.update(KEYS)
    from ravebear.adapters.altdata_node import build_node

    coinalyze_key = KEYS["COINALYZE_API_KEY"] if accepted else "another-key"
    with CoinalyzeServer(api_key=coinalyze_key) as coinalyze, WhaleAlertServer(api_key=KEYS["WHALE_ALERT_API_KEY"]) as whale, StablecoinServer(api_key=KEYS["COINGECKO_API_KEY"]) as stable:
        path = Path(tempfile.mkdtemp()) / "node.yaml"
        path.write_text(yaml.safe_dump(node_yaml(coinalyze.url, whale.url, stable.url)))
        node = build_node(path)
        loop = node.kernel.loop
        clients = {client_id.value: client for client_id, client in node.kernel.data_engine._clients.items()}  # readonly attribute
        recorder = node.trader.actors()[0]
        stopped_at: list[float] = []
        hits_at_stop: list[int] = []

        async def run() -> None:
            task = asyncio.ensure_future(node.run_async())
            started = time.monotonic()
            while time.monotonic() - started < (8.0 if accepted else 3.0):
                if accepted and received_everything(recorder.received):
                    break
                if not stopped_at and clients["COINALYZE"].stopped_reason is not None:
                    stopped_at.append(time.monotonic())
                    hits_at_stop.append(len(coinalyze.hits))
                await asyncio.sleep(0.02)
            running = node.is_running()
            await node.stop_async()
            await asyncio.sleep(0.2)
            task.cancel()
            print("NODE-PROBE-RUNNING", running, flush=True)

        loop.run_until_complete(run())
        after = [type(r).__name__ for r, t in zip(recorder.received, recorder.arrivals, strict=True) if stopped_at and t > stopped_at[0]]
        summary = {
            "received": {name: sum(type(r).__name__ == name for r in recorder.received) for name in TYPES},
            "after_coinalyze_stopped": {name: after.count(name) for name in set(after)},
            "coinalyze_stopped": bool(stopped_at),
            "coinalyze_hits_after_stop": len(coinalyze.hits) - hits_at_stop[0] if hits_at_stop else None,
        }
        if accepted:  # the first records of each type, to compare with what the servers served
            summary["records"] = {name: [r.to_dict() for r in recorder.received if type(r).__name__ == name][:10] for name in TYPES}
        node.dispose()
    print("NODE-PROBE " + json.dumps(summary), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
