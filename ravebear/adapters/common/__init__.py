"""Plumbing shared by RaveBear's data adapters: HTTP with retries, rate limits, secrets and log redaction."""
