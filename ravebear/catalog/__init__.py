"""Instruments, catalog access, candle import, validation and downloads. Depends on nautilus only."""
