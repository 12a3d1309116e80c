"""`ravebear record`: a long-running recorder of OKX trades + L2 books and Kraken spot trades into the catalog.

A nautilus TradingNode with data clients only (`clients.py`: nautilus's OKX client on public channels,
its Kraken spot client) and one `RecorderActor` (`actor.py`) that hands each trade and book update to a
`BatchWriter` (`writer.py`): one batch per instrument and type every `batch_seconds` or `batch_items`,
written through the catalog's atomic, idempotent order-flow store. Gaps (a socket down, a book
re-snapshot, a jump in trade ids, the time the recorder was not running) are kept in `gaps.py`'s
sidecar file, never filled in. `status.py` draws the status line; `runner.py` runs and stops the node.
"""
