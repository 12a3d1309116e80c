"""Level touches from the ledger as the analyzer's frame: one row per touch, numeric features and outcomes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ravebear.ledger.query import Filters, read_table


class NoTouches(ValueError):
    """The ledger holds no touch for the filters (one line)."""


def touches_frame(engine, filters: Filters = Filters()) -> pd.DataFrame:  # noqa: ANN001, B008 - a SQLAlchemy Engine; frozen default
    """The touches with `ts_ns`, `held` (1 held, 0 broken, NaN undecided) and `whale_tag` as +1 buy / -1 sell / 0 none."""
    frame = read_table(engine, "touches", filters)
    if frame.empty:
        raise NoTouches("the ledger holds no level touches" + (" for these filters" if filters != Filters() else "")
                        + "; a backtest, paper or live run with a ledger: section and the LevelActor fills it")
    frame = frame.rename(columns={"ts_event_ns": "ts_ns"})
    frame["held"] = frame["outcome"].map({"held": 1.0, "broken": 0.0}).astype(float)
    if "whale_tag" in frame:
        tags = frame["whale_tag"]
        frame["whale_tag"] = np.where(tags.isna(), np.where(frame["obi"].notna(), 0.0, np.nan), np.where(tags.astype(str).str.endswith("buy"), 1.0, -1.0))
    return frame
