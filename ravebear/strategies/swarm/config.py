"""`SwarmConfig` from a run file's mapping: unknown keys named with did-you-mean, numbers range-checked with the
one wording of `ravebear.ranges`, unknown bot names named. Every error is one line naming `<prefix><key>`."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import MISSING, fields
from typing import Any

from ravebear.strategies.swarm.bot import GROUPS
from ravebear.strategies.swarm.bots import BOTS
from ravebear.strategies.swarm.consensus import ConsensusConfig, check_consensus_config
from ravebear.strategies.swarm.regime import RegimeConfig, check_regime_config
from ravebear.strategies.swarm.swarm import SwarmConfig

SWARM_KEYS = ("bots", "settings", "consensus", "regime")


def _unknown(prefix: str, key: str, known: list[str], where: str) -> ValueError:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else f"; {where} has {', '.join(known)}" if known else ""
    return ValueError(f"unknown key '{prefix}{key}'{hint}")


def _typed(key: str, value: Any, default: Any) -> Any:
    """`value` checked against the type of the field's default (an int is a fine float; a bool is no number)."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{key} must be true or false, got {value!r}")  # noqa: TRY004 - a run-file mistake is a ValueError like every other one
        return value
    if isinstance(default, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{key} must be a number, got {value!r}")  # noqa: TRY004 - a run-file mistake is a ValueError like every other one
        if isinstance(default, int) and not float(value).is_integer():
            raise ValueError(f"{key} must be a whole number, got {value!r}")
        return int(value) if isinstance(default, int) else float(value)
    if isinstance(default, str) and not isinstance(value, str):
        raise ValueError(f"{key} must be text, got {value!r}")  # noqa: TRY004 - a run-file mistake is a ValueError like every other one
    return value


def dataclass_from_mapping(cls: type, values: Any, prefix: str) -> Any:
    """An instance of the dataclass `cls` from run-file values; errors name `<prefix><key>`."""
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        raise ValueError(f"{prefix.rstrip('.')} must be a mapping of settings, got {values!r}")  # noqa: TRY004 - a run-file mistake is a ValueError like every other one
    defaults = {f.name: (f.default if f.default is not MISSING else f.default_factory()) for f in fields(cls)}  # type: ignore[misc]
    known = list(defaults)
    converted: dict[str, Any] = {}
    for key, value in values.items():
        if key not in defaults:
            raise _unknown(prefix, key, known, prefix.rstrip(".") or cls.__name__)
        if isinstance(defaults[key], dict):
            if not isinstance(value, Mapping):
                raise ValueError(f"{prefix}{key} must be a mapping of name: number, got {value!r}")  # noqa: TRY004 - a run-file mistake is a ValueError like every other one
            value = {str(name): _typed(f"{prefix}{key}.{name}", number, 1.0) for name, number in value.items()}
        converted[key] = _typed(f"{prefix}{key}", value, defaults[key])
    return cls(**converted)


def _bot_name(name: Any, key: str) -> str:
    if not isinstance(name, str) or name not in BOTS:
        close = difflib.get_close_matches(str(name), list(BOTS), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f"; known bots: {', '.join(BOTS)}" if BOTS else "; no bots are defined"
        raise ValueError(f"{key}: unknown bot {name!r}{hint}")
    return name


def swarm_config_from_mapping(mapping: Any, prefix: str = "swarm.") -> SwarmConfig:
    """A `SwarmConfig` from a run file's `swarm:` mapping (keys: bots, settings, consensus, regime)."""
    if mapping is None:
        mapping = {}
    if not isinstance(mapping, Mapping):
        raise ValueError(f"{prefix.rstrip('.')} must be a mapping with keys {', '.join(SWARM_KEYS)}, got {mapping!r}")  # noqa: TRY004 - a run-file mistake is a ValueError like every other one
    for key in mapping:
        if key not in SWARM_KEYS:
            raise _unknown(prefix, key, list(SWARM_KEYS), prefix.rstrip("."))
    bots_value = mapping.get("bots") or []
    if isinstance(bots_value, str) or not isinstance(bots_value, (list, tuple)):
        raise ValueError(f"{prefix}bots must be a list of bot names, got {bots_value!r}")  # noqa: TRY004 - a run-file mistake is a ValueError like every other one
    bots = tuple(_bot_name(name, f"{prefix}bots") for name in bots_value)
    if len(set(bots)) != len(bots):
        twice = next(name for name in bots if bots.count(name) > 1)
        raise ValueError(f"{prefix}bots names {twice!r} twice")
    settings_value = mapping.get("settings") or {}
    if not isinstance(settings_value, Mapping):
        raise ValueError(f"{prefix}settings must be a mapping of bot name: settings, got {settings_value!r}")  # noqa: TRY004 - a run-file mistake is a ValueError like every other one
    settings: dict[str, dict[str, Any]] = {}
    for name, values in settings_value.items():
        _bot_name(name, f"{prefix}settings")
        if bots and name not in bots:
            raise ValueError(f"{prefix}settings.{name}: {name} is not in {prefix}bots")
        bot_prefix = f"{prefix}settings.{name}."
        config = dataclass_from_mapping(BOTS[name].config_class, values, bot_prefix)
        BOTS[name].from_settings({f.name: getattr(config, f.name) for f in fields(config)}, bot_prefix)  # ranges
        settings[name] = dict(values or {})
    consensus = dataclass_from_mapping(ConsensusConfig, mapping.get("consensus"), f"{prefix}consensus.")
    names = set(bots or BOTS)
    for name in consensus.weights:
        _bot_name(name, f"{prefix}consensus.weights")
        if name not in names:
            raise ValueError(f"{prefix}consensus.weights.{name}: {name} is not in {prefix}bots")
    for group in consensus.group_weights:
        if group not in GROUPS:
            raise _unknown(f"{prefix}consensus.group_weights.", group, list(GROUPS), "groups")
    check_consensus_config(consensus, f"{prefix}consensus.")
    if bots and consensus.min_voters > len(bots):  # no candle could ever reach a consensus
        raise ValueError(f"{prefix}consensus.min_voters ({consensus.min_voters}) is more than the {len(bots)} bots in {prefix}bots")
    regime = dataclass_from_mapping(RegimeConfig, mapping.get("regime"), f"{prefix}regime.")
    check_regime_config(regime, f"{prefix}regime.")
    return SwarmConfig(bots=bots, settings=settings, consensus=consensus, regime=regime)
