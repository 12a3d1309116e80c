"""Stablecoin supply (DefiLlama) and dominance (CoinGecko) behind a small pluggable source interface."""
