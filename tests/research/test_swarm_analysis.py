"""`ravebear analyze swarm` through the CLI on the bundled OKX sample catalog: every figure of results.json recomputed
independently (the pure Swarm fed one candle at a time, outcomes with pandas), and bad input as one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.stats import norm

from ravebear.catalog.store import RaveCatalog
from ravebear.platform.cli.analyze import analyze
from ravebear.research.data import load_candles
from ravebear.strategies.levels.timeframes import Candle
from ravebear.strategies.swarm.state import REGIME_NAMES
from ravebear.strategies.swarm.swarm import Swarm
from tests.conftest import sample_catalog

BTC = "BTC-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL"
ETH = "ETH-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL"
HORIZONS = (5, 15, 60)
MIN_MOVE_BPS = 4.0
CONFLUENCE = 4


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> RaveCatalog:
    return sample_catalog(tmp_path_factory.mktemp("catalog"))


@pytest.fixture(scope="module")
def saved(catalog: RaveCatalog, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, str]:
    out = tmp_path_factory.mktemp("out")
    args = ["swarm", "--bar-type", ETH, "--reference", BTC, "--catalog", str(catalog.path), "--out", str(out),
            "--set", "horizons=5,15,60", "--set", f"min_move_bps={MIN_MOVE_BPS}", "--set", f"confluence={CONFLUENCE}",
            "--set", "regime.timeframe_min=30", "--set", "consensus.min_voters=2"]  # fmt: skip
    done = CliRunner().invoke(analyze, args, catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return json.loads((out / "results.json").read_text()), out, done.output


@pytest.fixture(scope="module")
def pure(catalog: RaveCatalog) -> pd.DataFrame:
    """The pure Swarm fed the catalog's ETH candles one at a time, BTC's candle of the minute first."""
    from ravebear.strategies.swarm.config import swarm_config_from_mapping

    frame = load_candles(catalog, ETH)
    ref = frame[["ts"]].merge(load_candles(catalog, BTC)[["ts", "close"]], on="ts", how="left")["close"].to_numpy()
    swarm = Swarm(swarm_config_from_mapping({"regime": {"timeframe_min": 30}, "consensus": {"min_voters": 2}}))
    rows = []
    for (ts, o, h, low, c, v), r in zip(frame[["ts", "open", "high", "low", "close", "volume"]].itertuples(index=False), ref, strict=True):
        close_ns = (int(ts) + 60_000) * 1_000_000
        if not np.isnan(r):
            swarm.on_reference_candle(Candle(close_ns, 0.0, 0.0, 0.0, float(r), 0.0))
        state = swarm.on_candle(Candle(close_ns, float(o), float(h), float(low), float(c), float(v)))
        rows.append((close_ns, float(c), state.direction, state.score, state.confluence, REGIME_NAMES[state.regime], *state.votes))
    return pd.DataFrame(rows, columns=["ts_ns", "close", "direction", "score", "confluence", "regime", *swarm.names])


def with_moves(pure: pd.DataFrame) -> pd.DataFrame:
    """Each candle's forward move per horizon: the close of the first candle closing at least h minutes later."""
    out = pure.copy()
    for h in HORIZONS:
        later = pd.merge_asof(
            pd.DataFrame({"target": out["ts_ns"] + h * 60_000_000_000}), out[["ts_ns", "close"]].rename(columns={"ts_ns": "target", "close": "later"}),
            on="target", direction="forward",
        )["later"]  # fmt: skip
        out[f"move{h}"] = (later.to_numpy() - out["close"].to_numpy()) / out["close"].to_numpy()
    return out


def test_hit_rates_by_bot_regime_and_horizon(saved, pure: pd.DataFrame) -> None:
    results = saved[0]["analyses"]["swarm"]
    table = with_moves(pure)
    got = {(r["name"], r["horizon"], r["regime"]): (r["count"], r["hits"]) for r in results["hit_rates"]}
    bots = [c for c in pure.columns[6:]]
    assert results["bots"] == bots
    checked = 0
    for name in [*bots, "consensus"]:
        side = np.sign(table[name]) if name != "consensus" else table["direction"]
        for h in HORIZONS:
            move = table[f"move{h}"]
            cast = (side != 0) & move.notna()
            hit = (move * side > MIN_MOVE_BPS / 1e4) & cast
            assert got[(name, h, "all")] == (int(cast.sum()), int(hit.sum()))
            for regime in ("trending", "ranging", "volatile"):
                inside = table["regime"] == regime
                assert got[(name, h, regime)] == (int((cast & inside).sum()), int((hit & inside).sum()))
            checked += int(cast.sum())
    assert checked > 50_000
    voted = {name for name in bots if results["votes"][name]}
    assert {"MACDCross", "RSIRev", "CorrBreak", "GapFill"} <= voted  # CorrBreak votes: the BTC reference reached it
    assert not voted & {"CVDDiv", "OBImbalance", "HiddenWall", "SuppDefense", "TakerAggr", "WhaleWatch", "FundArb"}


