"""Trading-session buckets (Asia, London, New York) from UTC hours in config.

A session is one occurrence of a configured bucket: [day + start, day + end) in UTC, wrapping past
midnight when start > end. Time that no bucket covers belongs to an "off" session running from the
end of the previous bucket to the start of the next, so every instant has exactly one session and
session-scoped sums (CVD, VWAP) reset at each boundary.
"""

from __future__ import annotations

from dataclasses import dataclass

from ravebear.time_units import NS_PER_DAY, NS_PER_HOUR

OFF_HOURS = "off"


@dataclass(frozen=True)
class SessionHours:
    """One bucket: a name and its UTC hours, [start_hour, end_hour), wrapping midnight when start > end."""

    name: str
    start_hour: float
    end_hour: float


DEFAULT_SESSIONS = (SessionHours("asia", 0.0, 8.0), SessionHours("london", 8.0, 13.0), SessionHours("new_york", 13.0, 21.0))


@dataclass(frozen=True, slots=True)
class Session:
    """One occurrence of a bucket: its name and [start_ns, end_ns)."""

    name: str
    start_ns: int
    end_ns: int

    def contains(self, ts_ns: int) -> bool:
        """True when ts_ns lies in [start_ns, end_ns)."""
        return self.start_ns <= ts_ns < self.end_ns


class SessionClock:
    """Which session an instant belongs to; caches the current one (calls come in time order)."""

    def __init__(self, sessions: tuple[SessionHours, ...] = DEFAULT_SESSIONS) -> None:
        for hours in sessions:
            for value in (hours.start_hour, hours.end_hour):
                if not 0 <= value <= 24:
                    raise ValueError(f"sessions.{hours.name} hours must be between 0 and 24 hours UTC, got {value:g}")
            if hours.start_hour == hours.end_hour:
                raise ValueError(f"sessions.{hours.name} starts and ends at {hours.start_hour:g}: an empty session")
        self.sessions = sessions
        self._current: Session | None = None
        self._check_overlap()

    def _occurrences(self, day_ns: int) -> list[Session]:
        out = []
        for hours in self.sessions:
            start = day_ns + int(hours.start_hour * NS_PER_HOUR)
            end = day_ns + int(hours.end_hour * NS_PER_HOUR) + (NS_PER_DAY if hours.start_hour > hours.end_hour else 0)
            out.append(Session(hours.name, start, end))
        return out

    def _check_overlap(self) -> None:
        spans = sorted((s.start_ns, s.end_ns, s.name) for day in (0, NS_PER_DAY) for s in self._occurrences(day))
        for (_, end, name), (start, _, other) in zip(spans, spans[1:]):
            if start < end and name != other:
                raise ValueError(f"sessions {name} and {other} overlap: give each hour of the day one session")

    def at(self, ts_ns: int) -> Session:
        """The session holding ts_ns (an "off" session between buckets)."""
        current = self._current
        if current is not None and current.contains(ts_ns):
            return current
        day = ts_ns - ts_ns % NS_PER_DAY
        candidates = [s for d in (day - NS_PER_DAY, day, day + NS_PER_DAY) for s in self._occurrences(d)]
        found = next((s for s in candidates if s.contains(ts_ns)), None)
        if found is None:
            start = max((s.end_ns for s in candidates if s.end_ns <= ts_ns), default=day)
            end = min((s.start_ns for s in candidates if s.start_ns > ts_ns), default=day + NS_PER_DAY)
            found = Session(OFF_HOURS, start, end)
        self._current = found
        return found
