"""Read 1-minute candles from files into one normalized frame.

Normalized frame: one row per candle, in source order, columns
`row` (1-based position in the source), `ts` (candle **open** time, UTC epoch ms),
`open, high, low, close` (quote currency), `volume` (base units) and, when the source
has it, `volume_contracts`. Nothing is dropped here: validation decides.

`ts` may come as epoch seconds, milliseconds, microseconds or nanoseconds (told apart by
magnitude, see `TS_UNIT_LIMITS`), as ISO-8601 text (UTC unless it carries an offset) or as a
datetime column; what was read is said in `frame.attrs["notes"]` (shown by the import).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PRICE_COLUMNS = ("open", "high", "low", "close")
OHLCV_COLUMNS = ("ts", *PRICE_COLUMNS, "volume")


# Epoch timestamps below each limit are read in that unit: 1e11 s is the year 5138 while 1e11 ms is
# 1973, so every candle time since 1973 falls in exactly one band.
TS_UNIT_LIMITS: tuple[tuple[float, str, float], ...] = (
    # (upper bound of |ts|, unit name, ms per unit)
    (1e11, "seconds", 1_000.0),
    (1e14, "milliseconds", 1.0),
    (1e17, "microseconds", 1e-3),
    (float("inf"), "nanoseconds", 1e-6),
)


class CandleFormatError(ValueError):
    """A candle file that cannot be read at all (as opposed to bad rows inside it)."""


def _ts_to_ms(column: pd.Series, notes: list[str]) -> pd.Series:
    """Candle times as float epoch ms: numbers in any epoch unit (by magnitude), ISO text or datetimes."""
    column = column.reset_index(drop=True)
    if pd.api.types.is_datetime64_any_dtype(column):
        stamps = column.dt.tz_localize("UTC") if column.dt.tz is None else column.dt.tz_convert("UTC")
        notes.append("ts read as date-times (UTC unless they carry a zone)")
        return _stamps_to_ms(stamps)
    numbers = pd.to_numeric(column, errors="coerce").astype("float64")
    numeric = numbers.dropna()
    if len(numeric):
        magnitude = float(np.median(np.abs(numeric.to_numpy())))
        unit, ms_per_unit = next((unit, ms) for limit, unit, ms in TS_UNIT_LIMITS if magnitude < limit)
        if unit != "milliseconds":
            numbers = (numbers * ms_per_unit).round()  # to the millisecond: the precision candle times are stored at
            notes.append(f"ts read as epoch {unit} (by magnitude) and converted to milliseconds")
    is_text = numbers.isna() & column.notna() & (column.astype(str).str.strip() != "")
    if is_text.any():
        parsed = pd.to_datetime(column[is_text], format="ISO8601", utc=True, errors="coerce").dropna()
        if len(parsed):
            numbers[parsed.index] = _stamps_to_ms(parsed)
            notes.append(f"ts read as ISO-8601 text in {len(parsed)} rows (UTC unless they carry an offset)")
    return numbers


def _stamps_to_ms(stamps: pd.Series) -> pd.Series:
    return pd.Series(stamps.dt.as_unit("ns").astype("int64").to_numpy() // 1_000_000, index=stamps.index, dtype="float64")


def _normalize(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    missing = [column for column in OHLCV_COLUMNS if column not in frame.columns]
    if missing:
        raise CandleFormatError(
            f"{source}: missing column(s) {', '.join(missing)}; expected {', '.join(OHLCV_COLUMNS)}"
            f" (ts = candle open time in UTC epoch ms), found {', '.join(map(str, frame.columns))}",
        )
    columns = list(PRICE_COLUMNS) + ["volume"] + (["volume_contracts"] if "volume_contracts" in frame.columns else [])
    notes: list[str] = []
    out = pd.DataFrame({"row": range(1, len(frame) + 1)})
    out["ts"] = _ts_to_ms(frame["ts"], notes)
    for column in columns:
        # Garbage such as "abc" becomes NaN here and is rejected by validation with its row.
        out[column] = pd.to_numeric(frame[column].reset_index(drop=True), errors="coerce").astype("float64")
    out.attrs["notes"] = notes
    return out


def read_ohlcv_file(path: str | Path) -> pd.DataFrame:
    """Read a parquet or CSV file in the `shared/data/ohlcv_1m` format, or an OKX v5 candle JSON file."""
    path = Path(path)
    if not path.exists():
        raise CandleFormatError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv", ".json"):
        raise CandleFormatError(f"{path}: unsupported file type {suffix!r}; use .parquet, .csv or .json")
    if path.is_dir():
        raise CandleFormatError(f"{path}: is a folder, not a candle file")
    if path.stat().st_size == 0:
        raise CandleFormatError(f"{path}: empty file (0 bytes)")
    if suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a file that is not Parquet
            raise CandleFormatError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from None
        return _normalize(frame, str(path))
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CandleFormatError(f"{path}: not a text file (binary content); expected {suffix[1:].upper()} text") from None
    if "\x00" in text:
        raise CandleFormatError(f"{path}: not a text file (binary content); expected {suffix[1:].upper()} text")
    if suffix == ".csv":
        import io

        try:
            frame = pd.read_csv(io.StringIO(text), dtype=str)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise CandleFormatError(f"{path}: not a readable CSV file ({_first_line(exc)})") from None
        return _normalize(frame, str(path))
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CandleFormatError(f"{path}: not valid JSON ({exc})") from None
    return okx_candles_frame(payload, source=str(path))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


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