def test_agreement_calibration_confluence_and_regimes(saved, pure: pd.DataFrame) -> None:
    results = saved[0]["analyses"]["swarm"]
    table = with_moves(pure)
    bots = results["bots"]
    for a, b in (("MACDCross", "RSIRev"), ("GapFill", "PingPong"), ("VolSurge", "MicroBreakout")):
        i, j = bots.index(a), bots.index(b)
        both = (table[a] != 0) & (table[b] != 0)
        assert results["agreement"]["joint"][i][j] == int(both.sum()) > 0
        assert results["agreement"]["same_side"][i][j] == pytest.approx(float((np.sign(table[a]) == np.sign(table[b]))[both].mean()), abs=1e-12)
    on = table["direction"] != 0
    assert results["consensus_candles"] == int(on.sum())
    for entry in results["calibration"]:
        signed = table[f"move{entry['horizon']}"] * table["direction"]
        resolved = on & signed.notna()
        bucket = pd.cut(table["score"], [0, 20, 40, 60, 80, 100.0000001], right=False)
        groups = signed[resolved].groupby(bucket[resolved], observed=False)
        for got, (_, values) in zip(entry["buckets"], groups, strict=True):
            assert got["count"] == len(values)
            if len(values):
                assert got["hit_rate"] == pytest.approx(float((values > MIN_MOVE_BPS / 1e4).mean()), abs=1e-12)
                assert got["mean_move_bps"] == pytest.approx(float(values.mean() * 1e4), rel=1e-9, abs=1e-9)
        assert entry["spearman"] == pytest.approx(table.loc[resolved, "score"].corr(signed[resolved], method="spearman"), abs=1e-9)
        strong = resolved & (table["confluence"] >= CONFLUENCE)
        event = next(e for e in results["confluence_events"] if e["horizon"] == entry["horizon"])
        assert (event["count"], event["hits"]) == (int(strong.sum()), int((signed[strong] > MIN_MOVE_BPS / 1e4).sum()))
        assert event["count"] > 10
    shares = table["regime"].value_counts(normalize=True)
    for name, share in results["regime_shares"].items():
        assert share == pytest.approx(float(shares.get(name, 0.0)), abs=1e-12)
    summary = results["summary"]
    assert summary["horizon"] == 15 and len(summary["top_bots"]) == 5
    mid = next(c for c in results["calibration"] if c["horizon"] == 15)
    z = mid["spearman"] * np.sqrt(mid["count"] - 1)
    assert summary["p_value"] == pytest.approx(float(norm.sf(z)), rel=1e-9)
    filled = [b for b in mid["buckets"] if b["count"]]
    assert summary["calibrated"] == (mid["spearman"] > 0 and summary["p_value"] < 0.05 and filled[-1]["hit_rate"] > filled[0]["hit_rate"])


