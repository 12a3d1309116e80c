"""Candle validation: each rejection reason is named with its row; valid rows survive; gaps are listed."""

import pandas as pd
import pytest

from ravebear.catalog.candles import CandleFormatError, read_ohlcv_file
from ravebear.catalog.validation import validate_candles


def corrupt(frame: pd.DataFrame, row: int, **values) -> pd.DataFrame:
    frame = frame.copy()
    for column, value in values.items():
        frame.loc[row - 1, column] = value
    return frame


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"high": 1.0}, "high < low"),
        ({"open": 1e9}, "open outside [low, high]"),
        ({"close": 1e9}, "close outside [low, high]"),
        ({"close": float("nan")}, "close is missing or not a number"),
        ({"low": -5.0}, "non-positive low"),
        ({"open": 0.0}, "non-positive open"),
        ({"volume": -1.0}, "negative volume"),
        ({"ts": 1785151200000 + 17}, "time not on the 60s candle grid"),
    ],
)
def test_each_bad_value_is_rejected_by_row_and_reason(okx_btc, changes, reason):
    frame = corrupt(okx_btc.iloc[:500], 250, **changes)
    valid, report = validate_candles(frame)
    assert [r.row for r in report.rejections] == [250]
    assert reason in report.rejections[0].reason
    assert report.valid == 499 and len(valid) == 499
    assert str(report.rejections[0]).startswith("row 250 (")


def test_a_duplicate_is_rejected_and_the_first_copy_kept_a_late_row_is_sorted_in(okx_btc):
    frame = okx_btc.iloc[:100].copy()
    duplicate = frame.iloc[[10]].assign(row=101, close=frame["close"].iloc[10] + 1.0, high=frame["high"].iloc[10] + 1.0)
    late = frame.iloc[[5]].assign(row=102, ts=frame["ts"].iloc[0] - 60_000 * 1000)  # far in the past, a real candle's values
    frame = pd.concat([frame, duplicate, late], ignore_index=True)
    valid, report = validate_candles(frame)
    assert {r.row: r.reason for r in report.rejections} == {101: "duplicate time (an earlier row has it)"}
    assert report.notes == ["rows were not in time order (1 rows earlier than a row before them); sorted by time"]
    assert valid["ts"].is_monotonic_increasing and valid["ts"].is_unique
    assert len(valid) == 101
    assert valid["row"].iloc[0] == 102  # the late row is first now
    assert valid.iloc[11]["close"] == okx_btc.iloc[10]["close"]  # the first copy of the duplicate time


def test_a_newest_first_file_is_sorted_not_rejected(tmp_path, okx_btc_raw):
    path = tmp_path / "newest_first.csv"
    source = okx_btc_raw.iloc[:20]
    source.iloc[::-1].to_csv(path, index=False)
    valid, report = validate_candles(read_ohlcv_file(path))
    assert report.rejections == []
    assert report.notes == ["rows were not in time order (newest first); sorted by time"]
    assert valid["ts"].tolist() == source["ts"].tolist()
    assert valid["close"].tolist() == source["close"].tolist()


@pytest.mark.parametrize(("unit", "factor"), [("seconds", 1e-3), ("microseconds", 1e3), ("nanoseconds", 1e6)])
def test_ts_in_other_epoch_units_is_detected_by_magnitude(tmp_path, okx_btc_raw, unit, factor):
    source = okx_btc_raw.iloc[:200]
    path = tmp_path / f"{unit}.parquet"
    source.assign(ts=(source["ts"] * factor).astype("int64")).to_parquet(path)
    valid, report = validate_candles(read_ohlcv_file(path))
    assert report.rejections == []
    assert report.notes == [f"ts read as epoch {unit} (by magnitude) and converted to milliseconds"]
    assert valid["ts"].tolist() == source["ts"].tolist()


