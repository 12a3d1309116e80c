"""`ravebear analyze swarm`: each bot's hit rate by regime and horizon, the agreement matrix, whether the consensus
score is calibrated, and a swarm summary, over catalog 1-minute candles.

`run` takes the candles (and optionally a reference instrument's), runs the swarm through its compiled twin
(`research/fast_swarm`), computes every figure (`compute.py`) and returns the results dict that
`research/report.py` renders (this package is the analysis module of the name "swarm").
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from ravebear.research.swarm import compute
from ravebear.research.swarm.compute import (
    SwarmAnalysisConfig,
    forward_moves,
    swarm_results,
)
from ravebear.research.swarm.view import describe, figures, tables

NAME = "swarm"
TITLE = "The signal swarm: hit rates, agreement, calibration"
DEFINITION = (compute.__doc__ or "").split("\n\n", 1)[1].strip()
__all__ = [
    "DEFINITION", "NAME", "TITLE", "SwarmAnalysisConfig", "apply_overrides", "describe", "figures", "forward_moves", "funding_per_bar",
    "instrument_of", "load_funding", "run", "tables",
]  # fmt: skip

_OWN = {"horizons": "comma-separated whole minutes", "min_move_bps": "bps", "confluence": "bots", "min_votes": "votes", "score_buckets": "comma-separated scores"}
_SWARM = ("bots", "consensus", "regime", "settings")


def _scalar(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_overrides(config: SwarmAnalysisConfig, overrides: list[str] | tuple[str, ...]) -> SwarmAnalysisConfig:
    """`--set KEY=VALUE`: the analysis's own keys (horizons, min_move_bps, confluence, min_votes, score_buckets) or the
    swarm's (`bots=A,B`, `consensus.FIELD`, `regime.FIELD`, `settings.BOT.FIELD`, as a run file's swarm: section).
    A ValueError naming the setting otherwise."""
    from ravebear.strategies.swarm.config import swarm_config_from_mapping

    swarm: dict[str, Any] = {}
    own: dict[str, Any] = {}
    for override in overrides:
        key, sep, value = override.partition("=")
        key = key.strip()
        head = key.split(".", 1)[0]
        if not sep or (head not in _SWARM and key not in _OWN):
            known = ", ".join([*_OWN, "bots", "consensus.FIELD", "regime.FIELD", "settings.BOT.FIELD"])
            raise ValueError(f"--set {override}: expected KEY=VALUE with KEY one of {known}")
        if key in _OWN:
            parts = [p.strip() for p in value.split(",") if p.strip()]
            try:
                numbers = [float(p) for p in parts]
            except ValueError:
                raise ValueError(f"--set {override}: {value!r} is not {'a number' if key in ('min_move_bps',) else _OWN[key]}") from None
            own[key] = numbers
            continue
        if key == "bots":
            swarm["bots"] = [p.strip() for p in value.split(",") if p.strip()]
            continue
        target = swarm
        path = key.split(".")
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = _scalar(value)
    changes: dict[str, Any] = {}
    for key, numbers in own.items():
        if key == "horizons":
            if not numbers or any(n < 1 or not n.is_integer() for n in numbers):
                raise ValueError(f"--set horizons must be whole minutes of at least 1, got {','.join(f'{n:g}' for n in numbers)}")
            changes[key] = tuple(int(n) for n in numbers)
        elif key == "score_buckets":
            if len(numbers) < 2 or any(b <= a for a, b in itertools.pairwise(numbers)) or numbers[0] < 0 or numbers[-1] > 100:
                raise ValueError(f"--set score_buckets must be at least two rising scores between 0 and 100, got {','.join(f'{n:g}' for n in numbers)}")
            changes[key] = tuple(numbers)
        else:
            if len(numbers) != 1:
                raise ValueError(f"--set {key} takes one number, got {len(numbers)}")
            number = numbers[0]
            if key == "min_move_bps":
                if number < 0:
                    raise ValueError(f"--set min_move_bps must be at least 0 bps, got {number:g}")
                changes[key] = number
            else:
                if number < 1 or not number.is_integer():
                    raise ValueError(f"--set {key} must be a whole number of at least 1 {_OWN[key]}, got {number:g}")
                changes[key] = int(number)
    if swarm:
        try:
            changes["swarm"] = swarm_config_from_mapping(swarm, prefix="")
        except ValueError as exc:
            raise ValueError(f"--set: {exc}") from None
    return dataclasses.replace(config, **changes)


def instrument_of(bar_type: str) -> str:
    """`BTC-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL` -> `BTC-USDT-SWAP.OKX`."""
    return bar_type.rsplit("-", 4)[0]


def load_funding(catalog: Any, instrument_id: str) -> pd.DataFrame:
    """The settled funding rates (`FundingRate`, not predicted) the catalog holds for one instrument: ts_ns (ts_event),
    rate (fraction per funding interval), oldest first; empty when none are stored."""
    from ravebear.catalog.alt_data import AltDataStore, FundingRate

    table = AltDataStore(catalog).read_table(FundingRate, instrument_id)
    frame = pd.DataFrame({"ts_ns": table.column("ts_event").to_numpy().astype(np.int64), "rate": table.column("close").to_numpy(),
                          "predicted": table.column("predicted").to_numpy()})  # fmt: skip
    return frame[~frame["predicted"]].drop(columns="predicted").sort_values("ts_ns", kind="stable").reset_index(drop=True)


def funding_per_bar(close_ns: np.ndarray, funding: pd.DataFrame | None) -> np.ndarray | None:
    """The last funding rate known at each bar's close (ts_event at or before it; NaN before any), as the node feeds it."""
    if funding is None or funding.empty:
        return None
    later = np.searchsorted(funding["ts_ns"].to_numpy(np.int64), close_ns, side="right") - 1
    rates = funding["rate"].to_numpy(np.float64)
    return np.where(later >= 0, rates[np.maximum(later, 0)], np.nan)


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def run(frame: pd.DataFrame, bar_type: str, config: SwarmAnalysisConfig | None = None, reference: pd.DataFrame | None = None,
        reference_type: str | None = None, funding: pd.DataFrame | None = None) -> dict[str, Any]:  # fmt: skip
    """Analyse the swarm over 1-minute candles (`ts` = open time in ms, OHLCV); `reference` the reference instrument's
    candles (its close feeds CorrBreak at the same minute); `funding` the instrument's settled funding rates (ts_ns,
    rate; FundArb). Returns the results dict of the research report."""
    from ravebear.research.fast_swarm import run_swarm_fast
    from ravebear.research.runner import to_jsonable

    config = config or SwarmAnalysisConfig()
    started = time.perf_counter()
    ts_ms = frame["ts"].to_numpy(np.int64)
    ts_ns = (ts_ms + 60_000) * 1_000_000
    ref = None
    if reference is not None:
        ref = frame[["ts"]].merge(reference[["ts", "close"]], on="ts", how="left")["close"].to_numpy(np.float64)
    cols = [frame[k].to_numpy(np.float64) for k in ("open", "high", "low", "close", "volume")]
    fast = run_swarm_fast(ts_ns, *cols, funding=funding_per_bar(ts_ns, funding), reference=ref, config=config.swarm)
    swarm_s = time.perf_counter() - started
    result = swarm_results(ts_ns, cols[3], fast, config)
    gaps = np.flatnonzero(np.diff(ts_ms) > 60_000)
    meta = {
        "bar_type": bar_type,
        "candles_1m": len(frame),
        "first_open_utc": _utc(int(ts_ms[0])),
        "last_open_utc": _utc(int(ts_ms[-1])),
        "gaps": len(gaps),
        "missing_minutes": int(sum((ts_ms[g + 1] - ts_ms[g]) // 60_000 - 1 for g in gaps)),
        "reference": reference_type,
        "funding_rates": 0 if funding is None else len(funding),
    }
    meta["rows"] = [
        ["bar type", bar_type],
        ["1-minute candles", f"{len(frame):,}"],
        ["first / last open (UTC)", f"{meta['first_open_utc']} / {meta['last_open_utc']}"],
        ["gaps (missing minutes)", f"{meta['gaps']} ({meta['missing_minutes']:,})"],
        ["reference (CorrBreak)", reference_type or "none (--reference)"],
        ["funding rates (FundArb)", f"{meta['funding_rates']:,} stored for {instrument_of(bar_type)}"],
    ]
    settings = {"horizons": list(config.horizons), "min_move_bps": config.min_move_bps, "confluence": config.confluence, "min_votes": config.min_votes,
                "consensus": dataclasses.asdict(config.swarm.consensus), "regime": dataclasses.asdict(config.swarm.regime), "bots": list(fast.names)}  # fmt: skip
    timings = {"swarm": round(swarm_s, 3), "analysis": round(time.perf_counter() - started - swarm_s, 3)}
    return to_jsonable({"meta": meta, "config": {"swarm": settings}, "analyses": {NAME: result}, "timings_s": timings})
