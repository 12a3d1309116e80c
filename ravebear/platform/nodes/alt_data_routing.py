"""Which alternative data a node gets: the live sources a run file names (with their keys), and the entry-filter
data that nothing in the node serves, both said before the node starts."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import msgspec

from ravebear.platform.nodes.component_checks import source_config
from ravebear.platform.nodes.run_file import RunFile


@dataclass(frozen=True)
class LiveSources:
    """The live alternative-data clients of a node, and the sources left out."""

    clients: dict[str, Any]  # client id -> adapter config
    factories: dict[str, type]  # client id -> factory
    serves: dict[str, str]  # alternative-data type name -> client id
    warnings: tuple[str, ...]
    left_out: tuple[str, ...] = ()  # type names of the sources left out (their warning says so already)


def live_sources(config: RunFile, environ: dict[str, str] | None = None) -> LiveSources:
    """The `sources:` of a run file as data clients; a source whose API key is not set is left out with a warning."""
    from ravebear.adapters.sources import LIVE_SOURCES

    environ = os.environ if environ is None else environ
    clients: dict[str, Any] = {}
    factories: dict[str, type] = {}
    serves: dict[str, str] = {}
    warnings = []
    left_out: list[str] = []
    for name, values in config.sources.configured().items():
        source = LIVE_SOURCES[name]
        if source.api_key_env and not (environ.get(source.api_key_env) or "").strip():
            warnings.append(
                f"sources.{name}: {source.api_key_env} is not set (environment or .env), so {source.service} is left out; "
                f"the entry filter's missing_data policy applies to {', '.join(source.publishes)}",
            )
            left_out.extend(source.publishes)
            continue
        clients[source.client_id] = source_config(name, values, f"sources.{name}")
        factories[source.client_id] = source.factory_class()
        serves.update(dict.fromkeys(source.publishes, source.client_id))
    return LiveSources(clients, factories, serves, tuple(warnings), tuple(left_out))


def unserved_filter_data(strategies: list, serves: dict[str, str]) -> tuple[str, ...]:
    """One warning per alternative-data type a strategy's entry filter reads that no client of the node serves.

    Without it the filter's condition silently counts as missing on every entry (its `missing_data` policy
    decides). A strategy with its own `alt_data_client` is taken at its word.
    """
    from ravebear.strategies.entry_filter import CONDITION_DATA_TYPES, EntryFilterConfig

    unserved: dict[str, set[str]] = {}
    for strategy in strategies:
        raw = strategy.config.get("entry_filter")
        if not raw or strategy.config.get("alt_data_client"):
            continue
        for condition in msgspec.convert(raw, EntryFilterConfig).conditions:
            for name in CONDITION_DATA_TYPES.get(condition, ()):
                if name not in serves:
                    unserved.setdefault(name, set()).add(condition)
    return tuple(
        f"entry_filter: {', '.join(sorted(conditions))} reads {name}, which nothing in this node serves "
        "(add a source under sources:, or alt_data.types for a backtest or replay); its missing_data policy decides every entry"
        for name, conditions in sorted(unserved.items())
    )


def unserved_swarm_signals(config: RunFile, strategies: list) -> tuple[str, ...]:
    """One warning per strategy copy whose `entry_filter.swarm` conditions read SwarmSignals of an instrument no
    SwarmActor under `actors:` watches (its `missing_data` policy then decides every entry)."""
    from ravebear.strategies.entry_filter import EntryFilterConfig

    watched = {
        name for actor in config.actors if actor.actor_path.endswith(":SwarmActor") for name in actor.config.get("instrument_ids") or ()
    }  # fmt: skip
    warnings = []
    for strategy in strategies:
        raw = strategy.config.get("entry_filter")
        instrument = str(strategy.config.get("instrument_id", ""))
        if raw and msgspec.convert(raw, EntryFilterConfig).swarm.conditions() and instrument not in watched:
            warnings.append(f"entry_filter.swarm: no SwarmActor under actors: watches {instrument}; its missing_data policy decides every entry")
    return tuple(dict.fromkeys(warnings))
