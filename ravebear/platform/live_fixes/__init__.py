"""Workarounds for nautilus 1.231's live nodes against OKX (reconciliation after reconnects and restarts); docs/NOTES.md says why."""
