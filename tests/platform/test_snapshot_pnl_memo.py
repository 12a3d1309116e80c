"""The snapshot-PnL memo (`platform/nodes/snapshot_pnl_memo.py`) against nautilus 1.231's Portfolio, on a real
three-instrument backtest of the shipped config (BTC, ETH and SOL trading in turn on the bundled sample).

The first test pins the upstream behaviour the workaround exists for: when it fails, nautilus no longer re-reads an
instrument's position snapshots after another instrument's were read, and the memo can go (docs/NOTES.md)."""

from __future__ import annotations

import pickle

import nautilus_trader.portfolio.portfolio as portfolio_module
import pytest

from ravebear.platform.nodes import snapshot_pnl_memo
from ravebear.platform.nodes.backtest import prepare_backtest_process
from tests.platform.shipped_run import shipped_backtest


class CountingPickle:
    """The real `pickle.loads`, counted."""

    def __init__(self) -> None:
        self.loads_count = 0

    def loads(self, data: bytes):  # noqa: ANN201
        self.loads_count += 1
        return pickle.loads(data)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    with shipped_backtest(tmp_path_factory.mktemp("catalog")) as engine:
        cache = engine.kernel.cache
        instruments = sorted({position.instrument_id for position in cache.positions()}, key=str)
        snapshots = {i: sum(len(cache.position_snapshot_bytes(p)) for p in cache.position_snapshot_ids(i)) for i in instruments}
        yield engine.portfolio, snapshots
        snapshot_pnl_memo.install()


def test_backtests_run_with_the_memo_installed():
    prepare_backtest_process()
    assert portfolio_module.pickle is snapshot_pnl_memo.SNAPSHOT_LOADS


def test_nautilus_still_rereads_an_instruments_snapshots_after_another_instruments(finished_run):
    portfolio, snapshots = finished_run
    assert len(snapshots) == 3 and all(count > 10 for count in snapshots.values()), snapshots
    counting = CountingPickle()
    portfolio_module.pickle = counting
    try:
        first, second = list(snapshots)[:2]
        portfolio.realized_pnl(first)
        portfolio.realized_pnl(second)
        counting.loads_count = 0
        portfolio.realized_pnl(first)
        assert counting.loads_count == snapshots[first], (
            "nautilus no longer re-reads every snapshot of an instrument after another instrument's were read: "
            "the quadratic cost is fixed upstream, remove platform/nodes/snapshot_pnl_memo.py"
        )
    finally:
        snapshot_pnl_memo.install()


def test_the_memo_gives_nautilus_own_realized_pnl_without_unpickling_again(finished_run):
    portfolio, snapshots = finished_run
    portfolio_module.pickle = CountingPickle()
    try:
        stock = {i: portfolio.realized_pnl(i) for i in snapshots}
    finally:
        snapshot_pnl_memo.install()
    snapshot_pnl_memo.clear()
    memo = snapshot_pnl_memo.SNAPSHOT_LOADS
    memo.misses = 0
    first_pass = {i: portfolio.realized_pnl(i) for i in snapshots}
    assert memo.misses == sum(snapshots.values())  # each snapshot unpickled once
    again = {i: portfolio.realized_pnl(i) for i in reversed(list(snapshots))}
    assert memo.misses == sum(snapshots.values())  # and never again, though nautilus re-read them all
    assert first_pass == stock == again
    assert all(value is not None and value.as_double() != 0.0 for value in stock.values())