def test_report_and_terminal(saved) -> None:
    results, out, output = saved
    assert "Swarm summary" in output and "Hit rate by regime at 15 min" in output and "Calibration at 60 min" in output
    page = (out / "report.html").read_text()
    assert page.count('class="plotly-graph-div"') == 3 and "Agreement matrix" in page
    assert results["meta"]["bar_type"] == ETH and results["meta"]["reference"] == BTC


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["swarm", "--bar-type", "DOGE-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL"], "error: no bars for DOGE-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL in the catalog at"),
        (["swarm", "--reference", "XRP-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL"], "error: no bars for XRP-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL in the catalog at"),
        (["swarm", "--start", "2030-01-01"], f"error: no bars for {BTC} between 2030-01-01"),
        (["swarm", "sessions"], "error: `swarm` runs alone"),
        (["sessions", "--reference", BTC], "error: --reference is an option of `analyze swarm` only"),
        (["swarm", "--set", "consensus.min_voter=2"], "error: --set: unknown key 'consensus.min_voter' (did you mean 'min_voters'?)"),
        (["swarm", "--set", "bots=MACDCros"], "error: --set: bots: unknown bot 'MACDCros' (did you mean 'MACDCross'?)"),
        (["swarm", "--set", "regime.trend_enter=2"], "error: --set: regime.trend_enter must be between 0 and 1 efficiency ratio, got 2"),
        (["swarm", "--set", "horizons=0,15"], "error: --set horizons must be whole minutes of at least 1, got 0,15"),
        (["swarm", "--set", "min_move_bps=x"], "error: --set min_move_bps=x: 'x' is not a number"),
        (["swarm", "--set", "nope=1"], "error: --set nope=1: expected KEY=VALUE with KEY one of horizons"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(catalog: RaveCatalog, tmp_path: Path, args: list[str], message: str) -> None:
    done = CliRunner().invoke(analyze, [*args, "--catalog", str(catalog.path), "--out", str(tmp_path)])
    assert done.exit_code == 2, done.output
    assert done.output.strip().startswith(message) and len(done.output.strip().splitlines()) == 1, done.output


def test_an_empty_catalog_says_how_to_fill_it(tmp_path: Path) -> None:
    done = CliRunner().invoke(analyze, ["swarm", "--catalog", str(tmp_path / "empty"), "--out", str(tmp_path / "out")])
    assert done.exit_code == 2
    assert done.output.strip().endswith("import candles first, e.g. `ravebear catalog import-sample`")
    assert len(done.output.strip().splitlines()) == 1


def test_fundarb_reads_the_catalogs_funding_rates(tmp_path: Path) -> None:
    """Binance USD-M ETHUSDT candles (6 days) and its real settled funding in the catalog: FundArb votes as the pure
    bot fed each rate once its time has come (threshold lowered: these days' rates stay below the 0.05 % default)."""
    from ravebear.catalog.alt_data import AltDataStore, FundingRate
    from ravebear.catalog.candles import read_ohlcv_file
    from ravebear.catalog.instruments import instrument_for
    from ravebear.strategies.swarm.bots.dynamics import FundArb, FundArbConfig
    from tests.shared_data import SHARED
    from tests.strategies.swarm.real_inputs import funding_rates

    store = RaveCatalog(tmp_path / "catalog")
    candles_frame = read_ohlcv_file(SHARED / "ohlcv_1m" / "binance_usdm_ETHUSDT_1m_20250504_20250624.parquet")
    candles_frame = candles_frame[candles_frame["ts"] < candles_frame["ts"].iloc[0] + 6 * 86_400_000]
    instrument = instrument_for("ETHUSDT-PERP.BINANCE")
    store.import_candles(candles_frame, instrument)
    rates = funding_rates("ETH")
    AltDataStore(store).write([
        FundingRate(instrument_id=instrument.id, close=float(r.funding_rate), interval_s=8 * 3600, ts_event=int(r.ts_ns), ts_init=int(r.ts_ns))
        for r in rates.itertuples(index=False)
    ])  # fmt: skip
    bar_type = "ETHUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL"
    out = tmp_path / "out"
    args = ["swarm", "--bar-type", bar_type, "--catalog", str(store.path), "--out", str(out), "--set", "settings.FundArb.extreme_rate=0.00005"]
    done = CliRunner().invoke(analyze, args, catch_exceptions=False)
    assert done.exit_code == 0, done.output
    saved = json.loads((out / "results.json").read_text())
    assert saved["meta"]["funding_rates"] == len(rates)
    frame = load_candles(store, bar_type)
    bot = FundArb(FundArbConfig(extreme_rate=0.00005))
    pending = list(rates.itertuples(index=False))
    votes = []
    for ts in frame["ts"].to_numpy():
        close_ns = (int(ts) + 60_000) * 1_000_000
        while pending and pending[0].ts_ns <= close_ns:
            bot.on_funding(int(pending[0].ts_ns), float(pending.pop(0).funding_rate))
        votes.append(bot.on_candle(Candle(close_ns, 0.0, 0.0, 0.0, 0.0, 0.0)))
    assert saved["analyses"]["swarm"]["votes"]["FundArb"] == sum(v != 0.0 for v in votes) > 1000
