"""Run by test_writer: writes groups of 100 touches (level_id g<k>) as fast as it can until it is killed."""

from __future__ import annotations

import sys

from ravebear.ledger.models import LevelTouch
from ravebear.ledger.store import open_ledger
from ravebear.ledger.writer import LedgerWriter, WriterSettings

GROUP = 100
BATCH = 300  # three groups a batch

if __name__ == "__main__":
    url, spill = sys.argv[1], sys.argv[2]
    writer = LedgerWriter(open_ledger(url), spill, WriterSettings(batch_rows=BATCH, batch_s=60))
    k = 0
    while True:
        writer.add_many(LevelTouch, [
            {"run_id": "kill", "ts_event_ns": 1_785_000_000_000_000_000 + (k * GROUP + i) * 1_000_000_000, "instrument_id": "BTC-USDT-SWAP.OKX",
             "level_id": f"g{k}", "touch_price": 65_000.0 + i, "level_price": 64_990.0, "direction": 1}
            for i in range(GROUP)
        ])  # fmt: skip
        k += 1
        if k % 50 == 0:
            writer.flush(timeout=None)  # keep the producer from running far ahead of the database
