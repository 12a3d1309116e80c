"""The `optimize:` section of a space file: sampler, trial count, objectives, feasibility, pruning, walk-forward,
the plateau choice and the overfitting checks' settings, each with its unit."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ravebear.platform.nodes.run_file import ConfigError
from ravebear.time_units import NS_PER_DAY, NS_PER_HOUR, NS_PER_MINUTE

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(d|days?|h|hours?|m|min|minutes?|bars?)\s*$")
_UNIT_NS = {"d": NS_PER_DAY, "h": NS_PER_HOUR, "m": NS_PER_MINUTE, "b": NS_PER_MINUTE}  # a bar: the catalog's 1-minute bar
OBJECTIVES = ("sharpe", "sortino", "calmar", "profit_factor", "expectancy", "max_drawdown", "return_pct")


def duration_ns(value: Any) -> int:
    """'4d', '12h', '90m', '60 bars' (1-minute bars) or 0 -> nanoseconds."""
    if value == 0:
        return 0
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"must be a duration like 4d, 12h, 90m or 60 bars (1-minute bars), got {value!r}")
    unit = match.group(2)
    key = "b" if unit.startswith("bar") else unit[0]
    return int(float(match.group(1)) * _UNIT_NS[key])


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WalkForward(_Section):
    """Folds over the run's data window: each optimises in-sample and evaluates out-of-sample (docs/OPTIMIZE.md)."""

    mode: Literal["anchored", "rolling"] = "anchored"
    folds: int = Field(3, ge=1, le=50)
    test: str  # out-of-sample length of each fold
    train: str | None = None  # in-sample length (rolling: required; anchored: in-sample starts at the data start)
    purge: str | int = 0  # cut from the end of each in-sample window
    embargo: str | int = 0  # cut from the start of each out-of-sample window

    @field_validator("test", "train", "purge", "embargo")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if value is not None:
            duration_ns(value)
        return value


class OptimizeSettings(_Section):
    """Search settings; the CLI's options override them."""

    sampler: Literal["grid", "random", "tpe"] = "tpe"
    trials: int = Field(50, ge=1, le=1_000_000)  # per study (per fold in a walk-forward); grid: the grid's size
    seed: int = 42
    objectives: list[str] = Field(default_factory=lambda: ["sharpe"], min_length=1)
    min_trades: int = Field(1, ge=0)  # a trial with fewer closed trades is infeasible, never "best"
    prune_segment: float = Field(0.34, ge=0, lt=1)  # fraction of the in-sample window run first to prune a hopeless trial (0 = off)
    prune_startup: int = Field(5, ge=0)  # trials completed before the pruner may stop one
    choose: Literal["plateau", "best"] = "plateau"
    plateau_radius: float = Field(0.25, gt=0, le=1)  # neighbourhood: within this fraction of every param's span
    returns_freq: str = "1h"  # sampling of equity returns for the DSR and PBO
    pbo_groups: int = Field(8, ge=2, le=16)  # CSCV's S (even)
    walk_forward: WalkForward | None = None

    @field_validator("objectives")
    @classmethod
    def _objectives(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in OBJECTIVES:
                import difflib

                close = difflib.get_close_matches(name, OBJECTIVES, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ValueError(f"unknown objective '{name}'{hint}; choose from {', '.join(OBJECTIVES)}")
        return value

    @field_validator("pbo_groups")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError(f"must be even (CSCV splits the groups in halves), got {value}")
        return value


def parse_settings(raw: Any, source: str) -> OptimizeSettings:
    """Validate the `optimize:` section; raise ConfigError naming each bad key (with did-you-mean)."""
    import difflib

    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: 'optimize' must be a mapping of settings, got {raw!r}")
    try:
        return OptimizeSettings.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for item in exc.errors():
            path = "optimize." + ".".join(str(part) for part in item["loc"])
            if item["type"] == "extra_forbidden":
                model = WalkForward if item["loc"][0] == "walk_forward" else OptimizeSettings
                close = difflib.get_close_matches(str(item["loc"][-1]), list(model.model_fields), n=1)
                lines.append(f"unknown key '{path}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
            else:
                message = item["msg"].removeprefix("Value error, ")
                lines.append(f"'{path}' {message}" if message.startswith("must be") else f"'{path}': {message}")
        raise ConfigError(f"{source}: " + "; ".join(lines)) from None
