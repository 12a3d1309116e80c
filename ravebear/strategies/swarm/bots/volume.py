"""The volume bots (docs/SWARM.md)."""

from __future__ import annotations

from ravebear.strategies.swarm.bot import Bot

VOLUME_BOTS: list[type[Bot]] = []
