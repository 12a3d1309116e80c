"""Which channels an alert goes to, and which alerts are repeats: pure, shared by the dispatcher (live)
and the shadow counter (backtests), so a backtest counts exactly the alerts a live node would send."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ravebear.adapters.discord.alerts import Alert, AlertKind
from ravebear.time_units import NS_PER_DAY

NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class Routes:
    """Channel names per symbol, the fallback, and the WHALE and HIGH-CONF channels (None: not used)."""

    symbols: dict[str, str] = field(default_factory=dict)  # base symbol ("BTC") -> channel
    default_channel: str | None = None  # alerts of other symbols and account-wide alerts
    whale_channel: str | None = None
    high_conf_channel: str | None = None
    high_conf_score: float = 85.0  # 0-100: at or above, an alert is high-confidence

    def is_high_conf(self, alert: Alert) -> bool:
        """Whether the alert is in the high-confidence tier (sent alone, never merged into a digest)."""
        return alert.score is not None and alert.score >= self.high_conf_score

    def channels_for(self, alert: Alert) -> list[str]:
        """The channels an alert goes to, each once."""
        out = [self.symbols.get(alert.symbol, self.default_channel)]
        if alert.kind is AlertKind.WHALE:
            out.append(self.whale_channel)
        if self.is_high_conf(alert):
            out.append(self.high_conf_channel)
        return list(dict.fromkeys(c for c in out if c))


class AlertGate:
    """Drops repeats: an alert whose (symbol, subject, kind) passed less than `cooldown_s` ago in event time."""

    def __init__(self, cooldown_s: float) -> None:
        self.cooldown_ns = int(cooldown_s * NS_PER_S)
        self._last: dict[tuple[str, str, str], int] = {}
        self.dropped = 0

    def admit(self, alert: Alert) -> bool:
        """True when the alert is new or its cooldown has passed (and starts a new cooldown)."""
        key = alert.dedup_key
        last = self._last.get(key)
        if last is not None and alert.ts_ns - last < self.cooldown_ns:
            self.dropped += 1
            return False
        self._last[key] = alert.ts_ns
        return True


class ShadowCounter:
    """What a node would have sent, per UTC day and channel, without sending: a backtest's alert load."""

    def __init__(self, routes: Routes, cooldown_s: float) -> None:
        self.routes = routes
        self.gate = AlertGate(cooldown_s)
        self.counts: Counter[tuple[str, str]] = Counter()  # (YYYY-MM-DD, channel) -> alerts
        self._day: tuple[int, str] = (-1, "")  # the latest alert's UTC day: (days since 1970, YYYY-MM-DD)

    def add(self, alert: Alert) -> list[str]:
        """Count one alert where the routes would send it, unless it is a repeat; return those channels."""
        if not self.gate.admit(alert):
            return []
        number = alert.ts_ns // NS_PER_DAY
        if number != self._day[0]:  # the date's text once a day, not per alert
            self._day = (number, datetime.fromtimestamp(number * NS_PER_DAY // NS_PER_S, tz=UTC).date().isoformat())
        day = self._day[1]
        channels = self.routes.channels_for(alert)
        for channel in channels:
            self.counts[(day, channel)] += 1
        return channels
