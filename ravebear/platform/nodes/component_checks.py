"""Each run-file component checked against its own config class: strategies and actors (with the account-wide
`risk:` merged in), the guards, and the live sources; errors name the run-file key the value came from."""

from __future__ import annotations

import difflib
import re
from typing import Any

from ravebear.platform.nodes.run_file import ActorSection, ConfigError, StrategySection


def with_account_risk(config: dict[str, Any], fields: set[str], risk: dict[str, Any] | None) -> dict[str, Any]:
    """Give a strategy the file's account-wide `risk` limits as its `guards` unless it sets its own."""
    if risk and "guards" in fields and "guards" not in config:
        return {**config, "guards": dict(risk)}
    return config


def component_fields(component: StrategySection | ActorSection) -> set[str]:
    """Return the field names of a component's config class."""
    import importlib

    import msgspec

    module_name, _, class_name = component_config_path(component).partition(":")
    config_cls = getattr(importlib.import_module(module_name), class_name)
    return {field.name for field in msgspec.structs.fields(config_cls)}


def default_actor_instruments(config: Any) -> None:
    """An actor whose config class has `instrument_ids` and whose section leaves it out watches every instrument
    under data: (so narrowing data: narrows the actors with it)."""
    instruments = list(dict.fromkeys(data.instrument_id for data in config.data if data.kind == "bars"))
    for actor in config.actors:
        if "instrument_ids" not in actor.config:
            try:
                fields = component_fields(actor)
            except (ImportError, AttributeError):
                continue  # named by check_component_config
            if "instrument_ids" in fields:
                actor.config["instrument_ids"] = list(instruments)


def check_risk(risk: dict[str, Any], where: str) -> None:
    """Reject unknown or ill-typed account-wide risk limits by name."""
    import msgspec

    from ravebear.risk.guards import GuardLimits

    try:
        msgspec.convert(risk, GuardLimits)
    except msgspec.ValidationError as exc:
        found = _RANGE_ERROR.match(str(exc))
        if found and found.group(1).startswith("guards."):
            source = where.rpartition(": ")[0]
            raise ConfigError(f"{source}: 'risk.{found.group(1).removeprefix('guards.')}' {found.group(2)}") from None
        raise ConfigError(f"{where}: {_msgspec_message(exc, GuardLimits)}") from None


# "<key> must be <range>, got <value>" from a config class's own checks (ravebear.ranges), with msgspec's " - at `$.x`"
_RANGE_ERROR = re.compile(r"^([\w.]+) (must be .*?)(?: - at `\$[^`]*`)?$")


def _has(values: dict[str, Any], dotted: str) -> bool:
    for part in dotted.split("."):
        if not isinstance(values, dict) or part not in values:
            return False
        values = values[part]
    return True


def _range_error(text: str, where: str, component: StrategySection | ActorSection, instrument_id: str | None) -> str | None:
    """A range error with the run-file key it came from: the instrument's override, the config, or the account `risk`."""
    found = _RANGE_ERROR.match(text)
    if not found:
        return None
    key, rest = found.groups()
    source, _, section = where.rpartition(": ")
    overrides = component.instruments.get(instrument_id) or {} if isinstance(component, StrategySection) and instrument_id else {}
    if _has(overrides, key):
        return f"{source}: '{section}.instruments.{instrument_id}.{key}' {rest}"
    if key.startswith("guards.") and not _has(dict(component.config), key):
        return f"{source}: 'risk.{key.removeprefix('guards.')}' {rest}"
    return f"{source}: '{section}.config.{key}' {rest}"


def source_config(name: str, values: dict[str, Any], where: str) -> Any:
    """Validate one `sources:` entry into its adapter's frozen config class; unknown keys named, with a suggestion."""
    import msgspec

    from ravebear.adapters.sources import LIVE_SOURCES

    config_cls = LIVE_SOURCES[name].config_class()
    try:
        return msgspec.convert(values, config_cls)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{where}: {_msgspec_message(exc, config_cls)}") from None


