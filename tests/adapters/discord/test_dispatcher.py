"""The dispatcher against a local Discord: routing, cooldown, digests under a burst, the high-confidence tier,
dead letters replayed on the next start, and a `submit` that never waits."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from ravebear.adapters.common.http import RetryPolicy
from ravebear.adapters.discord.alerts import Alert, AlertKind
from ravebear.adapters.discord.clients import webhook_clients
from ravebear.adapters.discord.dead_letter import DeadLetters
from ravebear.adapters.discord.dispatcher import AlertDispatcher
from ravebear.adapters.discord.routing import Routes, ShadowCounter
from tests.adapters.discord.conftest import ListLog, bar_alerts
from tests.adapters.local_server import Fault
from tests.discord_webhook_server import DiscordWebhookServer, Received

ROUTES = Routes(symbols={"BTC": "btc-15m"}, default_channel="general", whale_channel="whale", high_conf_channel="high-conf", high_conf_score=85)
ENV = {"btc-15m": "DISCORD_WEBHOOK_BTC", "whale": "DISCORD_WEBHOOK_WHALE", "high-conf": "DISCORD_WEBHOOK_HIGH_CONF", "general": "DISCORD_WEBHOOK_GENERAL"}
HOOKS = {"btc-15m": "111", "whale": "222", "high-conf": "333", "general": "444"}


def _dispatcher(server: DiscordWebhookServer, folder: Path, log: ListLog, cooldown_s: float = 300, retry: RetryPolicy | None = None) -> AlertDispatcher:
    environ = {ENV[channel]: server.url_for(hook) for channel, hook in HOOKS.items()}
    clients, warnings = webhook_clients(ENV, log, environ)
    assert warnings == []
    for client in clients.values():
        client.retry = retry or RetryPolicy(timeout_s=0.5, max_retries=1, backoff_s=0.05, max_backoff_s=0.1, max_retry_after_s=5)
    dispatcher = AlertDispatcher(ROUTES, clients, DeadLetters(folder / "dead_letter.jsonl"), log, cooldown_s=cooldown_s, digest_after=3)
    dispatcher.start()
    return dispatcher


def _titles(received: list[Received], channel_id: str) -> list[str]:
    """Every alert title a channel got, singles and digest lines alike."""
    out = []
    for message in (r.payload for r in received if r.channel_id == channel_id):
        for embed in message.get("embeds", []):
            out += [f["value"].split(" (")[0] for f in embed["fields"]] if embed["title"].endswith("digest") else [embed["title"]]
        if message.get("content"):
            out.append(message["content"].splitlines()[0].strip("*"))
    return out


def _wait_for(predicate, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)


def test_routes_whales_and_high_confidence_alerts_to_their_channels(discord: DiscordWebhookServer, tmp_path: Path) -> None:
    log = ListLog()
    touch, = bar_alerts(1)
    whale = Alert(AlertKind.WHALE, "BTC", "1,250 BTC to Binance", touch.ts_ns, key="tx-1")
    strong, = bar_alerts(1, symbol="ETH", score=91)
    dispatcher = _dispatcher(discord, tmp_path, log)
    for alert in (touch, whale, strong):
        dispatcher.submit(alert)
    stats = dispatcher.close()
    assert _titles(discord.received, "c-btc") == [touch.title, whale.title]
    assert _titles(discord.received, "c-whale") == [whale.title]
    assert _titles(discord.received, "c-general") == [strong.title]  # ETH has no channel of its own
    assert _titles(discord.received, "c-high") == [strong.title]
    assert (stats.alerts_sent, stats.dead_lettered, stats.merged) == (5, 0, 0)


def test_repeats_inside_the_cooldown_are_dropped_by_event_time(discord: DiscordWebhookServer, tmp_path: Path) -> None:
    first, = bar_alerts(1)
    again = Alert(first.kind, first.symbol, first.title, first.ts_ns + 299 * 10**9, key=first.key)
    later = Alert(first.kind, first.symbol, first.title, first.ts_ns + 300 * 10**9, key=first.key)
    dispatcher = _dispatcher(discord, tmp_path, ListLog(), cooldown_s=300)
    for alert in (first, again, later):
        dispatcher.submit(alert)
    stats = dispatcher.close()
    assert (stats.submitted, stats.repeats, stats.alerts_sent) == (3, 1, 2)


def test_a_burst_of_500_loses_nothing_and_never_draws_two_429s_in_a_row(discord: DiscordWebhookServer, tmp_path: Path) -> None:
    discord.bucket_calls = 3  # Discord stricter than documented: the client learns it from the headers
    alerts = bar_alerts(500)
    high = bar_alerts(2, score=95)  # same candles, high confidence: never merged
    high = [Alert(a.kind, a.symbol, "HIGH " + a.title, a.ts_ns, key="h" + a.key, score=a.score, fields=a.fields) for a in high]
    dispatcher = _dispatcher(discord, tmp_path, ListLog())
    started = time.monotonic()
    for alert in alerts[:250] + high + alerts[250:]:
        dispatcher.submit(alert)
    _wait_for(lambda: len(_titles(discord.received, "c-btc")) >= 502)
    stats = dispatcher.close()
    btc = _titles(discord.received, "c-btc")
    assert sorted(btc) == sorted(a.title for a in alerts + high)  # every alert exactly once
    assert stats.dead_lettered == 0 and stats.merged >= 400
    singles = [r.payload["embeds"][0]["title"] for r in discord.received if r.channel_id == "c-btc" and not r.payload["embeds"][0]["title"].endswith("digest")]
    assert {h.title for h in high} <= set(singles)
    statuses = [s for _, hook, s in discord.statuses if hook == "111"]
    assert all(not (a == b == 429) for a, b in zip(statuses, statuses[1:]))
    first_delivery = min(r.t for r in discord.received)
    assert first_delivery - started < 1.0


def test_undelivered_alerts_are_kept_and_replayed_on_the_next_start(discord: DiscordWebhookServer, tmp_path: Path) -> None:
    alerts = bar_alerts(2)
    discord.fail_next("111", *[Fault("500")] * 4)
    log = ListLog()
    dispatcher = _dispatcher(discord, tmp_path, log)
    for alert in alerts:
        dispatcher.submit(alert)
    stats = dispatcher.close()
    assert stats.dead_lettered == 2 and discord.received == []
    text = (tmp_path / "dead_letter.jsonl").read_text()
    assert [json.loads(line)["reason"] for line in text.splitlines()] == ["HTTP 500 after 2 attempts"] * 2
    assert "tok-btc-secret" not in text + "".join(log.lines) and "/api/webhooks" not in text

    again = _dispatcher(discord, tmp_path, ListLog())
    _wait_for(lambda: len(discord.received) == 2)
    stats = again.close()
    assert _titles(discord.received, "c-btc") == [a.title for a in alerts]
    assert stats.replayed == 2 and stats.dead_lettered == 0
    assert not (tmp_path / "dead_letter.jsonl").exists()
    assert not (tmp_path / "dead_letter.jsonl.replaying").exists()


def test_an_embed_discord_refuses_goes_out_as_text(discord: DiscordWebhookServer, tmp_path: Path) -> None:
    discord.refuse_embeds = True
    alert, = bar_alerts(1)
    log = ListLog()
    dispatcher = _dispatcher(discord, tmp_path, log)
    dispatcher.submit(alert)
    stats = dispatcher.close()
    assert stats.plain_fallbacks == 1
    assert discord.received[0].payload["content"] == "**BTC touched wick low 65,228.7**\nclose: 65,240.0\nvolume: 4.5005 BTC\nrange: 11.3"
    assert log.lines[0].startswith("discord btc-15m: Discord refused the embed (HTTP 400 code 50035: Invalid Form Body (embeds.0: Embed refused")


def test_submit_never_waits_on_a_stalled_discord(discord: DiscordWebhookServer, tmp_path: Path) -> None:
    discord.fail_next("111", *[Fault("timeout", delay_s=2.0)] * 3)
    dispatcher = _dispatcher(discord, tmp_path, ListLog())
    alerts = bar_alerts(1000)
    started = time.perf_counter()
    for alert in alerts:
        dispatcher.submit(alert)
    took = time.perf_counter() - started
    stats = dispatcher.close(timeout_s=0.5)
    assert took < 0.5  # 1,000 submits while every request hangs
    assert stats.alerts_sent + stats.dead_lettered == 1000  # the rest kept for the next start
    kept = sum(len(json.loads(line)["alerts"]) for line in (tmp_path / "dead_letter.jsonl").read_text().splitlines())
    assert kept == stats.dead_lettered > 0


def test_missing_or_wrong_webhook_variables_are_named(tmp_path: Path) -> None:
    clients, warnings = webhook_clients({"btc-15m": "DISCORD_WEBHOOK_BTC", "whale": "DISCORD_WEBHOOK_WHALE"}, ListLog(),
                                        {"DISCORD_WEBHOOK_WHALE": "not-a-url"})
    assert clients == {}
    assert warnings == [
        "alerts channel 'btc-15m': DISCORD_WEBHOOK_BTC is not set (environment or .env), so its alerts are not sent",
        "alerts channel 'whale': DISCORD_WEBHOOK_WHALE does not hold a webhook URL (expected https://discord.com/api/webhooks/ID/TOKEN)",
    ]


def test_an_unwritable_dead_letter_folder_is_refused_at_start(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError, match=r"cannot write the alerts' dead-letter file .*file/alerts/dead.jsonl: Not a directory"):
        DeadLetters(tmp_path / "file" / "alerts" / "dead.jsonl").check_writable()


def test_shadow_counts_per_day_and_channel_what_would_be_sent() -> None:
    alerts = bar_alerts(2000)  # 2026-07-27 11:20 onward, with gaps: three UTC days
    whale = Alert(AlertKind.WHALE, "BTC", "whale", alerts[0].ts_ns, key="tx")
    counter = ShadowCounter(ROUTES, cooldown_s=300)
    for alert in [*alerts, alerts[0], whale]:
        counter.add(alert)
    days = {}
    for alert in alerts:
        day = time.strftime("%Y-%m-%d", time.gmtime(alert.ts_ns / 1e9))
        days[day] = days.get(day, 0) + 1
    assert counter.counts[(min(days), "btc-15m")] == days[min(days)] + 1  # + the whale; the repeat dropped
    assert counter.counts[(min(days), "whale")] == 1
    assert sum(v for (d, c), v in counter.counts.items() if c == "btc-15m") == 2001
    assert len(days) == 3 and counter.gate.dropped == 1
