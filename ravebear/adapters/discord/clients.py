"""Webhook clients from the environment: each channel is named in config with the variable that holds its URL."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ravebear.adapters.common.rate_limit import RateLimiter
from ravebear.adapters.common.redact import LogSink
from ravebear.adapters.discord import limits as lim
from ravebear.adapters.discord.webhook import GlobalPause, WebhookClient


def webhook_clients(channels: Mapping[str, str], log: LogSink, environ: Mapping[str, str] | None = None) -> tuple[dict[str, WebhookClient], list[str]]:
    """Return (channel -> client, warnings): a channel whose variable is unset or not a webhook URL is left out and named."""
    environ = os.environ if environ is None else environ
    pause = GlobalPause()
    clients: dict[str, WebhookClient] = {}
    warnings: list[str] = []
    for channel, env_var in channels.items():
        url = (environ.get(env_var) or "").strip()
        if not url:
            warnings.append(f"alerts channel {channel!r}: {env_var} is not set (environment or .env), so its alerts are not sent")
            continue
        if not url.startswith(("https://", "http://")) or "/webhooks/" not in url:
            warnings.append(f"alerts channel {channel!r}: {env_var} does not hold a webhook URL (expected https://discord.com/api/webhooks/ID/TOKEN)")
            continue
        clients[channel] = WebhookClient(url, channel, env_var, log, channel_limiter=RateLimiter(lim.CHANNEL_CALLS, lim.CHANNEL_PERIOD_S, f"discord channel {channel}"), pause=pause)
    return clients, warnings
