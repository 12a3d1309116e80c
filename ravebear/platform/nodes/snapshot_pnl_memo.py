"""A workaround for nautilus 1.231's quadratic realized-PnL bookkeeping in multi-instrument NETTING runs.

`Portfolio._ensure_snapshot_pnls_cached_for(instrument_id)` (`portfolio/portfolio.pyx`) keeps, per position id, how
many of its NETTING position snapshots it has summed, but each call prunes the entries of every position that is not
*this* instrument's as stale. So when instrument A's position closes after B's did, all of A's snapshots are unpickled
again (~65 us each): with three instruments trading in turn, the cost per close grows with the number of trades.

The method is `cdef` and its dicts are `cdef` attributes, so Python cannot reach them. It does call the module-level
`pickle.loads` on the cache's snapshot bytes, and a snapshot's bytes never change once stored. `install()` puts a
memo in front of that one name: the same bytes give back the Position they gave before (the method only reads its
`account_id` and `realized_pnl`), so the re-summing costs a dict lookup per snapshot instead of an unpickle. Results
are unchanged (`tests/platform/test_snapshot_pnl_memo.py` compares the realized PnL with and without it, and pins
the upstream behaviour, so a nautilus that stops pruning shows up as a failing test and this can go).
"""

from __future__ import annotations

import pickle
from typing import Any

import nautilus_trader.portfolio.portfolio as _portfolio_module

MAX_ENTRIES = 50_000  # snapshots kept (a few kB each); beyond it the memo starts again empty (still correct, only slower)


class _SnapshotLoads:
    """Stands in for the `pickle` module inside nautilus's portfolio module: `loads` with a memo by bytes."""

    def __init__(self) -> None:
        self.memo: dict[bytes, Any] = {}
        self.misses = 0  # real unpickles, for the test and the benchmark

    def loads(self, data: bytes) -> Any:
        found = self.memo.get(data)
        if found is None:
            self.misses += 1
            if len(self.memo) >= MAX_ENTRIES:
                self.memo.clear()
            found = self.memo[data] = pickle.loads(data)
        return found

    def __getattr__(self, name: str) -> Any:  # anything else the module might use from pickle
        return getattr(pickle, name)


SNAPSHOT_LOADS = _SnapshotLoads()


def install() -> None:
    """Route the portfolio module's snapshot unpickling through the memo (idempotent)."""
    _portfolio_module.pickle = SNAPSHOT_LOADS


def uninstall() -> None:
    """Give the portfolio module the real `pickle` back (tests compare both)."""
    _portfolio_module.pickle = pickle


def clear() -> None:
    """Drop the memo (after a run, so the next run in the same process starts empty)."""
    SNAPSHOT_LOADS.memo.clear()
