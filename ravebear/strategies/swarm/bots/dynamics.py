"""The dynamics bots (docs/SWARM.md)."""

from __future__ import annotations

from ravebear.strategies.swarm.bot import Bot

DYNAMICS_BOTS: list[type[Bot]] = []
