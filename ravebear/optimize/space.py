"""The search space file: dotted run-file keys with ranges or choices, plus an `optimize:` section of settings.

Every key is checked against the run file and its component's config class before any trial: the run file with the
key set to each end of its range (and to each choice) must parse, so an unknown key gets the run file's
did-you-mean and a value outside the config's own Range fails the whole space with the Range wording.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import yaml

from ravebear.optimize.settings import OptimizeSettings, parse_settings
from ravebear.platform.nodes.run_file import ConfigError, RunFile, load_yaml_mapping, parse_run_file

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_SCALARS = (bool, int, float, str, type(None))


def path_parts(key: str) -> list[str | int]:
    """'strategies[0].config.exits.trailing_offset_bps' -> ['strategies', 0, 'config', 'exits', 'trailing_offset_bps']."""
    parts: list[str | int] = []
    position = 0
    for match in _TOKEN.finditer(key):
        between = key[position : match.start()]
        if between not in ("", "."):
            raise ConfigError(f"'{key}' is not a dotted run-file key (like strategies[0].config.exits.trailing_offset_bps)")
        parts.append(int(match.group(2)) if match.group(2) is not None else match.group(1))
        position = match.end()
    if not parts or position != len(key) or isinstance(parts[0], int):
        raise ConfigError(f"'{key}' is not a dotted run-file key (like strategies[0].config.exits.trailing_offset_bps)")
    return parts


def set_path(raw: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """A copy of the run file's mapping with `key` set to `value` (missing mappings on the way are created)."""
    result = copy.deepcopy(raw)
    node: Any = result
    parts = path_parts(key)
    for depth, part in enumerate(parts[:-1]):
        where = key if depth == 0 else f"'{_joined(parts[: depth + 1])}'"
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                have = len(node) if isinstance(node, list) else 0
                raise ConfigError(f"{where}: the run file has no {_joined(parts[: depth + 1])} (it has {have})")
            node = node[part]
            continue
        if not isinstance(node, dict):
            raise ConfigError(f"'{key}': {_joined(parts[:depth])} is not a mapping in the run file")
        node = node.setdefault(part, {} if not isinstance(parts[depth + 1], int) else [])
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise ConfigError(f"'{key}': the run file has no {_joined(parts)}")
    elif not isinstance(node, dict):
        raise ConfigError(f"'{key}': {_joined(parts[:-1])} is not a mapping in the run file")
    node[last] = value
    return result


