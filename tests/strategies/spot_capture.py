"""The real Binance spot capture (2024-08-08 23:54:14 .. 2024-08-09 00:05, trades and L2 book) in a catalog, with
1-minute bars built from its trades (receive time, `research.orderflow.compute.minute_bars`) as the nodes' candles."""

from __future__ import annotations

from pathlib import Path

from ravebear.catalog.orderflow.importer import import_file
from ravebear.catalog.store import RaveCatalog
from ravebear.research.orderflow.compute import minute_bars
from ravebear.research.orderflow.load import load
from tests.catalog.orderflow.captures import PREFIXES, TRADES_BOOK

INSTRUMENT = "BTCUSDT.BINANCE"
# permissive levels: the capture's 12 one-minute bars hold wicks, origins, confluences and a box
LEVELS = {
    "detectors": ["wicks", "boxes", "origins"], "wicks": {"min_wick_bps": 2, "min_wick_body_ratio": 0.5},
    "origins": {"lookback": 3, "min_range_multiple": 1.5, "min_move_bps": 5, "min_relative_volume": 1.0}, "boxes": {"min_bars": 3, "max_height_bps": 20},
}  # fmt: skip


def spot_catalog(folder: Path) -> RaveCatalog:
    """Import the capture's trades and depth diffs (with its snapshot) and write its 1-minute bars."""
    store = RaveCatalog(folder)
    for kind in ("trades", "depthdiff"):
        import_file(store, TRADES_BOOK / f"{PREFIXES['spot']}{kind}.parquet")
    bars = minute_bars(load(store, INSTRUMENT, None, None).trades)
    bars["row"] = range(len(bars))
    assert store.import_candles(bars, store.instrument(INSTRUMENT)).written == len(bars) == 12
    return store
