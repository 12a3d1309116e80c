"""What an alert says, independent of how it is sent: one typed record per event worth a message."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class AlertKind(StrEnum):
    """The events a trader is alerted on."""

    LEVEL_CREATED = "level_created"
    LEVEL_TOUCHED = "level_touched"
    ENTRY = "entry"
    EXIT = "exit"
    FILL = "fill"
    GUARD_TRIPPED = "guard_tripped"
    GUARD_RESUMED = "guard_resumed"
    FEED_STALL = "feed_stall"
    WHALE = "whale"


COLOURS: dict[AlertKind, int] = {  # embed side bar: green for entries, red for trips, ...
    AlertKind.LEVEL_CREATED: 0x3498DB,
    AlertKind.LEVEL_TOUCHED: 0x9B59B6,
    AlertKind.ENTRY: 0x2ECC71,
    AlertKind.EXIT: 0xE67E22,
    AlertKind.FILL: 0x95A5A6,
    AlertKind.GUARD_TRIPPED: 0xE74C3C,
    AlertKind.GUARD_RESUMED: 0x1ABC9C,
    AlertKind.FEED_STALL: 0xE74C3C,
    AlertKind.WHALE: 0xF1C40F,
}


@dataclass(frozen=True)
class Alert:
    """One alert: `symbol` routes it ("" = account-wide), `key` identifies its subject (a level id, a guard name)
    for cooldown and de-duplication, `score` (0-100) decides the high-confidence tier."""

    kind: AlertKind
    symbol: str
    title: str
    ts_ns: int  # event time (data time in a backtest or replay)
    key: str = ""
    score: float | None = None
    description: str = ""
    fields: tuple[tuple[str, str], ...] = field(default=())

    @property
    def dedup_key(self) -> tuple[str, str, str]:
        """(symbol, subject, kind): repeats of it inside the cooldown are dropped."""
        return (self.symbol, self.key, self.kind.value)

    def to_json(self) -> dict:
        """A plain-JSON form (dead-letter file)."""
        return {"kind": self.kind.value, "symbol": self.symbol, "title": self.title, "ts_ns": self.ts_ns, "key": self.key,
                "score": self.score, "description": self.description, "fields": [list(f) for f in self.fields]}

    @classmethod
    def from_json(cls, row: dict) -> Alert:
        """Inverse of `to_json`."""
        return cls(AlertKind(row["kind"]), row["symbol"], row["title"], int(row["ts_ns"]), row.get("key", ""), row.get("score"),
                   row.get("description", ""), tuple((str(a), str(b)) for a, b in row.get("fields", ())))
