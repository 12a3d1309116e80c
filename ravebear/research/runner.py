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

from ravebear.ranges import Range
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


POSITIVE, AT_LEAST_1 = Range(0, low_open=True), Range(1)
# what each field of the analysis configs may hold (the wick and box detectors use the run file's LEVEL_RANGES); a field not named here takes any value of its type
ALLOWED: dict[str, Range] = {
    "range_quantile": Range(0, 1, low_open=True, high_open=True), "min_range_bps": Range(0, unit="bps", low_open=True),
    "min_body_share": Range(0, 1), "horizons": Range(1, unit="candles"), "cooldown_candles": Range(0, unit="candles"),
    "percentiles": Range(0, 100, "%"), "band_bps": Range(0, unit="bps", low_open=True), "min_wicks": AT_LEAST_1,
    "peak_share": Range(0, 1, low_open=True), "max_zone_bands": AT_LEAST_1, "top": AT_LEAST_1, "window_hours": Range(1, 24, "hours"),
    "within_minutes": Range(1, unit="minutes"), "multiple": POSITIVE, "lookback": Range(1, unit="candles"),
    "chart_days": Range(0, unit="days", low_open=True),
}  # fmt: skip


def _kind(current: Any) -> str:
    if isinstance(current, bool):
        return "true or false"
    if isinstance(current, tuple):
        return "a comma-separated list of " + (_kind(current[0]).removeprefix("a ").removeprefix("an ") + "s" if current else "values")
    if isinstance(current, int):
        return "a whole number"
    if isinstance(current, float):
        return "a number"
    return "a value"


def _ranges_for(owner: Any) -> dict[str, Range]:
    """The ranges of a config's fields: a level detector's are the run file's (`levels:`), the analyses' are ALLOWED."""
    from ravebear.strategies.levels.boxes import BoxConfig
    from ravebear.strategies.levels.ranges import LEVEL_RANGES
    from ravebear.strategies.levels.wicks import WickConfig

    section = {WickConfig: "wicks", BoxConfig: "boxes"}.get(type(owner))
    return LEVEL_RANGES[section] if section else ALLOWED


def _checked(path: str, field_name: str, text: str, current: Any, owner: Any = None) -> Any:
    """The parsed value of `--set path=text`; a ValueError naming the setting, the value and what is allowed otherwise."""
    from ravebear.strategies.levels.timeframes import timeframe_minutes

    allowed = _ranges_for(owner).get(field_name)
    rule = f"; allowed: {allowed.text()}" if allowed is not None else ""
    kind = _kind(current) if current is not None else "a number or none"
    try:
        new = _parse(text, current)
    except ValueError:
        raise ValueError(f"--set {path}={text}: {text!r} is not {kind}{rule}") from None
    values = new if isinstance(new, tuple) else (new,)
    if allowed is not None and any(isinstance(value, str) for value in values):  # a field that may be None took a word
        raise ValueError(f"--set {path}={text}: {text!r} is not {kind}{rule}")
    if field_name.endswith("timeframes") or field_name.endswith("timeframe"):
        for value in values:
            try:
                timeframe_minutes(str(value))
            except ValueError as exc:
                raise ValueError(f"--set {path}={text}: {exc}") from None
    if allowed is not None:
        outside = [value for value in values if isinstance(value, (int, float)) and not allowed.allows(value)]
        if outside:
            raise ValueError(allowed.message(f"--set {path}", outside[0]))
    return new


def _replace(obj: Any, keys: list[str], value: str, path: str) -> Any:
    if obj is None or not dataclasses.is_dataclass(obj):
        raise ValueError(f"override {path!r}: nothing to set there")
    names = [f.name for f in dataclasses.fields(obj)]
    if keys[0] not in names:
        raise ValueError(f"override {path!r}: unknown field {keys[0]!r}; known: {', '.join(names)}")
    current = getattr(obj, keys[0])
    new = _replace(current, keys[1:], value, path) if len(keys) > 1 else _checked(path, keys[0], value, current, obj)
    try:
        return dataclasses.replace(obj, **{keys[0]: new})
    except ValueError as exc:  # a config's own check (e.g. BoxConfig's)
        raise ValueError(f"--set {path}={value}: {exc}") from None


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