def test_iso_text_ts_is_parsed_and_a_stray_unit_is_named(tmp_path, okx_btc_raw):
    source = okx_btc_raw.iloc[:50].copy()
    iso = pd.to_datetime(source["ts"], unit="ms", utc=True)
    text = iso.dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype(object)
    text.iloc[3] = iso.iloc[3].tz_convert("Europe/Berlin").isoformat()  # an offset is honoured
    text.iloc[4] = iso.iloc[4].strftime("%Y-%m-%d %H:%M")  # naive is UTC
    text.iloc[7] = "soon"
    path = tmp_path / "iso.csv"
    source.assign(ts=text).to_csv(path, index=False)
    valid, report = validate_candles(read_ohlcv_file(path))
    assert [(r.row, r.reason) for r in report.rejections] == [(8, "ts is missing or not a number")]
    assert report.notes == ["ts read as ISO-8601 text in 49 rows (UTC unless they carry an offset)"]
    assert valid["ts"].tolist() == source["ts"].drop(index=7).tolist()

    seconds = source.assign(ts=source["ts"] // 1000)
    seconds.loc[9, "ts"] = source["ts"].iloc[9]  # one row in milliseconds among seconds
    seconds.to_parquet(path := tmp_path / "mixed.parquet")
    _, report = validate_candles(read_ohlcv_file(path))
    assert [r.row for r in report.rejections] == [10]
    assert report.rejections[0].reason == "time outside 2000..2100 (a ts in another unit than the rest of the file?)"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "empty file (0 bytes)"),
        ("empty.parquet", b"", "empty file (0 bytes)"),
        ("binary.csv", bytes(range(256)) * 4, "not a text file (binary content); expected CSV text"),
        ("binary.json", b"\x00\x01PK\x03\x04" * 50, "not a text file (binary content); expected JSON text"),
        ("binary.parquet", b"PK\x03\x04" + bytes(range(256)) * 4, "not a readable Parquet file ("),
        ("header_only.csv", b"", None),
    ],
)
def test_unreadable_files_are_named_in_the_error(tmp_path, name, content, message):
    path = tmp_path / name
    if message is None:
        path.write_text("ts,open,high,low,close,volume\n")
        valid, report = validate_candles(read_ohlcv_file(path))
        assert report.total == 0 and valid.empty
        return
    path.write_bytes(content)
    with pytest.raises(CandleFormatError) as caught:
        read_ohlcv_file(path)
    assert str(caught.value).startswith(f"{path}: {message}")
    assert "\n" not in str(caught.value)


def test_a_row_with_several_faults_lists_them_all(okx_btc):
    frame = corrupt(okx_btc.iloc[:10], 3, high=1.0, volume=-2.0)
    _, report = validate_candles(frame)
    assert report.rejections[0].reason == "negative volume; high < low; open outside [low, high]; close outside [low, high]"


def test_real_okx_series_has_62_gaps_and_no_bad_rows(okx_btc):
    valid, report = validate_candles(okx_btc)
    assert report.rejections == []
    assert len(valid) == len(okx_btc) == 26_408
    assert len(report.gaps) == 62
    first = report.gaps[0]
    # the first hole: candles 16:43..16:48 UTC on 2026-07-27 are missing
    assert str(first) == "2026-07-27 16:43 .. 2026-07-27 16:48 UTC (6 candles missing)"
    span_minutes = (valid["ts"].iloc[-1] - valid["ts"].iloc[0]) // 60_000 + 1
    assert sum(g.missing for g in report.gaps) == span_minutes - len(valid)


def test_csv_with_garbage_cells_loads_the_good_rows(tmp_path, okx_btc_raw):
    path = tmp_path / "candles.csv"
    frame = okx_btc_raw.iloc[:50].astype({"open": object})
    frame.loc[7, "open"] = "abc"
    frame.to_csv(path, index=False)
    valid, report = validate_candles(read_ohlcv_file(path))
    assert [(r.row, r.reason) for r in report.rejections] == [(8, "open is missing or not a number")]
    assert len(valid) == 49


def test_file_without_required_columns_names_them(tmp_path, okx_btc_raw):
    path = tmp_path / "candles.csv"
    okx_btc_raw.drop(columns=["close", "volume"]).iloc[:5].to_csv(path, index=False)
    with pytest.raises(CandleFormatError, match=r"missing column\(s\) close, volume"):
        read_ohlcv_file(path)


def test_okx_json_keeps_confirmed_candles_oldest_first(tmp_path):
    from tests.conftest import FIXTURES

    frame = read_ohlcv_file(FIXTURES / "okx_http_get_candlesticks_full.json")
    assert frame["ts"].tolist() == [1747093980000, 1747094040000]  # reversed from newest-first
    assert frame["volume_contracts"].tolist() == [7164.04, 1040.37]  # OKX `vol`
    assert frame["volume"].tolist() == [71.6404, 10.4037]  # OKX `volCcy`


def test_okx_json_drops_the_forming_candle_and_reports_an_error_code(tmp_path):
    import json

    rows = [
        ["1747094100000", "1", "2", "0.5", "1.5", "10", "0.1", "15", "0"],
        ["1747094040000", "1", "2", "0.5", "1.5", "10", "0.1", "15", "1"],
    ]
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"code": "0", "msg": "", "data": rows}))
    assert read_ohlcv_file(path)["ts"].tolist() == [1747094040000]
    path.write_text(json.dumps({"code": "51000", "msg": "Parameter bar error", "data": []}))
    with pytest.raises(CandleFormatError, match="OKX error code 51000: Parameter bar error"):
        read_ohlcv_file(path)
    path.write_text("{not json")
    with pytest.raises(CandleFormatError, match="not valid JSON"):
        read_ohlcv_file(path)
