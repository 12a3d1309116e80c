"""The momentum bots (docs/SWARM.md)."""

from __future__ import annotations

from ravebear.strategies.swarm.bot import Bot

MOMENTUM_BOTS: list[type[Bot]] = []
