"""Read 1-minute candles from files into one normalized frame.

Normalized frame: one row per candle, in source order, columns
`row` (1-based position in the source), `ts` (candle **open** time, UTC epoch ms),
`open, high, low, close` (quote currency), `volume` (base units) and, when the source
has it, `volume_contracts`. Nothing is dropped here: validation decides.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

PRICE_COLUMNS = ("open", "high", "low", "close")
OHLCV_COLUMNS = ("ts", *PRICE_COLUMNS, "volume")


class CandleFormatError(ValueError):
    """A candle file that cannot be read at all (as opposed to bad rows inside it)."""


def _normalize(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    missing = [column for column in OHLCV_COLUMNS if column not in frame.columns]
    if missing:
        raise CandleFormatError(
            f"{source}: missing column(s) {', '.join(missing)}; expected {', '.join(OHLCV_COLUMNS)}"
            f" (ts = candle open time in UTC epoch ms), found {', '.join(map(str, frame.columns))}",
        )
    columns = list(OHLCV_COLUMNS) + (["volume_contracts"] if "volume_contracts" in frame.columns else [])
    out = pd.DataFrame({"row": range(1, len(frame) + 1)})
    for column in columns:
        # Garbage such as "abc" becomes NaN here and is rejected by validation with its row.
        out[column] = pd.to_numeric(frame[column].reset_index(drop=True), errors="coerce").astype("float64")
    return out


def read_ohlcv_file(path: str | Path) -> pd.DataFrame:
    """Read a parquet or CSV file in the `shared/data/ohlcv_1m` format, or an OKX v5 candle JSON file."""
    path = Path(path)
    if not path.exists():
        raise CandleFormatError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _normalize(pd.read_parquet(path), str(path))
    if suffix == ".csv":
        return _normalize(pd.read_csv(path, dtype=str), str(path))
    if suffix == ".json":
        try:
            payload = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise CandleFormatError(f"{path}: not valid JSON ({exc})") from None
        return okx_candles_frame(payload, source=str(path))
    raise CandleFormatError(f"{path}: unsupported file type {suffix!r}; use .parquet, .csv or .json")


def okx_candles_frame(payload: Any, source: str = "OKX response") -> pd.DataFrame:
    """Turn an OKX v5 candles response into a normalized frame, oldest first, confirmed candles only.

    Rows are `[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]`, all strings, newest first.
    For SWAP instruments `vol` is in contracts and `volCcy` in base currency.
    A row with `confirm != "1"` is still forming and is dropped (it would leak the future).
    """
    if isinstance(payload, dict):
        if str(payload.get("code", "0")) != "0":
            raise CandleFormatError(f"{source}: OKX error code {payload.get('code')}: {payload.get('msg', '')}")
        rows = payload.get("data")
    else:
        rows = payload
    if not isinstance(rows, list):
        raise CandleFormatError(f"{source}: expected a list of candle rows under 'data'")
    records = []
    for index, raw in enumerate(rows):
        if not isinstance(raw, list) or len(raw) < 6:
            records.append({"ts": None})  # rejected later as NaN, with its row number
            continue
        if len(raw) >= 9 and str(raw[8]) != "1":
            continue
        records.append(
            {
                "ts": raw[0],
                "open": raw[1],
                "high": raw[2],
                "low": raw[3],
                "close": raw[4],
                "volume_contracts": raw[5],
                "volume": raw[6] if len(raw) > 6 else None,
            },
        )
    frame = pd.DataFrame(records, columns=[*OHLCV_COLUMNS, "volume_contracts"])
    frame = frame.iloc[::-1].reset_index(drop=True)  # OKX sends newest first
    return _normalize(frame, source)
