"""`ravebear analyze orderflow` on the real Binance USD-M and spot BTC captures, checked against pandas recomputations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from ravebear.catalog.orderflow.importer import import_file
from ravebear.catalog.store import RaveCatalog
from ravebear.platform.cli.analyze import analyze
from ravebear.research import orderflow
from tests.shared_data import SHARED

CAPTURES = SHARED / "trades_book"
PERP, SPOT = "BTCUSDT-PERP.BINANCE", "BTCUSDT.BINANCE"
USDM = "binance_usdm_BTCUSDT_20240808T2354Z_20240808T2359Z"
SPOT_FILE = "binance_spot_BTCUSDT_20240808T2354Z_20240809T0005Z"
COINM = "binance_coinm_BTCUSD_PERP_20240808T2354Z_20240809T0005Z"
MINUTE = 60_000_000_000
SETTINGS = ("absorption.lookback_buckets=6", "levels.wicks.min_wick_bps=3", "hold_minutes=1")  # short warm-up and levels: the captures last minutes


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> RaveCatalog:
    store = RaveCatalog(tmp_path_factory.mktemp("catalog"))
    for name in (f"{USDM}_trades", f"{USDM}_depthdiff", f"{SPOT_FILE}_trades", f"{COINM}_trades"):
        import_file(store, CAPTURES / f"{name}.parquet")
    return store


@pytest.fixture(scope="module")
def result(catalog: RaveCatalog) -> dict:
    config = orderflow.apply_overrides(orderflow.OrderflowAnalysisConfig(), SETTINGS)
    return orderflow.run(catalog, PERP, None, None, config)


def _trades(name: str) -> pd.DataFrame:
    """The raw capture's trades in receive-time order (ties in file order, as the importer stores them)."""
    raw = pd.read_parquet(CAPTURES / f"{name}_trades.parquet")
    frame = pd.DataFrame({"ts": raw["local_ts_ns"].astype("int64"), "price": raw["price"].astype(float), "size": raw["qty"].astype(float),
                          "side": np.where(raw["is_buyer_maker"], -1, 1)})  # fmt: skip
    return frame.sort_values("ts", kind="stable").reset_index(drop=True)


def _later_price(frame: pd.DataFrame, target: np.ndarray) -> np.ndarray:
    ts = frame["ts"].to_numpy()
    return frame["price"].to_numpy()[np.searchsorted(ts, target, side="right") - 1]


def test_absorption_tiers_match_a_pandas_bucketing(result: dict) -> None:
    trades = _trades(USDM)
    bucket_ns, lookback = 10_000_000_000, 6
    trades["bucket"] = trades["ts"] // bucket_ns
    trades["delta"] = trades["size"] * trades["side"]
    by = trades.groupby("bucket").agg(delta=("delta", "sum"), close=("price", "last"), first=("price", "first"))
    full = by.reindex(range(by.index[0], by.index[-1] + 1))
    mean = full["delta"].fillna(0).abs().rolling(lookback).mean().shift(1)
    by["mean"] = mean.reindex(by.index)
    by["reference"] = by["close"].shift(1).fillna(by["first"])  # last price before the bucket
    side = np.sign(by["delta"])
    move = (by["close"] - by["reference"]) / by["reference"] * 1e4 * side
    multiple = np.where(by["mean"] > 0, by["delta"].abs() / by["mean"], 0.0)
    tier = np.zeros(len(by), dtype=int)
    for k, (least, most) in enumerate(((2.0, 3.0), (3.0, 2.0), (5.0, 1.0)), start=1):
        tier = np.where((multiple >= least) & (move <= most), k, tier)
    counted = (by.index - by.index[0]).to_numpy() >= lookback
    absorption = result["analyses"]["orderflow"]["absorption"]
    assert absorption["warm_up_buckets"] == int((~counted).sum())
    for k in range(4):
        row = absorption["tiers"][str(k)]
        assert row["all"] == int(((tier == k) & counted).sum())
        assert row["buy"] == int(((tier == k) & counted & (side.to_numpy() > 0)).sum())
    assert sum(row["all"] for row in absorption["tiers"].values()) == int(counted.sum()) > 20


def test_whale_counts_and_forward_moves_match_pandas(result: dict) -> None:
    trades = _trades(USDM)
    whales = trades[trades["price"] * trades["size"] >= 1_000_000]
    found = result["analyses"]["orderflow"]["whales"]
    assert found["count"] == {"buy": int((whales["side"] > 0).sum()), "sell": int((whales["side"] < 0).sum())}
    assert sum(found["count"].values()) > 0
    for minutes in (1, 5):
        target = whales["ts"].to_numpy() + minutes * MINUTE
        covered = target <= trades["ts"].iloc[-1]
        moves = (_later_price(trades, target[covered]) - whales["price"].to_numpy()[covered]) / whales["price"].to_numpy()[covered] * 1e4 * whales["side"].to_numpy()[covered]
        stats = found["horizons"][str(minutes)]["all"]
        assert stats["n"] == len(moves)
        if len(moves):
            assert stats["mean_bps"] == pytest.approx(moves.mean(), abs=1e-3)
            assert stats["share_positive"] == pytest.approx((moves > 0).mean(), abs=1e-4)


