"""The orderflow bots (docs/SWARM.md)."""

from __future__ import annotations

from ravebear.strategies.swarm.bot import Bot

ORDERFLOW_BOTS: list[type[Bot]] = []
