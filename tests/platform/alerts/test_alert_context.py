"""Level alerts carry their order-flow context when the OrderFlowActor enriches level events: over the real Binance
spot capture, every created/touched level alert (counted in shadow mode and published as an AlertRecord) has the
OBI, delta and absorption tier of the LevelFlowContext the OrderFlowActor published for that event."""

from __future__ import annotations

import yaml
from nautilus_trader.backtest.node import BacktestNode
from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig

from ravebear.platform.alerts.actor import ALERT_TOPIC
from ravebear.platform.nodes.composer import backtest_run_config
from ravebear.platform.nodes.run_file import parse_run_file
from tests.strategies.spot_capture import spot_catalog
from tests.strategies.test_level_flow_context import run_file


class AlertListenerConfig(ActorConfig, frozen=True, kw_only=True):
    """Nothing to set."""


class AlertListener(Actor):
    """Keeps every AlertRecord, as the LedgerActor receives them."""

    def __init__(self, config: AlertListenerConfig) -> None:
        super().__init__(config)
        self.records: list = []

    def on_start(self) -> None:
        self.msgbus.subscribe(topic=ALERT_TOPIC, handler=self.records.append)


def test_level_alerts_carry_the_context_the_orderflow_actor_published(tmp_path) -> None:
    catalog = spot_catalog(tmp_path / "cat")
    raw = run_file(str(catalog.path))
    raw["actors"].append({"actor_path": f"{__name__}:AlertListener", "config": {}})
    raw["alerts"] = {"channels": {"btc": "DISCORD_WEBHOOK_BTC"}, "symbols": {"BTCUSDT": "btc"}, "cooldown_s": 0}
    config = parse_run_file(yaml.safe_dump(raw), "context.yaml")
    run_config = backtest_run_config(config, catalog.path.resolve())
    assert [c.config["orderflow"] for c in run_config.engine.actors if c.actor_path.endswith(":AlertActor")] == [True]
    node = BacktestNode(configs=[run_config])
    node.run()
    actors = {type(a).__name__: a for a in node.get_engine(run_config.id).trader.actors()}
    contexts = {(c.event, c.timeframe, c.kind, c.created_ts, c.low): c for c in actors["OrderFlowActor"].contexts}
    levels = [r.alert for r in actors["AlertListener"].records if r.alert.kind.value.startswith("level_")]
    assert len(levels) == len(contexts) >= 20 and {r.outcome for r in actors["AlertListener"].records} == {"shadow"}
    for alert in levels:
        fields = dict(alert.fields)
        event = "created" if alert.kind.value == "level_created" else "touched"
        matching = [c for (e, tf, kind, _, low), c in contexts.items() if e == event and f"{tf} {kind}" in alert.title and f"{low:,.1f}" in alert.title
                    and alert.ts_ns == c.ts_event]
        assert len(matching) >= 1, alert.title
        context = matching[0]
        assert fields["OBI"] == f"{context.obi:+.2f}" and fields["delta"] == f"{context.delta:+,.3f}"
        assert fields["absorption"] == f"tier {context.absorption_tier}"
    assert any(dict(a.fields).get("zone") for a in levels) and any("whale" in dict(a.fields) for a in levels)
    node.dispose()
