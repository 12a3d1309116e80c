"""`python -m tests.adapters.node_probe CATALOG`: a paper node from a run file whose Coinalyze key is refused.

The run file (tests/platform/node_sources.py) replays an hour of real BTC bars per second next to the three
`sources:`, pointed at local servers; Coinalyze's server wants another key than the one in COINALYZE_API_KEY
and answers 401, Whale Alert (WebSocket) and the stablecoin sources accept theirs. The node runs to the end
of the replay through `run_trading_node`, as `ravebear paper` does, with INFO logs on stdout. The last line
is `NODE-PROBE {json}`: what the recorder actor received per type, in all and after Coinalyze's last refused
request, the Coinalyze server's answers, the items replayed and the run folder. It runs in a child process so
the test sees nautilus's log output (written by Rust to fd 1) and the node's logger starts fresh.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import yaml

from tests.adapters import recorder
from tests.adapters.coinalyze_server import CoinalyzeServer
from tests.adapters.stablecoins_server import StablecoinServer
from tests.adapters.whale_alert_server import WhaleAlertServer
from tests.platform.node_sources import ALT_TYPES, KEYS, replay_bars, run_file, sources_section

REFUSED_SERVER_KEY = "the-key-coinalyze-wants"  # not COINALYZE_API_KEY's value: every request answers 401


def main() -> None:
    catalog = Path(sys.argv[1])
    os.environ.update(KEYS)
    from ravebear.platform.nodes.run_file import parse_run_file
    from ravebear.platform.nodes.trading import build_trading_node, run_trading_node

    folder = Path(tempfile.mkdtemp(prefix="node-probe-"))
    with (
        CoinalyzeServer(api_key=REFUSED_SERVER_KEY) as coinalyze,
        WhaleAlertServer(api_key=KEYS["WHALE_ALERT_API_KEY"]) as whale,
        StablecoinServer(api_key=KEYS["COINGECKO_API_KEY"]) as stable,
    ):
        raw = run_file(folder, replay_bars(catalog), sources_section(coinalyze.url, whale.url, stable.url), record="probe")
        raw["run"]["log_level"] = "INFO"
        text = yaml.safe_dump(raw)
        config = parse_run_file(text, "probe.yaml")
        handles = build_trading_node(config, "paper", catalog)
        recorder_actor = next(actor for actor in handles.node.trader.actors() if isinstance(actor, recorder.Recorder))
        outcome = run_trading_node(handles, config, text, folder / "runs", timeout_s=120)
        refused_at = max((hit.t for hit in coinalyze.hits if hit.status == 401), default=None)
        statuses = sorted({hit.status for hit in coinalyze.hits})
    received = [(type(r).__name__, t) for r, t in zip(recorder_actor.received, recorder_actor.arrivals, strict=True)]
    summary = {
        "sources": list(handles.sources),
        "received": {name: sum(n == name for n, _ in received) for name in ALT_TYPES},
        "after_refusal": {name: sum(n == name and refused_at is not None and t > refused_at for n, t in received) for name in ALT_TYPES},
        "coinalyze_requests": len(coinalyze.hits),
        "coinalyze_statuses": statuses,
        "items": outcome.items,
        "failure": outcome.failure,
        "run_dir": str(outcome.run_dir),
    }
    print("NODE-PROBE " + json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
