"""Alerts to webhook payloads, always inside Discord's limits: one embed per alert, or a digest that merges
a burst of alerts into as few messages as the limits allow."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ravebear.adapters.discord import limits as lim
from ravebear.adapters.discord.alerts import COLOURS, Alert

DIGEST_COLOUR = 0x7F8C8D
_DIGEST_CAP = lim.EMBEDS_TOTAL_MAX - 40  # room for the "N alerts merged" footer


def _iso(ts_ns: int) -> str:
    return datetime.fromtimestamp(ts_ns / 1e9, tz=UTC).isoformat(timespec="seconds")


def alert_embed(alert: Alert) -> dict[str, Any]:
    """One alert as one embed, every part clipped to its limit and the whole under the 6,000 characters."""
    embed: dict[str, Any] = {"title": lim.clip(alert.title, lim.TITLE_MAX), "color": COLOURS[alert.kind], "timestamp": _iso(alert.ts_ns)}
    footer = alert.kind.value + (f" · score {alert.score:.0f}" if alert.score is not None else "")
    embed["footer"] = {"text": lim.clip(footer, lim.FOOTER_MAX)}
    budget = lim.EMBEDS_TOTAL_MAX - lim.embed_chars(embed)
    fields = []
    for name, value in alert.fields[: lim.FIELDS_MAX]:
        field = {"name": lim.clip(name or "-", lim.FIELD_NAME_MAX), "value": lim.clip(value or "-", lim.FIELD_VALUE_MAX), "inline": True}
        size = len(field["name"]) + len(field["value"])
        if size > budget:
            break
        fields.append(field)
        budget -= size
    if fields:
        embed["fields"] = fields
    if alert.description and budget > 1:
        embed["description"] = lim.clip(alert.description, min(lim.DESCRIPTION_MAX, budget))
    return embed


def single_message(alert: Alert) -> dict[str, Any]:
    """The webhook body for one alert."""
    return {"embeds": [alert_embed(alert)], "allowed_mentions": {"parse": []}}


def plain_message(alert: Alert) -> dict[str, Any]:
    """A text-only body for an alert whose embed Discord refused (code 50035): the content limit is simpler."""
    parts = [f"**{alert.title}**", *(f"{name}: {value}" for name, value in alert.fields), alert.description]
    return {"content": lim.clip("\n".join(p for p in parts if p), lim.CONTENT_MAX), "allowed_mentions": {"parse": []}}


def _digest_line(alert: Alert) -> tuple[str, str]:
    name = lim.clip(f"{_iso(alert.ts_ns)[11:19]} {alert.kind.value} {alert.symbol}".strip(), lim.FIELD_NAME_MAX)
    detail = ", ".join(f"{k} {v}" for k, v in alert.fields[:4])
    return name, lim.clip(alert.title + (f" ({detail})" if detail else ""), lim.FIELD_VALUE_MAX)


def digest_messages(alerts: list[Alert], channel: str) -> list[dict[str, Any]]:
    """Merge alerts into digest messages: one field per alert, at most 25 fields an embed, 10 embeds and
    6,000 embed characters a message; as many messages as that takes (every alert appears once)."""
    messages: list[dict[str, Any]] = []
    embeds: list[dict[str, Any]] = []
    embed: dict[str, Any] | None = None
    message_chars = 0
    header = f"{channel} digest"
    for alert in alerts:
        name, value = _digest_line(alert)
        size = len(name) + len(value)
        if embed is None or len(embed["fields"]) == lim.FIELDS_MAX or message_chars + size > _DIGEST_CAP:
            if embed is not None and (len(embeds) == lim.EMBEDS_PER_MESSAGE or message_chars + size + len(header) > _DIGEST_CAP):
                messages.append({"embeds": embeds, "allowed_mentions": {"parse": []}})
                embeds, message_chars = [], 0
            embed = {"title": header, "color": DIGEST_COLOUR, "fields": []}
            embeds.append(embed)
            message_chars += len(header)
        embed["fields"].append({"name": name, "value": value, "inline": False})
        message_chars += size
    if embeds:
        messages.append({"embeds": embeds, "allowed_mentions": {"parse": []}})
    for message in messages:
        count = sum(len(e["fields"]) for e in message["embeds"])
        message["embeds"][0]["footer"] = {"text": f"{count} alerts merged"}
    return messages
