"""VWAP: sum(price x size) / sum(size) of trades, per session and anchored at an instant.

Session VWAP restarts at each session boundary (`sessions.SessionClock`). An anchored VWAP counts
trades at or after `anchor_ns` (e.g. the creation of a level), and nothing before it.
"""

from __future__ import annotations

from ravebear.strategies.microstructure.sessions import DEFAULT_SESSIONS, SessionClock, SessionHours
from ravebear.strategies.microstructure.types import Trade


class AnchoredVwap:
    """VWAP of trades at or after anchor_ns; None until one arrives."""

    def __init__(self, anchor_ns: int) -> None:
        self.anchor_ns = anchor_ns
        self._notional = 0.0
        self._size = 0.0

    def update(self, trade: Trade) -> None:
        """Feed one trade; trades before the anchor are ignored."""
        if trade.ts_ns >= self.anchor_ns:
            self._notional += trade.price * trade.size
            self._size += trade.size

    @property
    def value(self) -> float | None:
        """The VWAP, or None before the first counted trade."""
        return self._notional / self._size if self._size > 0 else None


class SessionVwap:
    """VWAP of the current session; `session_name` names its bucket."""

    def __init__(self, sessions: tuple[SessionHours, ...] = DEFAULT_SESSIONS) -> None:
        self.clock = SessionClock(sessions)
        self.session_name = ""
        self._start = -1
        self._vwap = AnchoredVwap(0)

    def update(self, trade: Trade) -> None:
        """Feed one trade (in time order)."""
        session = self.clock.at(trade.ts_ns)
        if session.start_ns != self._start:
            self._start, self.session_name, self._vwap = session.start_ns, session.name, AnchoredVwap(session.start_ns)
        self._vwap.update(trade)

    @property
    def value(self) -> float | None:
        """The session's VWAP so far."""
        return self._vwap.value
