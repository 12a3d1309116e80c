"""The correlation analyzer's statistics: Spearman's ρ, bootstrap intervals, Benjamini-Hochberg q-values,
on touches built from the bundled real BTC candles and on planted cases with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from ravebear.research.correlations.compute import CorrelationConfig, bootstrap_interval, correlations, spearman

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "okx_swap_BTC-USDT-SWAP_1m_20260727_20260822_gappy.parquet"


@pytest.fixture(scope="module")
def touches() -> pd.DataFrame:
    """One 'touch' every 15 minutes of real BTC: the state before (return, range, volume) and the markouts after."""
    bars = pd.read_parquet(SAMPLE)
    close = bars["close"].to_numpy()
    rows = []
    for i in range(60, len(bars) - 60, 15):
        before = close[i] / close[i - 15] - 1
        rows.append({
            "ts_ns": int(bars["ts"].iloc[i]) * 1_000_000,
            "prior_return_bps": before * 1e4,
            "range_bps": (bars["high"].iloc[i - 15:i].max() / bars["low"].iloc[i - 15:i].min() - 1) * 1e4,
            "volume": bars["volume"].iloc[i - 15:i].sum(),
            "markout_5m_bps": (close[i + 5] / close[i] - 1) * 1e4,
            "markout_15m_bps": (close[i + 15] / close[i] - 1) * 1e4,
            "markout_60m_bps": (close[i + 60] / close[i] - 1) * 1e4,
        })
    frame = pd.DataFrame(rows)
    frame["held"] = (frame["markout_15m_bps"] > 0).astype(int)
    hours = pd.to_datetime(frame["ts_ns"], unit="ns", utc=True).dt.hour
    frame["session"] = np.select([hours < 8, hours < 13, hours < 21], ["asia", "london", "new_york"], "off")
    return frame


CONFIG = CorrelationConfig(features=("prior_return_bps", "range_bps", "volume"), outcomes=("held", "markout_5m_bps", "markout_15m_bps", "markout_60m_bps"),
                           bootstrap=500, min_events=30)


def _bh(p: list[float]) -> list[float]:
    """Benjamini-Hochberg by its definition: q_(i) = min over j >= i of p_(j) * m / j."""
    m = len(p)
    order = sorted(range(m), key=lambda k: p[k])
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        k = order[rank - 1]
        running = min(running, p[k] * m / rank)
        q[k] = running
    return q


def test_every_cell_equals_a_direct_computation_on_real_touches(touches: pd.DataFrame) -> None:
    result = correlations(touches, CONFIG)
    assert result["touches"] == len(touches) > 1500
    assert [g["group"] for g in result["groups"]] == ["all", "asia", "london", "new_york", "off"]
    cells = result["cells"]
    assert len(cells) == 5 * 3 * 4
    for cell in cells:
        rows = touches if cell["group"] == "all" else touches[touches["session"] == cell["group"]]
        rho, p = spearmanr(rows[cell["feature"]], rows[cell["outcome"]])
        assert cell["n"] == len(rows)
        assert cell["rho"] == pytest.approx(rho) and cell["p"] == pytest.approx(p)
        assert cell["low"] <= cell["rho"] <= cell["high"]
    assert [c["q"] for c in cells] == pytest.approx(_bh([c["p"] for c in cells]))
    assert result["significant"] == sum(c["q"] <= 0.10 for c in cells)


def test_held_shares_by_third_are_counted_from_the_rows(touches: pd.DataFrame) -> None:
    cell = next(c for c in correlations(touches, CONFIG)["cells"] if c["group"] == "all" and c["feature"] == "range_bps" and c["outcome"] == "held")
    x = touches["range_bps"]
    low, high = x.quantile([1 / 3, 2 / 3], interpolation="linear")
    assert cell["held_bottom"] == pytest.approx(touches.loc[x <= low, "held"].mean())
    assert cell["held_top"] == pytest.approx(touches.loc[x >= high, "held"].mean())
    assert cell["held_diff"] == pytest.approx(cell["held_top"] - cell["held_bottom"])


def test_a_planted_link_is_found_and_noise_is_not() -> None:
    rng = np.random.default_rng(1)
    n = 600
    signal = rng.normal(size=n)
    frame = pd.DataFrame({"signal": signal, "markout_15m_bps": 0.3 * signal + rng.normal(size=n)})
    for k in range(20):
        frame[f"noise_{k}"] = rng.normal(size=n)
    config = CorrelationConfig(features=("signal", *(f"noise_{k}" for k in range(20))), outcomes=("markout_15m_bps",), bootstrap=300)
    result = correlations(frame, config)
    found = {c["feature"] for c in result["cells"] if c["significant"]}
    assert found == {"signal"}
    planted = next(c for c in result["cells"] if c["feature"] == "signal")
    assert 0 < planted["low"] < planted["rho"] < planted["high"] and planted["high"] - planted["low"] < 4 / np.sqrt(600)
    raw_hits = sum(c["p"] <= 0.10 for c in result["cells"] if c["feature"] != "signal")
    assert raw_hits >= 1  # uncorrected, noise "finds" something; BH does not report it


def test_small_or_constant_cells_get_no_statistics() -> None:
    frame = pd.DataFrame({"a": range(10), "held": [1, 0] * 5})
    result = correlations(frame, CorrelationConfig(features=("a",), outcomes=("held",), min_events=30, bootstrap=100))
    assert result["cells"][0] == {"split": "all", "group": "all", "feature": "a", "outcome": "held", "n": 10, "rho": None, "low": None, "high": None, "p": None}
    assert result["tests"] == 0 and result["significant"] == 0
    assert spearman(np.ones(5), np.arange(5.0)) != spearman(np.ones(5), np.arange(5.0))  # NaN for a constant side


def test_the_bootstrap_interval_narrows_with_more_touches() -> None:
    rng = np.random.default_rng(3)
    widths = []
    for n in (100, 1600):
        x = rng.normal(size=n)
        y = 0.5 * x + rng.normal(size=n)
        low, high = bootstrap_interval(x, y, 400, 0.95, np.random.default_rng(0))
        assert low < spearman(x, y) < high
        widths.append(high - low)
    assert widths[1] < widths[0] / 2.5  # ~1/sqrt(n): 4x narrower for 16x the touches


def test_bad_settings_are_refused_with_their_range() -> None:
    with pytest.raises(ValueError, match="fdr must be above 0 and below 1, got 1.5"):
        CorrelationConfig(fdr=1.5)
