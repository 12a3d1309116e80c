"""Ledger rows built from the bundled real candles: touches at the lows/highs of real bars with their prices."""

from __future__ import annotations

import pandas as pd

BTC = "BTC-USDT-SWAP.OKX"


def touches_from_candles(frame: pd.DataFrame, run_id: str, every: int = 10, count: int | None = None) -> list[dict]:
    """A touch at every `every`-th bar: supports at the low on even picks, resistances at the high on odd ones."""
    rows = []
    for n, bar in enumerate(frame.iloc[::every].itertuples(index=False)):
        support = n % 2 == 0
        rows.append({
            "run_id": run_id, "ts_event_ns": (int(bar.ts) + 60_000) * 1_000_000, "instrument_id": BTC,
            "level_id": f"L{n}", "kind": "wick" if support else "poor_high", "timeframe": "15m", "score": (n % 100) / 100,
            "age_min": float(n), "touch_price": float(bar.close), "level_price": float(bar.low if support else bar.high),
            "side": "support" if support else "resistance", "direction": 1 if support else -1,
            "open_interest_usd": float(bar.volume) * float(bar.close), "funding_rate": 0.0001,
            "obi": None if n % 3 else 0.25, "absorption_tier": None if n % 3 else 2,
        })  # fmt: skip
        if count is not None and len(rows) == count:
            break
    return rows
