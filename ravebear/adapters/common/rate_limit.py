"""Call budgets ("N calls per period") shared by every client of a service in the process.

A call occupies the budget from the moment it is granted until one `period_s` after it
*finished*, so the server, which counts arrivals, never sees more than `calls` in any window
of `period_s` even when requests are slow or their latencies differ. The limiter is guarded by
a thread lock and waits with `asyncio.sleep`, so clients on different event loops (a live node
and a history download in the same process) share one budget.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass
class _Grant:
    cost: int
    released_at: float = math.inf  # monotonic seconds; inf while the request is in flight


@dataclass
class RateLimiter:
    """At most `calls` call units per `period_s` seconds."""

    calls: int
    period_s: float
    name: str = ""
    _grants: list[_Grant] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.calls < 1 or self.period_s <= 0:
            raise ValueError(f"rate limit {self.name!r}: need calls >= 1 and period_s > 0, got {self.calls}/{self.period_s}")

    def _try_grant(self, cost: int, now: float) -> tuple[_Grant | None, float]:
        with self._lock:
            self._grants = [g for g in self._grants if g.released_at + self.period_s > now]
            used = sum(g.cost for g in self._grants)
            if used + cost <= self.calls:
                grant = _Grant(cost)
                self._grants.append(grant)
                return grant, 0.0
            # wait until enough released grants leave the window (in-flight ones need a re-check)
            freed, wait = 0, math.inf
            for g in sorted(self._grants, key=lambda g: g.released_at):
                if math.isinf(g.released_at):
                    break
                freed += g.cost
                if used - freed + cost <= self.calls:
                    wait = g.released_at + self.period_s - now
                    break
            return None, min(max(wait, 0.001), 0.05 if math.isinf(wait) else wait)

    @asynccontextmanager
    async def slot(self, cost: int = 1) -> AsyncIterator[None]:
        """Wait for `cost` call units, hold them during the request, release them when it ends."""
        if cost > self.calls:
            raise ValueError(f"rate limit {self.name!r}: one request costs {cost} calls, more than the budget of {self.calls}")
        while True:
            grant, wait = self._try_grant(cost, time.monotonic())
            if grant is not None:
                break
            await asyncio.sleep(wait)
        try:
            yield
        finally:
            with self._lock:
                grant.released_at = time.monotonic()

    def used(self) -> int:
        """Return the call units currently inside the window (in flight included)."""
        now = time.monotonic()
        with self._lock:
            return sum(g.cost for g in self._grants if g.released_at + self.period_s > now)


_SHARED: dict[str, RateLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared_rate_limiter(name: str, calls: int, period_s: float) -> RateLimiter:
    """Return the process-wide limiter called `name`, created with the first caller's budget.

    A later caller with a different budget gets the same limiter, with the smaller of the two
    budgets (a budget is a ceiling: the stricter one wins).
    """
    with _SHARED_LOCK:
        limiter = _SHARED.get(name)
        if limiter is None:
            limiter = _SHARED[name] = RateLimiter(calls, period_s, name)
        elif calls / period_s < limiter.calls / limiter.period_s:
            limiter.calls, limiter.period_s = calls, period_s
        return limiter


def reset_shared_rate_limiters() -> None:
    """Forget every shared limiter (tests)."""
    with _SHARED_LOCK:
        _SHARED.clear()
