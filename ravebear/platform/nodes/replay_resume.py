"""A paper replay restarted with the same trader id and run file continues where the last run stopped.

The replay client stores its progress in the node's Redis state (`ravebear.adapters.replay.progress`);
this module decides, after the node is built and its cache loaded, whether to resume and what to tell
the user. `ravebear paper --start-over` wipes the stored state instead (a fresh account, the replay
from its start).
"""

from __future__ import annotations

from typing import Any

import pandas as pd


def resume_replay(replay: Any, keeps_state: bool) -> str | None:
    """Resume `replay` (a ReplayDataClient) after the progress found in the loaded cache; return the line to print, or None."""
    if replay is None or not keeps_state:
        return None
    done = replay.resume()
    if done is None:
        return None
    stopped = pd.Timestamp(done.ts, unit="ns", tz="UTC").strftime("%Y-%m-%d %H:%M UTC")
    if done.finished:
        return f"this replay already finished at {stopped} ({done.handed:,} items) with this trader id: nothing left to replay; --start-over replays it from the start"
    return f"resuming replay at {stopped} (last run stopped there after {done.handed:,} items; --start-over replays from the start)"
