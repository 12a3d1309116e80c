"""Alerts built from the bundled real BTC candles, and a local Discord."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from ravebear.adapters.discord.alerts import Alert, AlertKind
from tests.discord_webhook_server import DiscordWebhookServer

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample" / "okx_swap_BTC-USDT-SWAP_1m_20260727_20260822_gappy.parquet"


def bar_alerts(count: int, symbol: str = "BTC", kind: AlertKind = AlertKind.LEVEL_TOUCHED, score: float | None = 60.0) -> list[Alert]:
    """One alert per real 1-minute candle: the candle's low touched, with its figures as fields."""
    bars = pd.read_parquet(SAMPLE).head(count)
    return [
        Alert(kind, symbol, f"{symbol} touched wick low {row.low:,.1f}", int(row.ts) * 1_000_000, key=f"wick-{row.ts}", score=score,
              fields=(("close", f"{row.close:,.1f}"), ("volume", f"{row.volume:.4f} BTC"), ("range", f"{row.high - row.low:.1f}")))
        for row in bars.itertuples()
    ]


class ListLog:
    """A LogSink that keeps every line (to check what a user would read)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str) -> None:
        self.lines.append(message)

    warning = error = info


@pytest.fixture
def discord() -> Iterator[DiscordWebhookServer]:
    with DiscordWebhookServer(webhooks={"111": ("tok-btc-secret-aaaa", "c-btc"), "222": ("tok-whale-secret-bbbb", "c-whale"),
                                        "333": ("tok-high-secret-cccc", "c-high"), "444": ("tok-general-secret-dddd", "c-general")}) as server:
        yield server
