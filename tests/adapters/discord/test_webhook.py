"""One webhook against a local Discord: success, 429 with its headers, 50035, 5xx, timeouts, a dead webhook."""

from __future__ import annotations

import asyncio

from ravebear.adapters.common.http import RetryPolicy
from ravebear.adapters.discord.payload import single_message
from ravebear.adapters.discord.webhook import WebhookClient
from tests.adapters.discord.conftest import ListLog, bar_alerts
from tests.adapters.local_server import Fault
from tests.discord_webhook_server import DiscordWebhookServer

FAST = RetryPolicy(timeout_s=0.5, max_retries=2, backoff_s=0.05, max_backoff_s=0.1, max_retry_after_s=5)


def _send(server: DiscordWebhookServer, payloads: list[dict], webhook: str = "111", retry: RetryPolicy = FAST) -> tuple[list, ListLog]:
    log = ListLog()
    client = WebhookClient(server.url_for(webhook), "btc-15m", "DISCORD_WEBHOOK_BTC", log, retry=retry)

    async def run() -> list:
        try:
            return [await client.send(p) for p in payloads]
        finally:
            await client.close()

    return asyncio.run(run()), log


def test_a_message_is_stored_and_its_id_returned(discord: DiscordWebhookServer) -> None:
    alert = bar_alerts(1)[0]
    (result,), _ = _send(discord, [single_message(alert)])
    assert result.outcome == "sent" and result.attempts == 1
    assert result.message_id == "1300000000000000001"
    stored = discord.received[0].payload["embeds"][0]
    assert stored["title"] == alert.title == "BTC touched wick low 65,228.7"
    assert [f["value"] for f in stored["fields"]] == ["65,240.0", "4.5005 BTC", "11.3"]


def test_the_bucket_discord_reports_is_respected_so_a_429_never_comes_twice_in_a_row(discord: DiscordWebhookServer) -> None:
    discord.bucket_calls = 3  # stricter than the documented 5 per 2 s that the client budgets for
    results, log = _send(discord, [single_message(a) for a in bar_alerts(12)])
    assert [r.outcome for r in results] == ["sent"] * 12
    statuses = [s for _, _, s in discord.statuses]
    assert statuses.count(200) == 12
    assert all(not (a == b == 429) for a, b in zip(statuses, statuses[1:]))
    arrivals = sorted(t for t, _, s in discord.statuses if s == 200)
    assert all(later - earlier >= 2.0 - 0.05 for earlier, later in zip(arrivals, arrivals[3:]))  # never 4 inside 2 s


def test_a_429_waits_the_retry_after_discord_sends(discord: DiscordWebhookServer) -> None:
    discord.fail_next("111", Fault("429", retry_after="0.8"))
    (result,), log = _send(discord, [single_message(bar_alerts(1)[0])])
    assert result.outcome == "sent" and result.rate_limited == 1 and result.attempts == 2
    (t429, _, _), (t200, _, _) = discord.statuses
    assert t200 - t429 >= 0.8
    assert log.lines == ["discord btc-15m: HTTP 429, waiting 0.80s as Discord asks"]


def test_a_global_429_pauses_every_webhook(discord: DiscordWebhookServer) -> None:
    discord.fail_next("111", Fault("global429", retry_after="0.6"))
    log = ListLog()
    btc = WebhookClient(discord.url_for("111"), "btc-15m", "DISCORD_WEBHOOK_BTC", log, retry=FAST)
    whale = WebhookClient(discord.url_for("222"), "whale", "DISCORD_WEBHOOK_WHALE", log, retry=FAST, pause=btc.pause)
    message = single_message(bar_alerts(1)[0])

    async def run() -> None:
        await btc.send(message)
        await whale.send(message)
        await btc.close()
        await whale.close()

    asyncio.run(run())
    (t429, _, s1), (_, _, s2), (t_whale, hook, s3) = discord.statuses
    assert (s1, s2, s3, hook) == (429, 200, 200, "222")
    assert t_whale - t429 >= 0.6


def test_a_refused_payload_is_not_retried_and_says_which_field(discord: DiscordWebhookServer) -> None:
    body = single_message(bar_alerts(1)[0])
    body["embeds"][0]["fields"][2]["value"] = "x" * 1100
    (result,), _ = _send(discord, [body])
    assert result.outcome == "rejected" and result.attempts == 1
    assert result.detail == "HTTP 400 code 50035: Invalid Form Body (embeds.0.fields.2.value: Must be 1024 or fewer in length.)"


def test_5xx_and_timeouts_are_retried_then_given_up(discord: DiscordWebhookServer) -> None:
    discord.fail_next("111", Fault("500"), Fault("timeout", delay_s=1.0))
    (ok,), log = _send(discord, [single_message(bar_alerts(1)[0])])
    assert ok.outcome == "sent" and ok.attempts == 3
    assert [line.split(";")[0] for line in log.lines] == ["discord btc-15m: HTTP 500", "discord btc-15m: timed out after 0.5s"]
    discord.fail_next("111", *[Fault("500")] * 3)
    (failed,), _ = _send(discord, [single_message(bar_alerts(1)[0])])
    assert (failed.outcome, failed.detail) == ("failed", "HTTP 500 after 3 attempts")


def test_a_deleted_webhook_names_the_variable_never_the_url(discord: DiscordWebhookServer) -> None:
    discord.webhooks["999"] = ("tok-gone-secret-eeee", "c-x")
    url = discord.url_for("999")
    del discord.webhooks["999"]  # deleted in Discord after the URL went into .env
    log = ListLog()
    client = WebhookClient(url, "btc-15m", "DISCORD_WEBHOOK_BTC", log, retry=FAST)

    async def run():
        try:
            return await client.send(single_message(bar_alerts(1)[0]))
        finally:
            await client.close()

    result = asyncio.run(run())
    assert (result.outcome, result.detail) == ("failed", "HTTP 404 Unknown Webhook: check the webhook URL in DISCORD_WEBHOOK_BTC")
    assert "tok-gone-secret" not in result.detail + "".join(log.lines)
