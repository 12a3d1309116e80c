"""Every payload ravebear builds passes Discord's limits, as the local server checks them independently."""

from __future__ import annotations

from ravebear.adapters.discord.alerts import Alert, AlertKind
from ravebear.adapters.discord.limits import embed_chars
from ravebear.adapters.discord.payload import digest_messages, plain_message, single_message
from tests.adapters.discord.conftest import bar_alerts
from tests.discord_webhook_server import form_errors


def test_digest_of_a_burst_fits_discord_and_carries_every_alert_once() -> None:
    alerts = bar_alerts(500)
    messages = digest_messages(alerts, "btc-15m")
    assert all(form_errors(m) == {} for m in messages)
    lines = [f["value"] for m in messages for e in m["embeds"] for f in e["fields"]]
    assert lines == [a.title + f" (close {a.fields[0][1]}, volume {a.fields[1][1]}, range {a.fields[2][1]})" for a in alerts]
    assert sum(int(m["embeds"][0]["footer"]["text"].split()[0]) for m in messages) == 500
    # packed: each message is full in the sense that the next alert's line would push it past 6,000 characters
    for message, following in zip(messages, messages[1:]):
        used = sum(embed_chars(e) for e in message["embeds"])
        first = following["embeds"][0]["fields"][0]
        assert used + len(first["name"]) + len(first["value"]) > 6000 - 40 >= used


def test_oversized_alerts_are_clipped_not_refused() -> None:
    real = bar_alerts(3)
    huge = [Alert(AlertKind.WHALE, "BTC", a.title * 40, a.ts_ns, description=a.title * 400,
                  fields=tuple((f"{name} " * 60, value * 500) for name, value in a.fields * 12)) for a in real]
    for alert in huge:
        assert form_errors(single_message(alert)) == {}
        assert form_errors(plain_message(alert)) == {}
        embed = single_message(alert)["embeds"][0]
        assert embed["title"].endswith("…") and len(embed["title"]) == 256
        assert len(embed["fields"]) <= 25
    digest = digest_messages(huge * 30, "whale")
    assert all(form_errors(m) == {} for m in digest)
    assert sum(len(e["fields"]) for m in digest for e in m["embeds"]) == 90


def test_the_server_refuses_what_discord_refuses() -> None:
    alert = bar_alerts(1)[0]
    body = single_message(alert)
    body["embeds"][0]["fields"][0]["value"] = "x" * 1025
    assert form_errors(body) == {"embeds": {"0": {"fields": {"0": {"value": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 1024 or fewer in length."}]}}}}}}
