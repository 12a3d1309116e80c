"""The twenty bots by name (docs/SWARM.md), in the swarm's order: volume, order flow, momentum, dynamics."""

from __future__ import annotations

from ravebear.strategies.swarm.bot import Bot
from ravebear.strategies.swarm.bots.dynamics import DYNAMICS_BOTS
from ravebear.strategies.swarm.bots.momentum import MOMENTUM_BOTS
from ravebear.strategies.swarm.bots.orderflow import ORDERFLOW_BOTS
from ravebear.strategies.swarm.bots.volume import VOLUME_BOTS

BOTS: dict[str, type[Bot]] = {bot.name: bot for bot in (*VOLUME_BOTS, *ORDERFLOW_BOTS, *MOMENTUM_BOTS, *DYNAMICS_BOTS)}
