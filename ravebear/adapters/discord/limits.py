"""Discord's documented limits for webhook messages and their rate limits, and the clipping that keeps a
payload inside them (a payload over a limit is answered HTTP 400 code 50035 and the alert would be lost)."""

from __future__ import annotations

from typing import Any

CONTENT_MAX = 2000  # characters of a message's `content`
EMBEDS_PER_MESSAGE = 10
EMBEDS_TOTAL_MAX = 6000  # characters of all embeds of one message together (title, description, fields, footer, author)
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25  # fields per embed
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
AUTHOR_MAX = 256

WEBHOOK_CALLS, WEBHOOK_PERIOD_S = 5, 2.0  # per webhook: about 5 requests per 2 s
CHANNEL_CALLS, CHANNEL_PERIOD_S = 30, 60.0  # per channel: 30 messages a minute, whichever webhook posts them

ELLIPSIS = "…"


def clip(text: str, limit: int) -> str:
    """Return `text` cut to `limit` characters, its last one an ellipsis when anything was cut."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def embed_chars(embed: dict[str, Any]) -> int:
    """Characters Discord counts toward the 6,000 of a message's embeds."""
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += sum(len(f.get("name", "")) + len(f.get("value", "")) for f in embed.get("fields", ()))
    total += len((embed.get("footer") or {}).get("text", "")) + len((embed.get("author") or {}).get("name", ""))
    return total