def _joined(parts: list[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(parts))


@dataclass(frozen=True)
class Param:
    """One searched key: a range (`low`..`high`, optional `step`, `log`) or a list of `choices`."""

    key: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple[Any, ...] | None = None

    @property
    def is_int(self) -> bool:
        """A range of whole numbers (int low, high and step): suggested as an int."""
        return self.choices is None and all(isinstance(v, int) and not isinstance(v, bool) for v in (self.low, self.high, self.step or 1))

    def grid(self) -> list[Any] | None:
        """Every value of the param, or None when it has no finite list (a range without a step)."""
        if self.choices is not None:
            return list(self.choices)
        if self.step is None:
            return None
        count = math.floor((self.high - self.low) / self.step + 1e-9) + 1
        values = [self.low + i * self.step for i in range(count)]
        return [int(v) for v in values] if self.is_int else [round(float(v), 12) for v in values]

    def ends(self) -> list[Any]:
        """The values checked against the run file before any trial: both ends, or every choice."""
        return list(self.choices) if self.choices is not None else [self.low, self.high]

    def suggest(self, trial: Any) -> Any:
        """Ask an Optuna trial for this param's value."""
        if self.choices is not None:
            return trial.suggest_categorical(self.key, list(self.choices))
        if self.is_int:
            return trial.suggest_int(self.key, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.key, float(self.low), float(self.high), step=self.step, log=self.log)

    def scale(self, value: Any) -> float:
        """The value placed on 0..1 over the param's span (log span for log params; choice index for choices)."""
        if self.choices is not None:
            index = list(self.choices).index(value) if value in self.choices else 0
            return index / max(len(self.choices) - 1, 1)
        low, high, v = float(self.low), float(self.high), float(value)
        if self.log:
            low, high, v = math.log(low), math.log(high), math.log(v)
        return (v - low) / (high - low) if high > low else 0.0


@dataclass(frozen=True)
class Space:
    """The searched params and the search settings."""

    params: tuple[Param, ...]
    settings: OptimizeSettings

    def grid_points(self) -> list[dict[str, Any]]:
        """Every combination of the params' values (the grid sampler's trials)."""
        lists = []
        for param in self.params:
            values = param.grid()
            if values is None:
                raise ConfigError(f"'{param.key}': the grid sampler needs a step or choices (it has low/high only)")
            lists.append(values)
        mesh = np.array(np.meshgrid(*[np.arange(len(v)) for v in lists], indexing="ij")).reshape(len(lists), -1).T
        return [{p.key: lists[i][j] for i, (p, j) in enumerate(zip(self.params, row, strict=True))} for row in mesh]


def _param(key: str, spec: Any, source: str) -> Param:
    where = f"{source}: '{key}'"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where} must be a mapping like {{low: 30, high: 120, step: 10}} or {{choices: [a, b]}}, got {spec!r}")
    unknown = set(spec) - {"low", "high", "step", "log", "choices"}
    if unknown:
        import difflib

        name = min(unknown)
        close = difflib.get_close_matches(name, ["low", "high", "step", "log", "choices"], n=1)
        raise ConfigError(f"{where}: unknown setting '{name}'" + (f" (did you mean '{close[0]}'?)" if close else "") + "; use low/high/step/log or choices")
    if "choices" in spec:
        choices = spec["choices"]
        if set(spec) != {"choices"} or not isinstance(choices, list) or not choices:
            raise ConfigError(f"{where}: choices must be a non-empty list and stand alone (no low/high/step/log)")
        if not all(isinstance(c, _SCALARS) for c in choices):
            raise ConfigError(f"{where}: choices must be numbers, strings, booleans or null (Optuna stores only those)")
        return Param(key=key, choices=tuple(choices))
    if "low" not in spec or "high" not in spec:
        raise ConfigError(f"{where} needs both low and high (or choices)")
    low, high, step, log = spec["low"], spec["high"], spec.get("step"), bool(spec.get("log", False))
    for name, value in (("low", low), ("high", high), ("step", step)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ConfigError(f"{where}: {name} must be a number, got {value!r}")
    if not low < high:
        raise ConfigError(f"{where}: low {low} must be below high {high}")
    if step is not None and step <= 0:
        raise ConfigError(f"{where}: step must be above 0, got {step}")
    if log and (low <= 0 or step is not None):
        raise ConfigError(f"{where}: a log range needs low above 0 and no step")
    return Param(key=key, low=low, high=high, step=step, log=log)


def parse_space(text: str, run_raw: dict[str, Any], source: str = "space") -> Space:
    """Parse a space file and check every key and every end of its range against the run file; raise ConfigError."""
    raw = load_yaml_mapping(text, source, "a mapping of dotted run-file keys to ranges, e.g. 'strategies[0].config.exits.trailing_offset_bps: {low: 30, high: 120, step: 10}'")
    settings = parse_settings(raw.pop("optimize", None) or {}, source)
    if not raw:
        raise ConfigError(f"{source}: no parameters to search (add a dotted run-file key with low/high or choices)")
    params = tuple(_param(str(key), spec, source) for key, spec in raw.items())
    for param in params:
        for value in param.ends():
            parse_run_file(yaml.safe_dump(set_path(run_raw, param.key, value), sort_keys=False), f"{source}: {param.key}={value}")
    space = Space(params=params, settings=settings)
    if settings.sampler == "grid":
        space.grid_points()
    return space


def apply_params(run_raw: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The run file's mapping with every searched key set."""
    result = run_raw
    for key, value in params.items():
        result = set_path(result, key, value)
    return result


def run_file_with(run_raw: dict[str, Any], params: dict[str, Any], start: str | None = None, end: str | None = None) -> RunFile:
    """The parsed run file with `params` set and, when given, every data entry cut to start..end."""
    raw = apply_params(run_raw, params)
    if start is not None or end is not None:
        raw = copy.deepcopy(raw)
        for data in raw.get("data") or []:
            data["start"], data["end"] = start, end
    return parse_run_file(yaml.safe_dump(raw, sort_keys=False), "trial")
