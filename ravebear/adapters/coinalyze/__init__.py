"""Coinalyze derivatives data (open interest, funding, predicted funding, long/short ratio, liquidations)."""
