"""The run file's `ledger:` section: checked against the LedgerActor's config, and the actor each node gets."""

from __future__ import annotations

from typing import Any

from ravebear.platform.nodes.run_file import RunFile

ACTOR_PATH = "ravebear.platform.ledger_feed.actor:LedgerActor"
CONFIG_PATH = "ravebear.platform.ledger_feed.actor:LedgerActorConfig"
SET_BY_NODE = ("mode", "run_file", "config_digest", "trader_id", "instrument_ids", "alt_data_clients", "orderflow", "swarm")


def check_ledger(values: dict[str, Any], where: str) -> None:
    """Reject keys the node sets, unknown keys (with a suggestion), values out of range, a password in the URL."""
    from ravebear.platform.ledger_feed.actor import LedgerActorConfig
    from ravebear.platform.nodes.component_checks import check_node_section

    check_node_section(values, where, "ledger", LedgerActorConfig, SET_BY_NODE)


def ledger_actor_config(config: RunFile, alt_data_clients: dict[str, str], mode: str, trader_id: str) -> Any:
    """The LedgerActor of a node: every instrument under data:, the node's alternative-data clients, its mode."""
    from nautilus_trader.config import ImportableActorConfig

    from ravebear.ledger.config import config_digest  # of the checked content: the same file parsed twice, the same digest

    instruments = list(dict.fromkeys(data.instrument_id for data in config.data if data.kind == "bars"))
    from ravebear.platform.alerts.composition import enriches_levels

    orderflow = enriches_levels(config)
    values = {**dict(config.ledger or {}), "mode": mode, "run_file": config.run.name, "config_digest": config_digest(config.model_dump_json()),
              "trader_id": trader_id, "instrument_ids": instruments, "alt_data_clients": dict(alt_data_clients), "orderflow": orderflow,
              "swarm": any(actor.actor_path.endswith(":SwarmActor") for actor in config.actors)}
    return ImportableActorConfig(actor_path=ACTOR_PATH, config_path=CONFIG_PATH, config=values)
