"""The venue's market: real OKX 1-minute candles replayed as a path of trade prices.

Each candle becomes four prices inside its minute, the way nautilus's backtest walks a bar:
open, then the extreme nearer the open, the other extreme, and the close (open -> low -> high -> close
for an up candle, open -> high -> low -> close for a down one). Every price is a trade the venue
matches orders against and pushes on the `trades` channel; the candle itself is pushed (confirmed)
when its minute closes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

MINUTE_MS = 60_000
_OFFSETS_MS = (0, 15_000, 30_000, 59_999)  # where in its minute each of the four prices trades


@dataclass(frozen=True, slots=True)
class Candle:
    """One real 1-minute candle (`ts` = open time, UNIX ms; volumes: base units and contracts)."""

    inst_id: str
    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    volume_contracts: float

    def prices(self) -> list[tuple[int, float]]:
        """The four (UNIX ms, price) trades of this candle, in trading order."""
        o, h, l, c = self.open, self.high, self.low, self.close  # noqa: E741
        path = (o, l, h, c) if c >= o else (o, h, l, c)
        return [(self.ts + offset, price) for offset, price in zip(_OFFSETS_MS, path, strict=True)]


@dataclass(frozen=True)
class Step:
    """One minute of the path: every instrument's candle that opened at `ts`."""

    ts: int
    candles: tuple[Candle, ...]


class PricePathError(ValueError):
    """The candle files cannot make a price path."""


def find_candle_file(data_dir: Path, inst_id: str) -> Path:
    """The 1-minute parquet file of `inst_id` in `data_dir` (its name contains the instId)."""
    matches = sorted(p for p in data_dir.glob(f"*{inst_id}*1m*.parquet"))
    if not matches:
        raise PricePathError(f"no 1-minute candle file for {inst_id} in {data_dir} (expected a name like okx_swap_{inst_id}_1m_*.parquet)")
    return matches[0]


def load_candles(path: Path, inst_id: str) -> list[Candle]:
    """Read a candle file in the ohlcv_1m format (ts in ms = open time, open/high/low/close/volume[, volume_contracts])."""
    frame = pd.read_parquet(path)
    missing = [c for c in ("ts", "open", "high", "low", "close", "volume") if c not in frame.columns]
    if missing:
        raise PricePathError(f"{path}: missing columns {missing}")
    contracts = frame["volume_contracts"] if "volume_contracts" in frame.columns else frame["volume"]
    frame = frame.assign(volume_contracts=contracts).sort_values("ts")
    return [
        Candle(inst_id, int(r.ts), float(r.open), float(r.high), float(r.low), float(r.close), float(r.volume), float(r.volume_contracts))
        for r in frame.itertuples(index=False)
    ]


class PricePath:
    """The merged minutes of several instruments, from `start_ms` on (gaps are skipped, as the data has them)."""

    def __init__(self, candles: dict[str, list[Candle]], start_ms: int | None = None, end_ms: int | None = None) -> None:
        by_ts: dict[int, list[Candle]] = {}
        for inst_id in candles:  # instruments in the given order within a minute
            for candle in candles[inst_id]:
                if (start_ms is None or candle.ts >= start_ms) and (end_ms is None or candle.ts < end_ms):
                    by_ts.setdefault(candle.ts, []).append(candle)
        if not by_ts:
            raise PricePathError("no candles in the chosen window")
        self.steps = [Step(ts, tuple(by_ts[ts])) for ts in sorted(by_ts)]
        self.inst_ids = tuple(candles)
        self.position = 0  # steps already played
        self.shift_ms = 0  # added to the data's timestamps (see `rebase`)
        self.data_window = (self.steps[0].ts, self.steps[-1].ts)  # the candles' own open times, first and last

    @classmethod
    def from_dir(cls, data_dir: str | Path, inst_ids: list[str], start_ms: int | None = None, end_ms: int | None = None) -> PricePath:
        """Load each instrument's candle file from `data_dir`."""
        folder = Path(data_dir)
        if not folder.is_dir():
            raise PricePathError(f"candle folder {folder} does not exist")
        return cls({i: load_candles(find_candle_file(folder, i), i) for i in inst_ids}, start_ms, end_ms)

    def rebase(self, first_open_ms: int) -> None:
        """Move the whole path in time so its first minute opens at `first_open_ms` (prices and gaps unchanged).

        A venue replaying July's candles in November would stamp orders, fills and candles months before
        the node's clock; rebased to the start of the session they read like a live market's.
        """
        shift = first_open_ms - self.steps[0].ts
        self.shift_ms += shift
        self.steps = [Step(step.ts + shift, tuple(replace(c, ts=c.ts + shift) for c in step.candles)) for step in self.steps]

    @property
    def done(self) -> bool:
        """True when every step has been played."""
        return self.position >= len(self.steps)

    def next_step(self) -> Step | None:
        """The next minute, or None at the end."""
        if self.done:
            return None
        step = self.steps[self.position]
        self.position += 1
        return step

    def first_prices(self) -> dict[str, float]:
        """Each instrument's first open: the market before the first step."""
        first: dict[str, float] = {}
        for step in self.steps:
            for candle in step.candles:
                first.setdefault(candle.inst_id, candle.open)
            if len(first) == len(self.inst_ids):
                break
        return first

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)