def test_inverse_contracts_are_priced_from_the_catalog_instrument(catalog: RaveCatalog) -> None:
    """COIN-M sizes are contracts of 100 USD: whale notional = contracts x 100, and the divergence needs --pair."""
    config = orderflow.apply_overrides(orderflow.OrderflowAnalysisConfig(), ["whales.min_notional=100000"])
    found = orderflow.run(catalog, "BTCUSD_PERP.BINANCE", None, None, config)["analyses"]["orderflow"]
    trades = _trades(COINM)
    whales = trades[trades["size"] * 100 >= 100_000]
    assert sum(found["whales"]["count"].values()) == len(whales) > 0
    assert found["whales"]["notional"] == pytest.approx((whales["size"] * 100).sum())
    assert "name the other market of BTCUSD_PERP.BINANCE with --pair" in found["divergence"]["skipped"]
    paired = orderflow.run(catalog, "BTCUSD_PERP.BINANCE", None, None, config, pair=SPOT)["analyses"]["orderflow"]["divergence"]
    assert paired["spot"] == SPOT and paired["perp"] == "BTCUSD_PERP.BINANCE" and paired["count"] > 0


def test_cvd_divergence_episodes_match_pandas_rolling_sums(result: dict) -> None:
    spot, perp = _trades(SPOT_FILE), _trades(USDM)
    merged = pd.concat([spot.assign(market=0), perp.assign(market=1)]).sort_values(["ts", "market"], kind="stable")
    quote = merged["price"] * merged["size"] * merged["side"]
    merged["spot_q"], merged["perp_q"] = np.where(merged["market"] == 0, quote, 0.0), np.where(merged["market"] == 1, quote, 0.0)
    rolled = merged.set_index(pd.to_datetime(merged["ts"]))[["spot_q", "perp_q"]].rolling("300s").sum()
    s, p = rolled["spot_q"].to_numpy(), rolled["perp_q"].to_numpy()
    divergence = np.where((s >= 1e5) & (p <= -1e5), 1, np.where((s <= -1e5) & (p >= 1e5), -1, 0))
    previous = np.concatenate([[0], divergence[:-1]])
    starts = (divergence != 0) & (divergence != previous)
    found = result["analyses"]["orderflow"]["divergence"]
    assert found["spot"] == SPOT and found["perp"] == PERP
    assert [e["ts_ns"] for e in found["episodes"]] == merged["ts"].to_numpy()[starts].tolist()
    assert [e["direction"] for e in found["episodes"]] == divergence[starts].tolist()
    ts, direction = merged["ts"].to_numpy()[starts], divergence[starts]
    target = ts + MINUTE
    covered = target <= perp["ts"].iloc[-1]
    moves = (_later_price(perp, target[covered]) - _later_price(perp, ts[covered])) / _later_price(perp, ts[covered]) * 1e4 * direction[covered]
    stats = found["horizons"]["1"]["all"]
    assert stats["n"] == len(moves) > 0
    assert stats["mean_bps"] == pytest.approx(moves.mean(), abs=1e-3)


def test_level_touches_outcomes_and_obi_follow_their_definitions(catalog: RaveCatalog, result: dict) -> None:
    from nautilus_trader.model.data import OrderBookDelta

    levels = result["analyses"]["orderflow"]["levels"]
    trades = _trades(USDM)
    assert levels["bars_1m"] == trades["ts"].floordiv(MINUTE).nunique()
    assert levels["touched"] > 0
    deltas = pd.DataFrame([(d.ts_init, int(d.action), int(d.order.side), d.order.price.as_double(), d.order.size.as_double())
                           for d in catalog.nautilus.query(OrderBookDelta, identifiers=[PERP])], columns=["ts", "action", "side", "price", "size"])  # fmt: skip
    for touch in levels["touches"]:
        after = trades[trades["ts"] > touch["created_ns"]]
        support = touch["side"] != "resistance"
        reached = after[after["price"] <= touch["high"]] if support else after[after["price"] >= touch["low"]]
        assert touch["touch_ns"] == reached["ts"].iloc[0]
        window = trades[(trades["ts"] >= touch["touch_ns"]) & (trades["ts"] <= touch["touch_ns"] + MINUTE)]
        broken = (window["price"] < touch["low"] * (1 - 5e-4)).any() if support else (window["price"] > touch["high"] * (1 + 5e-4)).any()
        assert touch["outcome"] == ("broken" if broken else "held" if trades["ts"].iloc[-1] >= touch["touch_ns"] + MINUTE else "open")
        # the book as received up to the touch: last size per (side, price) after the last CLEAR (action 4)
        seen = deltas[deltas["ts"] <= touch["touch_ns"]]
        seen = seen.iloc[seen.index[seen["action"] == 4].max():]
        book = seen[seen["action"] != 4].assign(size=lambda f: np.where(f["action"] == 3, 0.0, f["size"])).groupby(["side", "price"])["size"].last()
        book = book[book > 0]
        bids, asks = book.loc[1].sort_index(ascending=False).head(10).sum(), book.loc[2].sort_index().head(10).sum()
        assert touch["obi"] == pytest.approx((bids - asks) / (bids + asks), abs=1e-4)
    total = sum(sum(row.values()) for row in levels["by_obi"].values())
    assert total == sum(sum(row.values()) for row in levels["by_tier"].values()) == levels["touched"]


