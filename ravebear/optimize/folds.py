"""Walk-forward folds over a data window: anchored (in-sample from the window start) or rolling (fixed length),
with the purge cut from the end of each in-sample window and the embargo from the start of each out-of-sample one."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ravebear.optimize.settings import WalkForward, duration_ns
from ravebear.platform.nodes.run_file import ConfigError


@dataclass(frozen=True)
class Fold:
    """One fold: optimise on in-sample [is_start, is_end], evaluate on out-of-sample [oos_start, oos_end]."""

    number: int
    is_start: pd.Timestamp
    is_end: pd.Timestamp
    oos_start: pd.Timestamp
    oos_end: pd.Timestamp

    def as_dict(self) -> dict[str, str | int]:
        """ISO times, for results.json."""
        return {"fold": self.number, **{name: getattr(self, name).isoformat() for name in ("is_start", "is_end", "oos_start", "oos_end")}}


def make_folds(start: pd.Timestamp, end: pd.Timestamp, settings: WalkForward) -> list[Fold]:
    """The folds: out-of-sample windows of `test` tile the end of start..end, the last ending at `end`."""
    test, purge, embargo = (pd.Timedelta(duration_ns(v), "ns") for v in (settings.test, settings.purge, settings.embargo))
    if settings.mode == "rolling" and settings.train is None:
        raise ConfigError("optimize.walk_forward: a rolling walk-forward needs 'train' (the in-sample length)")
    train = pd.Timedelta(duration_ns(settings.train), "ns") if settings.train is not None else None
    if embargo >= test:
        raise ConfigError(f"optimize.walk_forward: embargo {settings.embargo} leaves nothing of the {settings.test} out-of-sample window")
    folds = []
    for number in range(settings.folds):
        oos_end = end - test * (settings.folds - 1 - number)
        oos_window_start = oos_end - test
        is_end = oos_window_start - purge
        is_start = start if settings.mode == "anchored" else is_end - train
        if is_start < start or is_end - is_start < pd.Timedelta(1, "h") or (train is not None and is_end - is_start < train):
            raise ConfigError(
                f"optimize.walk_forward: {settings.folds} folds of {settings.test} out-of-sample"
                f"{f' after {settings.train} in-sample' if train is not None else ''} (purge {settings.purge}) do not fit in "
                f"{start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} UTC; use fewer or shorter folds",
            )
        folds.append(Fold(number, is_start, is_end, oos_window_start + embargo, oos_end))
    return folds
