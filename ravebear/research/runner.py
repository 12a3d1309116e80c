"""Run a chosen set of analyses over one catalog bar series and date range -> one results dict.

Analyses (in report order): candle-stats, touch-times, sessions, big-moves, volume-spikes,
clusters, consolidations. Each lives in `ravebear/research/<name>.py` and offers `run(candles,
config) -> dict`, `tables(result)`, `figures(result)`, `TITLE` and `DEFINITION`. Thresholds are
fields of the per-analysis config dataclasses gathered in `AnalysisConfig`; `apply_overrides`
sets them from `section.field=value` strings (the CLI's `--set`).
"""

from __future__ import annotations

import dataclasses
import importlib
import time
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ravebear.research import ANALYSES
from ravebear.research.big_moves import BigMovesConfig
from ravebear.research.candle_stats import CandleStatsConfig
from ravebear.research.clusters import ClustersConfig
from ravebear.research.sessions import SessionsConfig
from ravebear.research.touch_times import TouchTimesConfig
from ravebear.research.volume_spikes import VolumeSpikesConfig

if TYPE_CHECKING:
    from ravebear.catalog.store import RaveCatalog
    from ravebear.research.data import Candles



def _consolidations_config() -> Any:
    try:
        from ravebear.research.consolidations import ConsolidationsConfig
    except ImportError:  # BoxDetector not available yet
        return None
    return ConsolidationsConfig()


@dataclass(frozen=True)
class AnalysisConfig:
    """Every analysis's thresholds; field names are the analysis names with underscores."""

    candle_stats: CandleStatsConfig = field(default_factory=CandleStatsConfig)
    touch_times: TouchTimesConfig = field(default_factory=TouchTimesConfig)
    sessions: SessionsConfig = field(default_factory=SessionsConfig)
    big_moves: BigMovesConfig = field(default_factory=BigMovesConfig)
    volume_spikes: VolumeSpikesConfig = field(default_factory=VolumeSpikesConfig)
    clusters: ClustersConfig = field(default_factory=ClustersConfig)
    consolidations: Any = field(default_factory=_consolidations_config)


def analysis_module(name: str) -> ModuleType:
    """Return the module of an analysis."""
    return importlib.import_module(f"ravebear.research.{name.replace('-', '_')}")


def resolve(names: list[str] | tuple[str, ...] | None) -> list[str]:
    """Normalize analysis names (`touch_times` = `touch-times`); none given = all, in report order."""
    if not names:
        return list(ANALYSES)
    wanted = {name.strip().lower().replace("_", "-") for name in names}
    unknown = sorted(wanted - set(ANALYSES))
    if unknown:
        raise ValueError(f"unknown analysis {', '.join(unknown)}; known: {', '.join(ANALYSES)}")
    return [name for name in ANALYSES if name in wanted]


def _parse(text: str, current: Any) -> Any:
    lowered = text.strip().lower()
    if isinstance(current, bool):
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected true/false, got {text!r}")
    if isinstance(current, tuple):
        sample = current[0] if current else None
        return tuple(_parse(part, sample) for part in text.split(",") if part.strip())
    if isinstance(current, int):
        return int(text)
    if isinstance(current, float):
        return float(text)
    if isinstance(current, str):
        return text
    if lowered in ("none", "null", ""):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def apply_overrides(config: AnalysisConfig, overrides: list[str] | tuple[str, ...]) -> AnalysisConfig:
    """Return `config` with `section.field[.field]=value` overrides applied (e.g. `big_moves.range_quantile=0.995`)."""
    for override in overrides:
        if "=" not in override:
            raise ValueError(f"override {override!r}: expected section.field=value")
        path, value = override.split("=", 1)
        keys = [key.strip().replace("-", "_") for key in path.split(".")]
        config = _replace(config, keys, value, path)
    return config


def _replace(obj: Any, keys: list[str], value: str, path: str) -> Any:
    if obj is None or not dataclasses.is_dataclass(obj):
        raise ValueError(f"override {path!r}: nothing to set there")
    names = [f.name for f in dataclasses.fields(obj)]
    if keys[0] not in names:
        raise ValueError(f"override {path!r}: unknown field {keys[0]!r}; known: {', '.join(names)}")
    current = getattr(obj, keys[0])
    new = _replace(current, keys[1:], value, path) if len(keys) > 1 else _parse(value, current)
    return dataclasses.replace(obj, **{keys[0]: new})


def to_jsonable(value: Any) -> Any:
    """Plain JSON types: numpy scalars to Python, NaN/inf to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    return value


def _utc(ms: int) -> str:
    return f"{pd.Timestamp(ms, unit='ms', tz='UTC'):%Y-%m-%d %H:%M}"


def run_analyses(candles: Candles, names: list[str] | None = None, config: AnalysisConfig | None = None) -> dict[str, Any]:
    """Run analyses over loaded candles; return {"meta", "config", "analyses", "timings_s"}."""
    config = config or AnalysisConfig()
    chosen = resolve(names)
    ts = candles.frame["ts"]
    gaps = candles.gaps()
    results: dict[str, Any] = {
        "meta": {
            "bar_type": candles.bar_type,
            "candles_1m": candles.rows,
            "first_open_utc": _utc(int(ts.iloc[0])) if len(ts) else None,
            "last_open_utc": _utc(int(ts.iloc[-1])) if len(ts) else None,
            "gaps": len(gaps),
            "missing_minutes": int(sum((after - before) // 60_000 - 1 for before, after in gaps)),
            "analyses": chosen,
        },
        "config": {},
        "analyses": {},
        "timings_s": {},
    }
    for name in chosen:
        attr = name.replace("-", "_")
        section = getattr(config, attr)
        started = time.perf_counter()
        if section is None:
            results["analyses"][name] = {"skipped": "ravebear.strategies.levels.boxes (BoxDetector) is not available"}
        else:
            results["config"][attr] = dataclasses.asdict(section)
            results["analyses"][name] = analysis_module(name).run(candles, section)
        results["timings_s"][name] = round(time.perf_counter() - started, 3)
    return to_jsonable(results)


def run(
    catalog: RaveCatalog, bar_type: str, start_ms: int | None = None, end_ms: int | None = None,
    names: list[str] | None = None, config: AnalysisConfig | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Load a bar series from the catalog and run analyses over it."""
    from ravebear.research.data import load

    started = time.perf_counter()
    candles = load(catalog, bar_type, start_ms, end_ms)
    loaded = time.perf_counter() - started
    results = run_analyses(candles, names, config)
    results["meta"]["catalog"] = str(catalog.path)
    results["meta"]["requested_start_utc"] = _utc(start_ms) if start_ms is not None else None
    results["meta"]["requested_end_utc"] = _utc(end_ms) if end_ms is not None else None
    results["timings_s"] = {"load": round(loaded, 3), **results["timings_s"]}
    return results
