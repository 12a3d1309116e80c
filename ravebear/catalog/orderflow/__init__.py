"""Order flow in the catalog: trades (TradeTick), L2 book updates (OrderBookDelta) and L1 quotes (QuoteTick).

`binance.py` reads the Binance captures, `book_sync.py` rebuilds the L2 book with Binance's
snapshot/diff sync, `validation.py` says what was rejected, gapped or crossed, `store.py` writes
idempotently through `atomic_write`, `importer.py` ties them together for the CLI.
"""