def _msgspec_message(exc: Exception, struct: type) -> str:
    """Turn msgspec's 'Object contains unknown field `x` - at `$.exits`' into our wording, with a suggestion."""
    text = str(exc)
    found = re.search(r"unknown field `([^`]+)`(?: - at `\$\.?([^`]*)`)?", text)
    if not found:
        return text.replace("`$.", "`")
    key, at = found.group(1), found.group(2) or ""
    target = struct
    import msgspec

    for part in filter(None, re.split(r"[.\[\]]", at)):
        fields = {f.name: f for f in msgspec.structs.fields(target)}
        field = fields.get(part)
        annotation = getattr(field, "type", None)
        if not (isinstance(annotation, type) and issubclass(annotation, msgspec.Struct)):
            target = None
            break
        target = annotation
    names = [f.name for f in msgspec.structs.fields(target)] if target is not None else []
    close = difflib.get_close_matches(key, names, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown key '{at + '.' if at else ''}{key}'{hint}"


def component_config_path(component: StrategySection | ActorSection) -> str:
    """Return the config class path of a strategy or actor section."""
    return component.config_path or f"{component.component_path}Config"


def check_component_config(component: StrategySection | ActorSection, where: str, risk: dict[str, Any] | None = None) -> None:
    """Import the component's config class and reject unknown keys by name (nested sections too)."""
    import importlib

    import msgspec

    path = component_config_path(component)
    module_name, _, class_name = path.partition(":")
    try:
        config_cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        kind = "strategy" if isinstance(component, StrategySection) else "actor"
        raise ConfigError(f"{where}: cannot import {kind} config '{path}': {exc}") from None
    fields = {field.name for field in msgspec.structs.fields(config_cls)}
    sources = [("config", dict(component.config))]
    if isinstance(component, StrategySection):
        sources += [(f"instruments.{instrument_id}", overrides or {}) for instrument_id, overrides in component.instruments.items()]
    for prefix, keys in sources:
        for key in keys:
            if key not in fields:
                close = difflib.get_close_matches(key, sorted(fields), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ConfigError(f"{where}: unknown key '{prefix}.{key}' for {config_cls.__name__}{hint}")
    component_module, _, component_name = component.component_path.partition(":")
    configs = component.expanded() if isinstance(component, StrategySection) else [dict(component.config)]
    for config in configs:
        config = with_account_risk(config, fields, risk)
        label = f"{where}: config" + (f" for {config['instrument_id']}" if isinstance(component, StrategySection) and component.instruments else "")
        try:
            parsed = config_cls.parse(msgspec.json.encode(config))
            # the component's own checks (sides, level-engine keys, zone kinds...) run in its constructor
            getattr(importlib.import_module(component_module), component_name)(parsed)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            ranged = _range_error(str(exc), where, component, config.get("instrument_id"))
            if ranged:
                raise ConfigError(ranged) from None
            raise ConfigError(f"{label}: {_msgspec_message(exc, config_cls)} for {config_cls.__name__}") from None
        except (ValueError, TypeError, KeyError) as exc:
            raise ConfigError(_range_error(str(exc), where, component, config.get("instrument_id")) or f"{label}: {exc}") from None
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"{where}: cannot import '{component.component_path}': {exc}") from None


def check_node_section(values: dict[str, Any], where: str, section: str, config_cls: type, set_by_node: tuple[str, ...]) -> None:
    """A run-file section that configures one node actor (alerts:, ledger:): keys the node sets refused, unknown keys
    named with a suggestion, a value out of range with the Range wording and its run-file key."""
    import msgspec

    for key in set_by_node:
        if key in values:
            raise ConfigError(f"{where}: '{key}' is set by the node, not in {section}:")
    try:
        msgspec.convert(values, config_cls)
    except msgspec.ValidationError as exc:
        text = str(exc).split(" - at `$")[0]
        if "unknown field" in text:
            raise ConfigError(f"{where}: {_msgspec_message(exc, config_cls)}") from None
        if text.split(" ")[0] in values and " must be " in text:
            key, _, rest = text.partition(" ")
            raise ConfigError(f"{where.rpartition(': ')[0]}: '{section}.{key}' {rest}") from None
        raise ConfigError(f"{where}: {text}") from None
