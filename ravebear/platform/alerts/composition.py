"""The run file's `alerts:` section: checked against the AlertActor's config, and the actor each node gets
(backtests count alerts in shadow mode; paper and live nodes send them)."""

from __future__ import annotations

from typing import Any

from ravebear.platform.nodes.run_file import RunFile

ACTOR_PATH = "ravebear.platform.alerts.actor:AlertActor"
CONFIG_PATH = "ravebear.platform.alerts.actor:AlertActorConfig"
SET_BY_NODE = ("instrument_ids", "whale_client", "shadow", "orderflow")  # the composer fills these from the rest of the file


def check_alerts(values: dict[str, Any], where: str) -> None:
    """Reject keys the node sets, unknown keys (with a suggestion), values out of range, URLs in place of variable names, unknown channels."""
    from ravebear.platform.alerts.actor import AlertActorConfig
    from ravebear.platform.nodes.component_checks import check_node_section

    check_node_section(values, where, "alerts", AlertActorConfig, SET_BY_NODE)


def alert_actor_config(config: RunFile, alt_data_clients: dict[str, str], shadow: bool) -> Any:
    """The AlertActor of a node: level events of every instrument under data:, whale alerts when a client serves them."""
    from nautilus_trader.config import ImportableActorConfig

    instruments = list(dict.fromkeys(data.instrument_id for data in config.data if data.kind == "bars"))
    values = {**dict(config.alerts or {}), "instrument_ids": instruments, "whale_client": alt_data_clients.get("WhaleTransaction"), "shadow": shadow,
              "orderflow": enriches_levels(config)}
    return ImportableActorConfig(actor_path=ACTOR_PATH, config_path=CONFIG_PATH, config=values)


def alert_warnings(config: RunFile) -> tuple[str, ...]:
    """What the alerts: section will silently lack: level alerts with no LevelActor publishing level events."""
    if config.alerts is None:
        return ()
    from ravebear.platform.alerts.actor import DEFAULT_KINDS

    kinds = config.alerts.get("kinds", DEFAULT_KINDS)
    wants_levels = any(kind.startswith("level_") for kind in kinds)
    has_levels = any(actor.actor_path.endswith(":LevelActor") for actor in config.actors)
    if wants_levels and not has_levels:
        return ("alerts: level alerts need the LevelActor under actors: (ravebear.strategies.level_actor:LevelActor); "
                "without it only entries, exits, guards and whales are alerted",)
    return ()


def enriches_levels(config: RunFile) -> bool:
    """Whether an OrderFlowActor in the run file publishes each level event's LevelFlowContext (`enrich_levels`)."""
    return any(actor.actor_path.endswith(":OrderFlowActor") and actor.config.get("enrich_levels") for actor in config.actors)
