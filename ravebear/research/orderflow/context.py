"""Level events with their order-flow context, as the trader's collector archived them: the level engine on 1-minute
bars built from the trades (`compute.minute_bars`, receive time) and `LevelContextTracker` fed the trades, the book
and the level events in one time order: the computation the OrderFlowActor runs in a node (`enrich_levels`)."""

from __future__ import annotations

import dataclasses
import heapq
from typing import Any

from ravebear.research.orderflow.compute import minute_bars
from ravebear.research.orderflow.load import Orderflow
from ravebear.strategies.levels.engine import LevelEngineConfig
from ravebear.strategies.levels.model import LevelEvent
from ravebear.strategies.levels.replay import replay_levels
from ravebear.strategies.microstructure.level_context import LevelContext, LevelContextConfig, LevelContextTracker

_BOOK, _TRADE = 0, 1


def _book_items(flow: Orderflow) -> list[tuple[int, int, int, Any]]:
    """(ts, stream, position, update) of the book; a CLEAR (None) takes the time of the update after it (its snapshot)."""
    updates, out = flow.book, []
    for i, update in enumerate(updates):
        if update is None:
            after = next((u for u in updates[i + 1 :] if u is not None), None)
            ts = after.ts_ns if after is not None else (out[-1][0] if out else 0)
        else:
            ts = update.ts_ns
        out.append((ts, _BOOK, i, update))
    return out


def level_contexts(flow: Orderflow, levels: LevelEngineConfig, config: LevelContextConfig) -> list[tuple[str, LevelEvent, LevelContext]]:
    """(timeframe, event, context) of every CREATED and TOUCHED level event, in the engine's order."""
    events = replay_levels(minute_bars(flow.trades), levels)
    tracker = LevelContextTracker(config)
    items = heapq.merge(_book_items(flow), ((t.ts_ns, _TRADE, i, t) for i, t in enumerate(flow.trades)), key=lambda item: item[:3])
    pending = next(items, None)
    out: list[tuple[str, LevelEvent, LevelContext]] = []
    for timeframe, event in events:
        while pending is not None and pending[0] <= event.ts:  # items stamped at the event are held back by the tracker
            ts, stream, _, item = pending
            if stream == _TRADE:
                tracker.on_trade(item)
            elif item is None:
                tracker.on_clear(ts)
            else:
                tracker.on_book(item)
            pending = next(items, None)
        context = tracker.on_level(event)
        if context is not None:
            out.append((timeframe, event, context))
    return out


def archive(flow: Orderflow, levels: LevelEngineConfig, config: LevelContextConfig) -> list[dict[str, Any]]:
    """The enriched level events as flat rows (results.json's `level_events`): the event, its level and its context."""
    rows = []
    for timeframe, event, context in level_contexts(flow, levels, config):
        level = event.level
        row = {"ts_ns": event.ts, "event": event.kind.value, "kind": level.kind.value, "side": level.side.value, "timeframe": timeframe,
               "low": level.low, "high": level.high, "created_ns": level.created_ts}  # fmt: skip
        row.update({k: v for k, v in dataclasses.asdict(context).items() if k not in ("ts_ns", "side", "low", "high")})
        rows.append(row)
    return rows
