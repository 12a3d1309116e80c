"""One level engine per instrument in a node: a strategy asks the LevelActor for its feed over the message bus.

The LevelActor registers an endpoint per instrument. A level strategy starting after it (nautilus starts actors
before strategies) sends a `LevelFeedRequest` there; the actor grants its `MinuteLevelFeed` when the strategy
reads the same bars with an equal engine config (timeframes, detectors, thresholds), so both read one engine and
it runs once per bar. Otherwise (another config, trade-built bars, no LevelActor) the strategy keeps its own.

A node may also offer feeds of its own at `LEVEL_SOURCE_ENDPOINT`: a backtest node, which loads every bar before its
loop, offers feeds whose levels were computed in advance (`platform/nodes/level_replay.py`). The LevelActor, and a
strategy that gets no LevelActor's feed, take one there when offered (`sourced_level_feed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ravebear.strategies.levels.engine import LevelEngineConfig
from ravebear.strategies.levels.feed import MinuteLevelFeed


NO_LEVEL_ACTOR = "no LevelActor serves this instrument"
LEVEL_SOURCE_ENDPOINT = "RaveBear.levels.source"  # a node's own feeds (a backtest's precomputed ones)


def level_feed_endpoint(instrument_id: str) -> str:
    """The message-bus endpoint where the LevelActor grants an instrument's feed."""
    return f"RaveBear.LevelActor.feed.{instrument_id}"


@dataclass
class LevelFeedRequest:
    """A strategy's request for the actor's feed of an instrument; the actor fills `feed` when it grants it."""

    instrument_id: str
    bar_type: str  # the 1-minute bars the strategy feeds
    config: LevelEngineConfig
    feed: MinuteLevelFeed | None = None
    refused: str = ""  # why not, for the strategy's log


def request_level_feed(msgbus: Any, instrument_id: str, bar_type: str, config: LevelEngineConfig) -> LevelFeedRequest:
    """Ask the node's LevelActor for its feed of an instrument; `feed` stays None when there is none to share."""
    request = LevelFeedRequest(instrument_id, bar_type, config)
    endpoint = level_feed_endpoint(instrument_id)
    if endpoint in msgbus.endpoints():
        msgbus.send(endpoint, request)
    else:
        request.refused = NO_LEVEL_ACTOR
    return request


def grant_level_feed(request: LevelFeedRequest, feed: MinuteLevelFeed, bar_type: str) -> None:
    """The actor's side: hand over `feed` when the request reads the same bars with an equal config."""
    if request.bar_type != bar_type:
        request.refused = f"the LevelActor reads {bar_type}, the strategy {request.bar_type}"
    elif request.config != feed.config:
        request.refused = "the LevelActor's levels config differs from the strategy's"
    else:
        request.feed = feed


def sourced_level_feed(msgbus: Any, instrument_id: str, bar_type: str, config: LevelEngineConfig) -> MinuteLevelFeed | None:
    """A feed of `bar_type` from the node's level source (a backtest's precomputed levels), or None when it offers none."""
    if LEVEL_SOURCE_ENDPOINT not in msgbus.endpoints():
        return None
    request = LevelFeedRequest(instrument_id, bar_type, config)
    msgbus.send(LEVEL_SOURCE_ENDPOINT, request)
    return request.feed
