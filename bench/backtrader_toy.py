"""backtrader running a toy wick rule: the outside reference for `bench.backtest_throughput`'s default strategy.

The same bars the nautilus runs read (the benchmark's catalog, read back here before the clock starts) go into a
backtrader `PandasData` feed; `ToyWick` enters at market on a candle whose lower (upper) wick is at least
`min_ratio` x its body and `min_wick_bps` of the close, with a bracket: stop at the wick's end, target 4 R, one
position at a time, fixed size, 5 bps commission. That is a fraction of what RaveBear's untouched-wick strategy does
(no levels, timeframes, filter, guards, sizing or trailing exit), so it is the bar an event-driven Python engine sets.
The clock covers `cerebro.run()` (feed preload + event loop), as nautilus's covers `node.run()` (catalog read +
loop). backtrader's default observers stay on (`stdstats`), as a user runs it.

backtrader is not a RaveBear dependency: `pip install -e .[bench]`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.common import peak_rss

SIZE = 0.01  # BTC per entry


def _frame(catalog_path: Path, bar_type: str) -> Any:
    import pandas as pd

    from ravebear.catalog.store import RaveCatalog

    bars = RaveCatalog(catalog_path).bars(bar_type)
    frame = pd.DataFrame(
        {
            "open": [b.open.as_double() for b in bars], "high": [b.high.as_double() for b in bars],
            "low": [b.low.as_double() for b in bars], "close": [b.close.as_double() for b in bars],
            "volume": [b.volume.as_double() for b in bars],
        },
        index=pd.to_datetime([b.ts_event for b in bars], unit="ns"),
    )  # fmt: skip
    frame["openinterest"] = 0.0
    return frame


def child_backtrader(catalog_path: Path, bar_type: str) -> dict[str, Any]:
    """Run the toy rule over every bar of `bar_type` in the catalog; return the figures."""
    try:
        import backtrader as bt
    except ImportError:
        raise SystemExit("backtrader is not installed: .venv/bin/pip install -e '.[bench]'") from None

    class ToyWick(bt.Strategy):
        params = (("min_wick_bps", 6.0), ("min_ratio", 1.5), ("target_r", 4.0))

        def __init__(self) -> None:
            self.open_orders = 0
            self.entries = 0

        def notify_order(self, order: Any) -> None:
            if order.status in (order.Completed, order.Canceled, order.Margin, order.Rejected, order.Expired):
                self.open_orders = max(0, self.open_orders - 1)

        def next(self) -> None:
            if self.position or self.open_orders:
                return
            data = self.data
            o, h, l, c = data.open[0], data.high[0], data.low[0], data.close[0]  # noqa: E741
            body = abs(c - o)
            lower, upper = min(o, c) - l, h - max(o, c)
            floor = c * self.p.min_wick_bps * 1e-4
            if lower >= floor and lower >= self.p.min_ratio * body:
                risk = c - l
                self.buy_bracket(size=SIZE, exectype=bt.Order.Market, stopprice=l, limitprice=c + self.p.target_r * risk)
            elif upper >= floor and upper >= self.p.min_ratio * body:
                risk = h - c
                self.sell_bracket(size=SIZE, exectype=bt.Order.Market, stopprice=h, limitprice=c - self.p.target_r * risk)
            else:
                return
            self.open_orders = 3
            self.entries += 1

    frame = _frame(catalog_path, bar_type)
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.addstrategy(ToyWick)
    cerebro.broker.setcash(1_000_000.0)
    cerebro.broker.setcommission(commission=0.0005)
    started = time.perf_counter()
    strategy = cerebro.run()[0]
    elapsed = time.perf_counter() - started
    return {
        "kind": "backtrader",
        "bars": len(frame),
        "run_s": elapsed,
        "engine_loop_s": elapsed,
        "bars_per_s": len(frame) / elapsed,
        "orders": strategy.entries * 3,
        "fills": None,
        "entries": strategy.entries,
        "backtrader": bt.__version__,
        **peak_rss(),
    }
