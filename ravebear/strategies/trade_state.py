"""`TradeState`: what a level strategy must remember about its trade across a restart, and its stored form.

A node with a database cache stores it under the key "ravebear" (`LevelStrategy.on_save`), next to
the guards' memory. The JSON fields and their order are the stored format: a node restarted on a
newer version must load what the previous one saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from nautilus_trader.model.identifiers import ClientOrderId

from ravebear.risk.exits import ExitPlan

STATE_KEY = "ravebear"


@dataclass(slots=True, kw_only=True)
class TradeState:
    """The open trade's exit plan and entry, the counters of the position, and the cooldown after it."""

    plan: ExitPlan | None = None  # prices of the open trade's exits
    entry_id: ClientOrderId | None = None  # the entry order until its follow-up exits are placed
    entry_filled: bool = False  # the entry filled wholly (follow-up exits may still be missing)
    bars_held: int = 0  # base candles since the position opened
    breakeven_done: bool = False  # the stop was moved to break-even (or that was tried)
    cooldown: int = 0  # base candles left before the next entry


class _Stored(msgspec.Struct):
    """The JSON object as stored; missing fields take these defaults, unknown ones are ignored."""

    plan: list[Any] | None = None  # [side, entry, stop, [[price, fraction], ...], breakeven_trigger, breakeven_stop, trailing_activation]
    entry_id: str | None = None
    entry_filled: bool = False
    bars_held: int = 0
    breakeven_done: bool = False
    cooldown: int = 0
    guards: dict[str, Any] = {}


def encode_state(state: TradeState, guards: dict[str, Any]) -> bytes:
    """Return the stored JSON of a trade state and the guards' memory (`RiskGuards.state()`)."""
    plan = state.plan
    stored = _Stored(
        plan=None if plan is None else [
            plan.side, plan.entry, plan.stop, [list(t) for t in plan.targets],
            plan.breakeven_trigger, plan.breakeven_stop, plan.trailing_activation,
        ],
        entry_id=None if state.entry_id is None else state.entry_id.value,
        entry_filled=state.entry_filled,
        bars_held=state.bars_held,
        breakeven_done=state.breakeven_done,
        cooldown=state.cooldown,
        guards=guards,
    )  # fmt: skip
    return msgspec.json.encode(stored)


def decode_state(raw: bytes) -> tuple[TradeState, dict[str, Any]]:
    """Return the trade state and the guards' memory from stored JSON (as `encode_state` or the previous version wrote it)."""
    stored = msgspec.json.decode(raw, type=_Stored)
    plan = None
    if stored.plan:
        side, entry, stop, targets, be_trigger, be_stop, activation = stored.plan
        plan = ExitPlan(side, entry, stop, tuple(tuple(t) for t in targets), be_trigger, be_stop, activation)
    state = TradeState(
        plan=plan,
        entry_id=ClientOrderId(stored.entry_id) if stored.entry_id else None,
        entry_filled=stored.entry_filled,
        bars_held=stored.bars_held,
        breakeven_done=stored.breakeven_done,
        cooldown=stored.cooldown,
    )
    return state, stored.guards
