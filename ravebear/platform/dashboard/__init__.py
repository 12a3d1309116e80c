"""The operational view of a running node: positions, working orders, account, guards, levels.

`snapshot` reads the nautilus cache and portfolio and the attached RaveBear strategies into plain
values; `render` turns a snapshot into a rich renderable. Both are pure, so tests call them
directly. `DashboardActor` is the thin shell that a node runs: a timer on the node's clock
rebuilds the snapshot and redraws one `rich.live.Live` in place (a terminal sees one table
rewritten each refresh, not a log flood). On a console that is not a terminal, rich draws only
the final frame when the actor stops.

An actor has no handle on the trader: the node builder calls `attach(node.trader.strategies)`
after `node.build()`; without it the guard and level panels say "no strategies attached".
nautilus logs to the process's stdout on its own, past rich: a node showing the dashboard should
log to a file (`LoggingConfig(log_level="ERROR", log_level_file="INFO", ...)`).
"""

from ravebear.platform.dashboard.actor import DashboardActor, DashboardConfig
from ravebear.platform.dashboard.render import DashboardView, render
from ravebear.platform.dashboard.snapshot import NO_STRATEGIES, DashboardSnapshot, snapshot

__all__ = ["NO_STRATEGIES", "DashboardActor", "DashboardConfig", "DashboardSnapshot", "DashboardView", "render", "snapshot"]
