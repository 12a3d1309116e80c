"""`AlertActor`: turns a node's events into alerts and sends them to Discord (paper, live) or counts them
per day and channel without sending (backtests: shadow mode), through the same routing and cooldown.

In shadow mode without the OrderFlowActor, level alerts are built and counted when the actor stops, in the order
their events came: the same counts and records (a level alert shares its cooldown key with no other kind, so
entries, exits and guard trips counted on the way pass or drop as before), without building ~11,000 alerts inside
the engine's loop on 200k bars (~1.5 us a bar; built together at the end they cost less than half)."""

from __future__ import annotations

import difflib
import re
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig
from nautilus_trader.model.data import DataType
from nautilus_trader.model.events import OrderFilled, PositionClosed, PositionOpened
from nautilus_trader.model.identifiers import ClientId, InstrumentId

from ravebear.adapters.discord.alerts import Alert, AlertKind
from ravebear.adapters.discord.clients import webhook_clients
from ravebear.adapters.discord.dead_letter import DeadLetters
from ravebear.adapters.discord.dispatcher import AlertDispatcher, DispatchStats
from ravebear.adapters.discord.routing import Routes, ShadowCounter
from ravebear.catalog.level_data import LevelEventData
from ravebear.gc_paused import gc_paused
from ravebear.ranges import Range, check_ranges
from ravebear.platform.ledger_feed.touches import PendingTouches, join_key
from ravebear.platform.alerts.builders import context_fields, entry_alert, exit_alert, fill_alert, guard_alert, level_alert, whale_alert
from ravebear.risk.entry_gate import entry_risk
from ravebear.risk.topics import GUARD_TOPIC

ALERT_TOPIC = "ravebear.alerts.outcome"  # an AlertRecord per alert and channel (the ledger listens)
OUTCOME_TIMER = "ravebear-alert-outcomes"
ALL_KINDS = tuple(kind.value for kind in AlertKind)


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """What became of one alert in one channel: sent, merged (in a digest), dead_lettered, or shadow (a backtest's count)."""

    alert: Alert
    channel: str
    outcome: str
DEFAULT_KINDS = tuple(k for k in ALL_KINDS if k != AlertKind.FILL.value)  # fills repeat what entries and exits say


