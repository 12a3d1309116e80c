"""A local OKX v5 venue (REST + WebSocket on 127.0.0.1) that nautilus's OKX clients can trade against.

`engine` matches orders against a real price path and keeps the ledger, `messages` writes OKX's
JSON, `server` serves REST and the public / private / business WebSockets, `faults` injects the
failures a live node must survive. Start it with `ravebear venue okx-sim`.
"""
