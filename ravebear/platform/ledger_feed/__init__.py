"""What a node writes into the event ledger: the LedgerActor and the run file's `ledger:` section."""