class AlertActorConfig(ActorConfig, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Channels (name -> environment variable holding its webhook URL: URLs are secrets, never in YAML), routes and pacing."""

    channels: dict[str, str] = {}
    symbols: dict[str, str] = {}  # base symbol (BTC) -> channel
    default_channel: str | None = None  # other symbols and account-wide alerts
    whale_channel: str | None = None
    high_conf_channel: str | None = None
    high_conf_score: float = 85.0  # score 0-100 at or above which an alert is high-confidence (sent alone, also to high_conf_channel)
    cooldown_s: float = 300.0  # seconds (event time) before the same (symbol, subject, kind) is alerted again
    digest_after: int = 3  # alerts waiting in one channel before they go out merged as one digest
    kinds: tuple[str, ...] = DEFAULT_KINDS
    level_timeframes: tuple[str, ...] = ()  # level alerts of these timeframes only (e.g. [15m, 1h]); empty: every timeframe
    min_level_score: float = 0.0  # score 0-100 below which a level event is not alerted
    dead_letter: str = "var/alerts/dead_letter.jsonl"  # undelivered alerts, replayed on the next start
    instrument_ids: tuple[str, ...] = ()  # level events of these instruments
    whale_client: str | None = None  # the data client serving WhaleTransaction in this node (None: no whale alerts)
    shadow: bool = False  # count per day and channel, send nothing (the composer sets it in backtests)
    orderflow: bool = False  # the OrderFlowActor enriches level events here: level alerts carry their order-flow context
    context_wait_s: float = 120.0  # data seconds a level alert waits for its context before it goes without
    close_timeout_s: float = 10.0  # at stop: how long queued alerts may take before they are dead-lettered

    def __post_init__(self) -> None:
        check_ranges(self, RANGES)
        for channel, env_var in self.channels.items():
            if "://" in env_var or "/webhooks/" in env_var:
                raise ValueError(f"channels.{channel} holds a webhook URL: URLs are secrets; put it in the environment or .env "
                                 f"(e.g. DISCORD_WEBHOOK_{_env_name(channel)}=...) and name the variable here")
            if not _ENV_VAR.fullmatch(env_var):
                raise ValueError(f"channels.{channel} must name an environment variable such as DISCORD_WEBHOOK_{_env_name(channel)}, got {env_var!r}")
        used = {f"symbols.{symbol}": channel for symbol, channel in self.symbols.items()}
        used |= {key: getattr(self, key) for key in ("default_channel", "whale_channel", "high_conf_channel") if getattr(self, key)}
        for key, channel in used.items():
            if channel not in self.channels:
                close = difflib.get_close_matches(channel, list(self.channels), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(f"{key} names channel {channel!r}, which is not under channels{hint}")
        for kind in self.kinds:
            if kind not in ALL_KINDS:
                close = difflib.get_close_matches(kind, ALL_KINDS, n=1)
                raise ValueError(f"kinds: unknown alert kind {kind!r}" + (f" (did you mean {close[0]!r}?)" if close else f"; one of {', '.join(ALL_KINDS)}"))


_ENV_VAR = re.compile(r"[A-Z_][A-Z0-9_]*")
RANGES = {
    "high_conf_score": Range(0, 100, "score"),
    "min_level_score": Range(0, 100, "score"),
    "cooldown_s": Range(0, 86_400, "s", note="0 = every alert"),
    "digest_after": Range(1, 10_000, "alerts"),
    "close_timeout_s": Range(0, 600, "s"),
    "context_wait_s": Range(0, 3600, "s"),
}


def _env_name(channel: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", channel.upper()).strip("_")


def routes_of(config: AlertActorConfig) -> Routes:
    """The routing part of the config."""
    return Routes(dict(config.symbols), config.default_channel, config.whale_channel, config.high_conf_channel, config.high_conf_score)


class AlertActor(Actor):
    """Level events, entries, exits, fills, guard trips and resumes, feed stalls and whale transfers as alerts."""

    def __init__(self, config: AlertActorConfig | None = None) -> None:
        super().__init__(config or AlertActorConfig())
        self.routes = routes_of(self.config)
        self.shadow: ShadowCounter | None = None
        self.dispatcher: AlertDispatcher | None = None
        self.stats: DispatchStats | None = None
        self.built = 0  # alerts built from events (before cooldown and routing)
        self._kinds = frozenset(self.config.kinds)
        self._late: DeadLetters | None = None  # after stop: alerts still arriving are kept for the next start
        self._outcomes: deque[AlertRecord] = deque()  # filled on the sender thread, published on the node's
        self._waiting = PendingTouches(int(self.config.context_wait_s * 1_000_000_000))  # level alerts awaiting their context
        self._counting_levels = False  # shadow mode without order flow: level events held until stop
        self._held_levels: list[LevelEventData] = []

    def on_start(self) -> None:
        """Start the sender (or the shadow counter) and subscribe to every event family."""
        config = self.config
        if config.shadow:
            self.shadow = ShadowCounter(self.routes, config.cooldown_s)
            self._counting_levels = not config.orderflow  # level alerts counted at stop (see the module's docstring)
        else:
            clients, warnings = webhook_clients(config.channels, self.log)
            for warning in warnings:
                self.log.warning(warning)
            if not clients:
                self.log.warning("alerts: no channel has a webhook URL in the environment or .env: nothing is sent")
                return
            self.dispatcher = AlertDispatcher(self.routes, clients, DeadLetters(Path(config.dead_letter)), self.log, config.cooldown_s,
                                              config.digest_after, on_outcome=lambda channel, alert, outcome: self._outcomes.append(AlertRecord(alert, channel, outcome)))
            self.dispatcher.start()
            self.clock.set_timer(OUTCOME_TIMER, timedelta(seconds=1), callback=lambda _: self._publish_outcomes())
            self.log.info(f"alerts: sending to {', '.join(sorted(clients))}")
        self._subscribe_all()

    def _subscribe_all(self) -> None:
        config = self.config
        for instrument_id in config.instrument_ids:
            self.subscribe_data(DataType(LevelEventData, metadata={"instrument_id": instrument_id}), instrument_id=InstrumentId.from_str(instrument_id))
            if config.orderflow:
                from ravebear.strategies.orderflow_actor import level_context_data_type

                self.subscribe_data(level_context_data_type(instrument_id), instrument_id=InstrumentId.from_str(instrument_id))
        if config.whale_client:
            from ravebear.catalog.alt_data.types import WhaleTransaction

            self.subscribe_data(DataType(WhaleTransaction), client_id=ClientId(config.whale_client))
        self.msgbus.subscribe(topic=GUARD_TOPIC, handler=self._on_guard)
        self.msgbus.subscribe(topic="events.position.*", handler=self._on_position)
        self.msgbus.subscribe(topic="events.order.*", handler=self._on_order)

    def on_stop(self) -> None:
        """Deliver what is queued (or dead-letter it) and log what was sent or would have been."""
        self._counting_levels = False
        held, self._held_levels = self._held_levels, []
        with gc_paused():  # alerts, records and ledger rows: no cycles
            for i, data in enumerate(held):
                self.emit(level_alert(data))
                held[i] = None  # each event let go once counted
        for row in self._waiting.all():
            self.emit(level_alert(row["data"]))
        if self.dispatcher is not None:
            if OUTCOME_TIMER in self.clock.timer_names:
                self.clock.cancel_timer(OUTCOME_TIMER)
            self.stats = self.dispatcher.close(self.config.close_timeout_s)
            self._publish_outcomes()
            s = self.stats
            self.log.info(f"alerts: {s.alerts_sent} delivered in {s.messages} messages ({s.merged} in digests), {s.repeats} repeats dropped, "
                          f"{s.dead_lettered} kept in {self.config.dead_letter}")
            self._late = self.dispatcher.dead_letters
            self.dispatcher = None
        if self.shadow is not None:
            self.log.info(f"alerts (shadow): {sum(self.shadow.counts.values())} would have been sent")

    def on_data(self, data: Any) -> None:
        """Level events and whale transfers."""
        if isinstance(data, LevelEventData):
            config = self.config
            if (not config.level_timeframes or data.timeframe in config.level_timeframes) and data.score * 100 >= config.min_level_score:
                if self._counting_levels:
                    if data.event in ("created", "touched"):  # the others are not alerted
                        self._held_levels.append(data)
                elif not config.orderflow or data.event not in ("created", "touched"):
                    self.emit(level_alert(data))
                else:
                    ready = self._waiting.add(join_key(data), {"data": data})
                    if ready is not None:
                        self.emit(level_alert(ready["data"], ready["context"]))
            if self._waiting.rows or self._waiting.contexts:  # only with the OrderFlowActor
                for row in self._waiting.due(int(data.ts_event)):
                    self.emit(level_alert(row["data"]))
        elif type(data).__name__ == "LevelFlowContext":
            ready = self._waiting.context(join_key(data), {"context": context_fields(data)})
            if ready is not None:
                self.emit(level_alert(ready["data"], ready["context"]))
        elif type(data).__name__ == "WhaleTransaction":
            self.emit(whale_alert(data))

    def emit(self, alert: Alert | None) -> None:
        """Count or send one alert of an enabled kind."""
        if alert is None or alert.kind.value not in self._kinds:
            return
        self.built += 1
        if self.shadow is not None:
            if self.msgbus.has_subscribers(ALERT_TOPIC):
                for channel in self.shadow.add(alert):
                    self.msgbus.publish(ALERT_TOPIC, AlertRecord(alert, channel, "shadow"))
            else:
                self.shadow.add(alert)
        elif self.dispatcher is not None:
            self.dispatcher.submit(alert)
            self._publish_outcomes()
        elif self._late is not None:  # e.g. a position closed by a stop action after this actor stopped
            for channel in self.routes.channels_for(alert):
                if channel in self.config.channels:
                    self._late.add(channel, [alert], "raised after the alerts actor stopped")

    def _publish_outcomes(self) -> None:
        while self._outcomes:
            self.msgbus.publish(ALERT_TOPIC, self._outcomes.popleft())

    def _on_guard(self, event: Any) -> None:
        self.emit(guard_alert(event))

    def _on_position(self, event: Any) -> None:
        if isinstance(event, PositionOpened):
            self.emit(entry_alert(event, entry_risk(self.cache.order(event.opening_order_id))))
        elif isinstance(event, PositionClosed):
            self.emit(exit_alert(event, entry_risk(self.cache.order(event.opening_order_id))))

    def _on_order(self, event: Any) -> None:
        if isinstance(event, OrderFilled):
            self.emit(fill_alert(event))
