"""Research analyses: hand-built candles with known answers, and `ravebear analyze` on the real OKX sample."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from ravebear.catalog.store import RaveCatalog
from ravebear.platform.cli.analyze import analyze
from ravebear.research import big_moves, candle_stats, clusters, consolidations, sessions, touch_times, volume_spikes
from ravebear.research.data import decode_fixed, from_frame, load_candles
from ravebear.research.runner import AnalysisConfig, apply_overrides, resolve
from ravebear.strategies.levels.wicks import WickConfig
from tests.conftest import OKX_BTC

BAR_TYPE = "BTC-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL"
T0 = 1_722_470_400_000  # 2024-08-01 00:00 UTC, ms
MIN = 60_000


def frame(rows: list[tuple[float, float, float, float]], volumes: list[float] | None = None, start: int = T0, ts: list[int] | None = None) -> pd.DataFrame:
    """1-minute candles (open, high, low, close), consecutive from `start` unless `ts` is given."""
    out = pd.DataFrame(rows, columns=["open", "high", "low", "close"])
    out.insert(0, "ts", ts if ts is not None else [start + i * MIN for i in range(len(rows))])
    out["volume"] = volumes if volumes is not None else 1.0
    return out


# a 1-minute candle that makes no wick (wicks of 1 bps), one with a 20 bps lower wick, one that touches
def quiet(base: float) -> tuple[float, float, float, float]:
    return (base, base + 0.02, base - 0.01, base + 0.01)


def hammer(base: float) -> tuple[float, float, float, float]:
    return (base, base + 0.03, base - 0.20, base + 0.02)  # support at base - 0.20


def dip_to(level: float, base: float) -> tuple[float, float, float, float]:
    return (base, base, level - 0.01, level)  # closes on the level: TOUCHED, and leaves no wick itself


def test_candle_stats_on_known_candles():
    candles = from_frame(frame([(100.0, 101.0, 99.0, 100.5), (100.0, 100.2, 99.5, 99.6)]))
    result = candle_stats.run(candles, candle_stats.CandleStatsConfig(timeframes=("1m",), percentiles=(0.0, 50.0, 100.0)))
    entry = result["timeframes"]["1m"]
    assert entry["range"]["percentiles_bps"] == pytest.approx([70.0, 135.0, 200.0])
    assert entry["body"]["percentiles_bps"] == pytest.approx([40.0, 45.0, 50.0])
    assert entry["upper_wick"]["percentiles_bps"] == pytest.approx([20.0, 35.0, 50.0])
    assert entry["lower_wick"]["percentiles_bps"] == pytest.approx([10.0, 55.0, 100.0])


def touch_series(blocks: int) -> list[tuple[float, float, float, float]]:
    rows = []
    for k in range(blocks):
        base = 100.0 + k  # every block higher, so no level carries into the next one
        rows += [hammer(base), quiet(base), quiet(base), dip_to(base - 0.20, base)]
    return rows


def test_wick_touched_three_candles_later_has_a_median_of_three_minutes():
    candles = from_frame(frame(touch_series(5)))
    result = touch_times.run(candles, touch_times.TouchTimesConfig(timeframes=("1m",)))
    entry = result["timeframes"]["1m"]
    assert entry["wicks"] == 5 and entry["outcomes"]["touched"] == 5
    assert entry["median_touch_min_touched"] == 3 and entry["median_touch_min_all"] == 3
    assert entry["within"]["5"] == {"share": 1.0, "touched": 5, "known": 5, "ci95": 0.0}
    assert entry["within"]["60"] == {"share": 1.0, "touched": 5, "known": 5, "ci95": 0.0}


def test_untouched_wicks_count_in_the_denominator_and_cut_off_ones_only_when_known():
    rows = touch_series(3)
    rows += [hammer(120.0)] + [quiet(120.0)] * 13  # never touched: expires after 10 candles (11 minutes watched)
    rows += [hammer(140.0), quiet(140.0), quiet(140.0)]  # data ends 2 minutes after this wick: censored
    config = touch_times.TouchTimesConfig(timeframes=("1m",), within_minutes=(5, 60), wick=WickConfig(max_age_bars=10, max_levels=10_000))
    entry = touch_times.run(from_frame(frame(rows)), config)["timeframes"]["1m"]
    assert entry["outcomes"] == {"touched": 3, "invalidated": 0, "expired": 1, "censored": 1}
    assert entry["within"]["5"] == {"share": 0.75, "touched": 3, "known": 4, "ci95": pytest.approx(1.96 * (0.75 * 0.25 / 4) ** 0.5)}  # censored wick watched 2 < 5 minutes: unknown
    assert entry["within"]["60"] == {"share": 1.0, "touched": 3, "known": 3, "ci95": 0.0}  # nobody watched the other two for 60 minutes
    assert entry["median_touch_min_touched"] == 3 and entry["median_touch_min_all"] == 3


def test_higher_timeframe_touch_time_is_measured_at_one_minute_resolution():
    # 5m candle 1 (00:00-00:05) has a lower wick to 99.0; the 5m candle after it reaches 99.0 in its 2nd minute
    first = [(100.0, 100.05, 100.0, 100.02), (100.02, 100.05, 99.0, 100.02), (100.02, 100.05, 100.0, 100.03),
             (100.03, 100.06, 100.0, 100.04), (100.04, 100.06, 100.0, 100.05)]  # fmt: skip
    second = [(100.05, 100.1, 100.0, 100.08), (100.08, 100.1, 98.99, 99.5), (99.5, 99.6, 99.4, 99.45), (99.45, 99.5, 99.3, 99.4), (99.4, 99.4, 99.3, 99.3)]
    rows = first + second + [quiet(99.3)] * 5
    entry = touch_times.run(from_frame(frame(rows)), touch_times.TouchTimesConfig(timeframes=("5m",)))["timeframes"]["5m"]
    assert entry["wicks"] == 1 and entry["outcomes"]["touched"] == 1
    assert entry["median_touch_bars_touched"] == 1
    assert entry["median_touch_min_bar_close"] == 5  # age_bars x 5 minutes
    assert entry["median_touch_min_touched"] == 2  # wick closed 00:05, the touching 1m candle closed 00:07


def test_sessions_rank_the_wide_hour_first():
    rows, ts = [], []
    for day in range(2):
        for hour in range(24):
            width = 1.0 if hour == 14 else (0.5 if hour == 15 else 0.1)
            for minute in range(0, 60, 30):
                ts.append(T0 + day * 86_400_000 + hour * 3_600_000 + minute * MIN)
                rows.append((100.0, 100.0 + width, 100.0, 100.0 + width / 2))
    result = sessions.run(from_frame(frame(rows, ts=ts)), sessions.SessionsConfig())
    assert result["ranking"][:2] == [14, 15]
    assert result["hours"][14]["mean_range_bps"] == pytest.approx(100.0)
    assert result["most_volatile_window"]["label"] == "14:00-16:00 UTC"
    assert result["weekdays"][3]["candles"] == 48  # 2024-08-01 was a Thursday


def test_big_move_reversal_and_continuation_are_counted_separately():
    rows = [quiet(100.0)] * 5
    rows += [(100.0, 101.0, 100.0, 101.0), (101.0, 101.0, 100.5, 100.6)]  # big up candle, then back down: reversal
    rows += [quiet(100.6)] * 5
    rows += [(100.6, 100.6, 99.6, 99.6), (99.6, 99.6, 99.3, 99.35)]  # big down candle, then lower: continuation
    rows += [quiet(99.35)] * 5
    config = big_moves.BigMovesConfig(timeframes=("1m",), min_range_bps=50.0, horizons=(1,))
    entry = big_moves.run(from_frame(frame(rows)), config)["timeframes"]["1m"]
    assert entry["events"] == 2 and entry["up"] == 1 and entry["down"] == 1
    outcome = entry["outcomes"]["horizons"]["1"]["events"]
    assert outcome["continuation"] == 0.5 and outcome["reversal"] == 0.5
    assert outcome["half_retrace"] == 0.5  # only the reversal came back to the middle of the body


def test_volume_spike_followed_by_continuation_and_windows_across_gaps_are_skipped():
    rows = [quiet(100.0)] * 20 + [(100.0, 100.5, 100.0, 100.5)] + [(100.5 + i * 0.1, 100.7 + i * 0.1, 100.5 + i * 0.1, 100.6 + i * 0.1) for i in range(6)]
    volumes = [1.0] * 20 + [5.0] + [1.0] * 6
    config = volume_spikes.VolumeSpikesConfig(timeframes=("1m",), multiple=3.0, lookback=20, horizons=(1, 5))
    entry = volume_spikes.run(from_frame(frame(rows, volumes)), config)["timeframes"]["1m"]
    assert entry["events"] == 1 and entry["median_relative_volume"] == pytest.approx(5.0)
    assert entry["outcomes"]["horizons"]["1"]["events"]["continuation"] == 1.0
    assert entry["outcomes"]["horizons"]["5"]["events"]["continuation"] == 1.0
    # the same candles with a 10-minute hole two candles after the spike: the 5-candle window is not counted
    ts = [T0 + i * MIN for i in range(23)] + [T0 + (23 + 10 + i) * MIN for i in range(4)]
    gappy = volume_spikes.run(from_frame(frame(rows, volumes, ts=ts)), config)["timeframes"]["1m"]
    assert gappy["events"] == 1
    assert gappy["outcomes"]["horizons"]["1"]["events"]["n"] == 1 and gappy["outcomes"]["horizons"]["5"]["events"]["n"] == 0


def test_clusters_find_the_band_where_wicks_repeat():
    rows = []
    for k in range(6):  # six hammers whose lows all sit at 99.80, each touched later
        rows += [hammer(100.0), quiet(100.0), dip_to(99.8, 100.0)]
        rows += [quiet(100.5)]
    rows += [hammer(110.0), quiet(110.0)]  # one lone wick far away
    config = clusters.ClustersConfig(timeframes=("1m",), band_bps=10.0, min_wicks=3)
    result = clusters.run(from_frame(frame(rows)), config)
    assert result["wicks"] == 7
    (zone,) = result["zones"]
    assert zone["wicks"] == 6 and zone["supports"] == 6 and zone["low"] <= 99.8 < zone["high"]
    assert zone["high"] / zone["low"] == pytest.approx(1.001)


def test_a_box_breaks_out_up_and_follows_through():
    rows = [quiet(100.0)] * 25  # 3 bps tall: a box once 20 candles fit
    rows += [(100.01, 100.2, 100.0, 100.15)]  # closes 13 bps above the top edge: breakout up, 6 candles after creation
    rows += [(100.15, 100.25, 100.14, 100.2), (100.2, 100.3, 100.19, 100.28), (100.28, 100.3, 100.25, 100.29)]
    config = consolidations.ConsolidationsConfig(timeframes=("1m",), horizons=(1, 3))
    entry = consolidations.run(from_frame(frame(rows)), config)["timeframes"]["1m"]
    assert entry["boxes"] == 1 and entry["outcomes"] == {"up": 1, "down": 0, "expired": 0, "open": 0}
    assert entry["median_life_candles"] == 6 and entry["median_length_candles"] == 25
    first = entry["follow_through"]["1"]
    assert first["n"] == 1 and first["continuation"] == 1.0 and first["back_inside"] == 0.0 and first["one_height"] == 1.0
    assert entry["follow_through"]["3"]["continuation"] == 1.0
    scaled = consolidations.box_config(config, "15m")
    assert scaled.max_height_bps == pytest.approx(15.0 * 15**0.5) and scaled.min_bars == 20


def test_overrides_and_analysis_names():
    config = apply_overrides(AnalysisConfig(), ["big_moves.range_quantile=0.995", "touch_times.wick.min_wick_bps=5", "big_moves.horizons=1,3", "big_moves.min_range_bps=40"])
    assert config.big_moves.range_quantile == 0.995 and config.big_moves.horizons == (1, 3) and config.big_moves.min_range_bps == 40
    assert config.touch_times.wick.min_wick_bps == 5.0 and config.touch_times.wick.max_levels == 1_000_000
    with pytest.raises(ValueError, match="unknown field 'range_q'"):
        apply_overrides(AnalysisConfig(), ["big_moves.range_q=1"])
    assert resolve(["touch_times", "sessions"]) == ["touch-times", "sessions"]
    with pytest.raises(ValueError, match="unknown analysis"):
        resolve(["bogus"])


# -- the real OKX BTC sample through the catalog and the CLI --------------------------------


@pytest.fixture(scope="module")
def okx_catalog(tmp_path_factory) -> RaveCatalog:
    store = RaveCatalog(tmp_path_factory.mktemp("research") / "catalog")
    store.import_file(OKX_BTC, "BTC-USDT-SWAP")
    return store


def test_fast_catalog_reader_equals_nautilus_bars_and_the_raw_file(okx_catalog, okx_btc_raw):
    fast = load_candles(okx_catalog, BAR_TYPE)
    bars = okx_catalog.bars(BAR_TYPE)
    assert len(fast) == len(bars) == len(okx_btc_raw)
    assert (fast["ts"].to_numpy() == np.array([b.ts_event for b in bars]) // 1_000_000 - MIN).all()
    assert (fast["ts"].to_numpy() == okx_btc_raw["ts"].to_numpy()).all()
    for name in ("open", "high", "low", "close", "volume"):
        assert (fast[name].to_numpy() == np.array([getattr(b, name).as_double() for b in bars])).all(), name
    assert np.allclose(fast["close"], okx_btc_raw["close"], rtol=0, atol=1e-9)
    # open-time range [start, end)
    start, end = int(okx_btc_raw["ts"].iloc[100]), int(okx_btc_raw["ts"].iloc[200])
    assert load_candles(okx_catalog, BAR_TYPE, start, end)["ts"].tolist() == okx_btc_raw["ts"].iloc[100:200].tolist()


def test_decode_fixed_handles_negative_and_64_bit_values():
    import pyarrow as pa

    raw128 = [int(-12.5 * 10**16), int(123456.7 * 10**16)]
    data = b"".join(v.to_bytes(16, "little", signed=True) for v in raw128)
    array = pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), 2, [None, pa.py_buffer(data)])
    assert decode_fixed(array).tolist() == pytest.approx([-12.5, 123456.7])
    data64 = b"".join(int(v * 10**9).to_bytes(8, "little", signed=True) for v in (3.25, -1.5))
    assert decode_fixed(pa.FixedSizeBinaryArray.from_buffers(pa.binary(8), 2, [None, pa.py_buffer(data64)])).tolist() == [3.25, -1.5]


def brute_force_1m_touches(raw: pd.DataFrame, config: WickConfig) -> tuple[list[int], list[int]]:
    """Touch minutes of 1m wicks and watched minutes of untouched ones, straight from the raw candles, per gap-free run."""
    ts = raw["ts"].to_numpy()
    o, h, l, c = (raw[n].to_numpy() for n in ("open", "high", "low", "close"))
    runs = np.split(np.arange(len(raw)), np.flatnonzero(np.diff(ts) != MIN) + 1)
    touched, untouched = [], []
    for run in runs:
        for i in run:
            body = max(abs(c[i] - o[i]), 1e-9)
            for side, wick, price in ((1, min(o[i], c[i]) - l[i], l[i]), (-1, h[i] - max(o[i], c[i]), h[i])):
                if wick < config.min_wick_bps * 1e-4 * price or wick < config.min_wick_body_ratio * body:
                    continue
                later = run[run > i][: config.max_age_bars + 1]  # the detector checks touches before expiry: age max_age + 1 still touches
                hits = later[(l[later] <= price) if side == 1 else (h[later] >= price)]
                if len(hits):
                    touched.append(int(hits[0] - i))
                else:
                    untouched.append(len(later))
    return touched, untouched


@pytest.fixture(scope="module")
def analyzed(okx_catalog, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("analysis") / "out"
    done = CliRunner().invoke(analyze, ["--catalog", str(okx_catalog.path), "--out", str(out)], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return {"stdout": done.output, "out": out, "results": json.loads((out / "results.json").read_text())}


def test_analyze_prints_tables_and_writes_the_report(analyzed):
    stdout, results = analyzed["stdout"], analyzed["results"]
    for heading in ("The trader's findings vs this data", "Wick creation -> first touch", "UTC hours ranked", "Big moves: what the next N candles do",
                    "Volume spikes: what the next N candles do", "Densest wick zones", "Breakouts: what the next N candles do", "report:"):  # fmt: skip
        assert heading in stdout, heading
    assert results["meta"]["candles_1m"] == 26_408 and results["meta"]["gaps"] == 62
    html = (analyzed["out"] / "report.html").read_text()
    assert "Plotly.newPlot" in html and html.count("class=\"plotly-graph-div\"") >= 12
    assert "<script src=" not in html and len(html) > 3_000_000  # self-contained: plotly.js is inline
    for title in ("Share of wicks touched within t minutes", "Mean 1m candle range by UTC hour", "Wick density by price", "UTC hours ranked by mean 1m range"):
        assert title in html, title


def test_analyze_numbers_match_an_independent_computation_from_the_raw_file(analyzed, okx_btc_raw):
    results = analyzed["results"]["analyses"]
    raw = okx_btc_raw
    # candle-stat percentiles with numpy
    stats = results["candle-stats"]["timeframes"]["1m"]
    qs = results["candle-stats"]["percentiles"]
    upper = (raw["high"] - raw[["open", "close"]].max(axis=1)) / raw["open"] * 1e4
    assert stats["range"]["percentiles_bps"] == pytest.approx(np.percentile((raw["high"] - raw["low"]) / raw["open"] * 1e4, qs))
    assert stats["upper_wick"]["percentiles_bps"] == pytest.approx(np.percentile(upper, qs))
    # 5m candles without a gap inside: buckets holding all five 1-minute candles
    assert results["candle-stats"]["timeframes"]["5m"]["candles"] == int(((raw["ts"] // 300_000).value_counts() == 5).sum())
    # the hour ranking with pandas
    hours = pd.to_datetime(raw["ts"], unit="ms", utc=True).dt.hour
    by_hour = ((raw["high"] - raw["low"]) / raw["open"] * 1e4).groupby(hours).mean().sort_values(ascending=False)
    assert results["sessions"]["ranking"] == by_hour.index.tolist()
    # big-move threshold = 99th percentile of 1m ranges
    assert results["big-moves"]["timeframes"]["1m"]["threshold_bps"] == pytest.approx(np.quantile((raw["high"] - raw["low"]) / raw["open"] * 1e4, 0.99))
    # 1m wick touch times by brute force
    touched, untouched = brute_force_1m_touches(raw, touch_times.RESEARCH_WICKS)
    entry = results["touch-times"]["timeframes"]["1m"]
    assert entry["wicks"] == len(touched) + len(untouched)
    assert entry["median_touch_min_touched"] == np.median(touched)
    known = len(touched) + sum(1 for watched in untouched if watched >= 30)
    assert entry["within"]["30"]["share"] == pytest.approx(sum(1 for t in touched if t <= 30) / known)
    # volume spikes: 3x the mean of the previous 20 gap-free candles, recomputed with pandas rolling
    vol = raw["volume_contracts"]
    prior = vol.shift(1).rolling(20).mean()
    gap_free = raw["ts"].diff(20) == 20 * MIN
    assert results["volume-spikes"]["timeframes"]["1m"]["events"] == int(((vol >= 3 * prior) & gap_free).sum())


def test_analyze_rejects_unknown_analyses_and_empty_catalogs(tmp_path):
    done = CliRunner().invoke(analyze, ["bogus", "--catalog", str(tmp_path)])
    assert done.exit_code == 2 and "unknown analysis bogus" in done.output
    done = CliRunner().invoke(analyze, ["sessions", "--catalog", str(tmp_path / "empty")])
    assert done.exit_code == 2 and "no bars for BTC-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL" in done.output


def test_a_chosen_analysis_over_a_date_range(okx_catalog, tmp_path):
    out = tmp_path / "one"
    done = CliRunner().invoke(analyze, ["sessions", "--catalog", str(okx_catalog.path), "--start", "2026-08-01", "--end", "2026-08-03", "--out", str(out)])
    assert done.exit_code == 0, done.output
    results = json.loads((out / "results.json").read_text())
    assert list(results["analyses"]) == ["sessions"]
    assert results["meta"]["first_open_utc"] >= "2026-08-01 00:00" and results["meta"]["last_open_utc"] < "2026-08-03 00:00"
    assert Path(out / "report.html").exists()


# -- what a user sees from bad `analyze` input (issue 13, item 14) ----------------------------


def test_start_after_end_says_so_and_exits_2(okx_catalog, tmp_path):
    done = CliRunner().invoke(analyze, ["sessions", "--catalog", str(okx_catalog.path), "--start", "2026-08-10", "--end", "2026-08-01", "--out", str(tmp_path)])
    assert done.exit_code == 2
    assert done.output.strip() == "error: the start 2026-08-10 00:00 UTC is not before the end 2026-08-01 00:00 UTC: no candles can open in between"
    assert not list(tmp_path.iterdir())  # nothing written


def test_a_range_past_the_stored_bars_names_the_end_and_points_at_the_listing(okx_catalog, tmp_path):
    done = CliRunner().invoke(analyze, ["sessions", "--catalog", str(okx_catalog.path), "--start", "2030-01-01", "--out", str(tmp_path)])
    assert done.exit_code == 2
    assert done.output.strip() == (
        f"error: no bars for {BAR_TYPE} between 2030-01-01 00:00 UTC and the last stored bar in the catalog at {okx_catalog.path}; "
        "`ravebear catalog list` shows the stored range"
    )
    assert "import candles first" not in done.output  # the series is stored: importing is not the fix


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("big_moves.range_quantile=abc", "--set big_moves.range_quantile=abc: 'abc' is not a number; allowed: above 0 and below 1"),
        ("big_moves.range_quantile=1.5", "--set big_moves.range_quantile must be above 0 and below 1, got 1.5"),
        ("big_moves.horizons=1,0", "--set big_moves.horizons must be at least 1 candles, got 0"),
        ("sessions.window_hours=30", "--set sessions.window_hours must be between 1 and 24 hours, got 30"),
        ("clusters.top=2.5", "--set clusters.top=2.5: '2.5' is not a whole number; allowed: at least 1"),
        ("touch_times.wick.min_wick_bps=-3", "--set touch_times.wick.min_wick_bps must be between 0 and 5,000 bps, got -3"),
        ("big_moves.min_range_bps=wide", "--set big_moves.min_range_bps=wide: 'wide' is not a number or none; allowed: above 0 bps"),
        ("candle_stats.timeframes=1m,7m", "--set candle_stats.timeframes=1m,7m: unknown timeframe '7m'; known: 1m, 5m, 15m, 30m, 1h, 4h"),
    ],
)
def test_a_bad_setting_names_the_setting_the_value_and_what_is_allowed(tmp_path, setting, message):
    done = CliRunner().invoke(analyze, ["--set", setting, "--catalog", str(tmp_path)])
    assert done.exit_code == 2
    assert done.output.strip() == f"error: {message}"


def test_candle_stats_says_why_its_higher_timeframe_counts_are_lower_than_the_other_sections(analyzed, okx_btc_raw):
    results = analyzed["results"]["analyses"]
    buckets = (okx_btc_raw["ts"] // 300_000).value_counts()
    stats_5m, moves_5m = results["candle-stats"]["timeframes"]["5m"]["candles"], results["big-moves"]["timeframes"]["5m"]["candles"]
    assert stats_5m == int((buckets == 5).sum()) < moves_5m  # the two sections differ...
    left_out = {tf: entry["incomplete_left_out"] for tf, entry in results["candle-stats"]["timeframes"].items()}
    assert left_out["5m"] == moves_5m - stats_5m  # big-moves counts every 5m candle built, candle-stats the complete ones
    counts = ", ".join(f"{tf} {n:,}" for tf, n in left_out.items() if n)
    note = f"candles: complete ones only; candles with a gap inside were left out ({counts}), so the other sections, which count every candle, show more"
    assert note in analyzed["stdout"]  # ...and the terminal says why
