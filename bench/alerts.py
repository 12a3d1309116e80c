"""Discord alerts: delivery latency, a 500-alert burst, and what sending costs the node's data path.

Run from the repo root (it prints numbers; it is not a test)::

    .venv/bin/python -m bench.alerts

Against the local Discord of the tests (tests/discord_webhook_server.py, 127.0.0.1), alerts built from the
bundled real BTC candles:
- delivery: 30 alerts, 0.45 s apart (inside 5 per 2 s): submit -> arrival at the webhook; target p99 < 1 s;
- burst: 500 alerts at once while the server allows only 3 per 2 s (stricter than the documented 5, so the
  client must learn it from the headers): how many were sent alone, merged into digests or dead-lettered
  (lost must be 0) and the longest run of consecutive 429s (target <= 1);
- data path: the AlertActor's handler timed per level event on the node's thread (build the alert and hand
  it to the sender thread), over a week of real BTC level events; target p99 < 0.1 ms.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np

from ravebear.adapters.discord.alerts import Alert
from ravebear.adapters.discord.clients import webhook_clients
from ravebear.adapters.discord.dead_letter import DeadLetters
from ravebear.adapters.discord.dispatcher import AlertDispatcher
from ravebear.adapters.discord.routing import Routes

DELIVERY_TARGET_S = 1.0
PATH_TARGET_MS = 0.1


class _Log:
    def info(self, message: str) -> None:
        pass

    warning = error = info


def _dispatcher(server, folder: Path) -> AlertDispatcher:
    from tests.discord_webhook_server import DiscordWebhookServer  # noqa: F401 - the server type

    clients, _ = webhook_clients({"btc-15m": "DISCORD_WEBHOOK_BTC"}, _Log(), {"DISCORD_WEBHOOK_BTC": server.url_for("111")})
    dispatcher = AlertDispatcher(Routes(symbols={"BTC": "btc-15m"}), clients, DeadLetters(folder / "dead.jsonl"), _Log(), cooldown_s=0, digest_after=3)
    dispatcher.start()
    return dispatcher


def delivery(alerts: list[Alert], folder: Path) -> dict:
    from tests.discord_webhook_server import DiscordWebhookServer

    with DiscordWebhookServer(webhooks={"111": ("tok-bench-aaaa", "c-btc")}) as server:
        dispatcher = _dispatcher(server, folder)
        submitted = []
        for alert in alerts[:30]:
            submitted.append(time.monotonic())
            dispatcher.submit(alert)
            time.sleep(0.45)
        dispatcher.close()
        arrivals = [r.t for r in server.received]
    latencies = [a - s for a, s in zip(arrivals, submitted)]
    figures = {"count": len(latencies), "p50_s": statistics.median(latencies), "p99_s": float(np.percentile(latencies, 99)), "max_s": max(latencies)}
    print(f"delivery: {figures['count']} alerts, submit -> webhook p50 {figures['p50_s'] * 1000:.1f} ms, p99 {figures['p99_s'] * 1000:.1f} ms, "
          f"max {figures['max_s'] * 1000:.1f} ms   (target p99 < {DELIVERY_TARGET_S:g} s)")
    return figures


def burst(alerts: list[Alert], folder: Path) -> dict:
    from tests.discord_webhook_server import DiscordWebhookServer

    with DiscordWebhookServer(webhooks={"111": ("tok-bench-aaaa", "c-btc")}, bucket_calls=3) as server:
        dispatcher = _dispatcher(server, folder)
        started = time.monotonic()
        for alert in alerts[:500]:
            dispatcher.submit(alert)
        deadline = started + 60
        while time.monotonic() < deadline:
            delivered = sum(len(e["fields"]) if e["title"].endswith("digest") else 1 for r in server.received for e in r.payload["embeds"])
            if delivered >= 500:
                break
            time.sleep(0.05)
        took = time.monotonic() - started
        stats = dispatcher.close()
        statuses = [s for _, _, s in server.statuses]
    run = longest = 0
    for status in statuses:
        run = run + 1 if status == 429 else 0
        longest = max(longest, run)
    lost = 500 - stats.alerts_sent - stats.dead_lettered
    figures = {"alerts": 500, "seconds": took, "messages": stats.messages, "alone": stats.alerts_sent - stats.merged, "merged": stats.merged,
               "dead_lettered": stats.dead_lettered, "lost": lost, "http_429": statuses.count(429), "longest_429_run": longest}
    print(f"burst: 500 alerts in {took:.2f} s as {stats.messages} messages ({figures['alone']} alone, {stats.merged} in digests), "
          f"{stats.dead_lettered} dead-lettered, {lost} lost; {figures['http_429']} HTTP 429, longest run {longest}   (target: 0 lost, run <= 1)")
    return figures


def data_path(folder: Path) -> dict:
    """Time the AlertActor's handler per real level event, sending to a local Discord."""
    from nautilus_trader.model.identifiers import InstrumentId

    from ravebear.platform.alerts.actor import AlertActor, AlertActorConfig
    from ravebear.platform.alerts.builders import level_alert
    from ravebear.strategies.level_actor import to_data
    from ravebear.strategies.levels.engine import LevelEngine, LevelEngineConfig
    from tests.discord_webhook_server import DiscordWebhookServer

    import pandas as pd

    bars = pd.read_parquet(Path(__file__).resolve().parents[1] / "data/sample/okx_swap_BTC-USDT-SWAP_1m_20260727_20260822_gappy.parquet").head(10_080)
    engine = LevelEngine(LevelEngineConfig())
    instrument = InstrumentId.from_str("BTC-USDT-SWAP.OKX")
    events = []
    for row in bars.itertuples():
        events += [to_data(instrument, e) for e in engine.on_candle("1m", row.open, row.high, row.low, row.close, row.volume, (int(row.ts) + 60_000) * 1_000_000)]
    with DiscordWebhookServer(webhooks={"111": ("tok-bench-aaaa", "c-btc")}) as server:
        clients, _ = webhook_clients({"btc-15m": "DISCORD_WEBHOOK_BTC"}, _Log(), {"DISCORD_WEBHOOK_BTC": server.url_for("111")})
        actor = AlertActor(AlertActorConfig(channels={"btc-15m": "DISCORD_WEBHOOK_BTC"}, symbols={"BTC": "btc-15m"}))
        actor.dispatcher = AlertDispatcher(actor.routes, clients, DeadLetters(folder / "dead.jsonl"), _Log(), 300, 3)
        actor.dispatcher.start()
        with_alerts, without = [], []
        for data in events:
            t0 = time.perf_counter_ns()
            actor.on_data(data)
            with_alerts.append(time.perf_counter_ns() - t0)
            t0 = time.perf_counter_ns()
            level_alert(data)  # what the node would do anyway to look at the event: the reference
            without.append(time.perf_counter_ns() - t0)
        actor.dispatcher.close(5)
    ms = np.array(with_alerts) / 1e6
    ref = np.array(without) / 1e6
    figures = {"events": len(events), "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)), "max_ms": float(ms.max()),
               "build_only_p99_ms": float(np.percentile(ref, 99))}
    print(f"data path: {len(events)} level events, AlertActor handler p50 {figures['p50_ms'] * 1000:.1f} µs, p99 {figures['p99_ms'] * 1000:.1f} µs "
          f"(building the alert alone p99 {figures['build_only_p99_ms'] * 1000:.1f} µs)   (target p99 < {PATH_TARGET_MS:g} ms)")
    return figures


def main(argv: list[str] | None = None) -> None:
    """Measure and print each figure beside its target."""
    argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0]).parse_args(argv)
    from tests.adapters.discord.conftest import bar_alerts

    alerts = bar_alerts(500)
    with TemporaryDirectory() as folder:
        delivery(alerts, Path(folder))
        burst(alerts, Path(folder))
        data_path(Path(folder))


if __name__ == "__main__":
    main()