def test_cli_writes_tables_report_and_results(catalog: RaveCatalog, tmp_path: Path, result: dict) -> None:
    out = tmp_path / "out"
    args = ["orderflow", "-i", PERP, "--catalog", str(catalog.path), "--out", str(out), *(x for s in SETTINGS for x in ("--set", s))]
    done = CliRunner().invoke(analyze, args, catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert "Absorption tiers" in done.output and "Whale trades" in done.output and "CVD divergence BTCUSDT.BINANCE vs" in done.output
    saved = json.loads((out / "results.json").read_text())["analyses"]["orderflow"]
    assert saved["whales"]["count"] == result["analyses"]["orderflow"]["whales"]["count"]
    assert saved["absorption"]["tiers"] == result["analyses"]["orderflow"]["absorption"]["tiers"]
    assert "plotly" in (out / "report.html").read_text()


def test_divergence_is_skipped_with_a_line_when_only_one_market_is_stored(catalog: RaveCatalog, tmp_path: Path) -> None:
    done = CliRunner().invoke(analyze, ["orderflow", "-i", PERP, "--pair", "ETHUSDT.BINANCE", "--catalog", str(catalog.path), "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert "CVD divergence needs spot and perp trades: ETHUSDT.BINANCE has none in the catalog" in done.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["orderflow"], "error: analyze orderflow needs the instrument: -i INSTRUMENT"),
        (["orderflow", "-i", "ETHUSDT.BINANCE"], "error: no trades for ETHUSDT.BINANCE in the catalog; import it with `ravebear catalog import-orderflow FILE...`"),
        (["orderflow", "-i", PERP, "--start", "2030-01-01"], "error: no trades for BTCUSDT-PERP.BINANCE in the catalog in the chosen --start/--end range"),
        (["orderflow", "sessions", "-i", PERP], "error: `orderflow` runs alone"),
        (["orderflow", "-i", PERP, "--set", "whales.nope=1"], "error: --set whales.nope: unknown setting for analyze orderflow"),
        (["orderflow", "-i", PERP, "--set", "hold_minutes=x"], "error: --set hold_minutes=x: expected a whole number"),
        (["orderflow", "-i", PERP, "--set", "break_bps=-1"], "error: --set break_bps=-1: must be above 0"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(catalog: RaveCatalog, tmp_path: Path, args: list[str], message: str) -> None:
    done = CliRunner().invoke(analyze, [*args, "--catalog", str(catalog.path), "--out", str(tmp_path)])
    assert done.exit_code == 2, done.output
    assert done.output.strip().startswith(message) and len(done.output.strip().splitlines()) == 1, done.output


def test_level_events_carry_their_order_flow_context(catalog: RaveCatalog, result: dict, tmp_path: Path) -> None:
    """Every created/touched event of the level engine on the trades' 1-minute bars, with the delta the raw capture
    gives over the minute before it (pandas, receive time) and the table in the terminal."""
    from ravebear.research.orderflow.compute import minute_bars
    from ravebear.research.orderflow.load import load
    from ravebear.strategies.levels.replay import replay_levels

    events = result["analyses"]["orderflow"]["level_events"]
    config = orderflow.apply_overrides(orderflow.OrderflowAnalysisConfig(), SETTINGS)
    replayed = [e for _, e in replay_levels(minute_bars(load(catalog, PERP, None, None).trades), config.levels) if e.kind.value in ("created", "touched")]
    assert [(row["ts_ns"], row["event"], row["low"]) for row in events] == [(e.ts, e.kind.value, e.level.low) for e in replayed] and events
    trades = _trades(USDM)
    window = int(config.context.delta_window_s * 1e9)
    for row in events:
        inside = trades[(trades["ts"] > row["ts_ns"] - window) & (trades["ts"] < row["ts_ns"])]
        assert row["delta"] == pytest.approx(float((inside["size"] * inside["side"]).sum()), abs=1e-9)
        assert row["has_book"] and -1 <= row["obi"] <= 1
    out = tmp_path / "out"
    done = CliRunner().invoke(analyze, ["orderflow", "-i", PERP, "--catalog", str(catalog.path), "--out", str(out), *(x for s in SETTINGS for x in ("--set", s))])
    assert "Level events with their order-flow context" in done.output and f"{len(events)} created/touched events" in done.output
