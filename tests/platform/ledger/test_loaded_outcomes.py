"""A backtest's ledger judges its touches from the bars the node loaded (`OutcomeTracker.on_bars` in runs) instead of
subscribing to them: every row it writes equals a streaming ledger's (a nautilus BacktestNode offers no loaded
bars), on the shipped file (its LevelActor also finding boxes) over real BTC minutes. A range touch's price is the close of the minute that touched it,
in both."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from ravebear.ledger.store import open_ledger
from ravebear.platform.nodes.backtest_node import RaveBacktestNode
from tests.strategies.shipped_runs import INSTRUMENT, btc_catalog, run_shipped

pytestmark = pytest.mark.timeout(900)
TABLES = ("level_touches", "signals", "orders", "fills", "alerts_sent")
NOT_COMPARED = {"id", "run_id", "started_at", "ended_at"}  # random ids, wall-clock times


def _ledger_run(catalog, folder: Path, node_factory=None) -> tuple[dict[str, pd.DataFrame], bool]:
    url = f"sqlite:///{folder / 'ledger.sqlite'}"

    def edit(raw: dict) -> None:
        raw["ledger"] = {"spill": str(folder / "spill.jsonl")}
        raw["actors"][0]["config"]["levels"]["detectors"] = ["wicks", "boxes"]  # boxes: range touches

    def read(engine) -> bool:
        ledger = next(actor for actor in engine.trader.actors() if type(actor).__name__ == "LedgerActor")
        return ledger.judges_at_end

    folder.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAVEBEAR_LEDGER_URL", url)  # the environment's URL wins over a run file's
        loaded = run_shipped(catalog, edit, read, node_factory=node_factory)
    engine = open_ledger(url)
    with engine.connect() as connection:
        tables = {name: pd.read_sql(text(f"select * from {name}"), connection) for name in (*TABLES, "runs")}
    engine.dispose()
    return tables, loaded


def _rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The table's rows without ids and wall-clock times, in one order (row order differs: outcomes come in runs)."""
    kept = frame.drop(columns=[c for c in frame.columns if c in NOT_COMPARED])
    return kept.sort_values(list(kept.columns)).reset_index(drop=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, okx_btc) -> tuple:
    folder = tmp_path_factory.mktemp("loaded")
    catalog = btc_catalog(folder, okx_btc, 12_000)
    streamed = _ledger_run(catalog, folder / "streamed")
    loaded = _ledger_run(catalog, folder / "loaded", node_factory=RaveBacktestNode)
    replayed = _ledger_run(catalog, folder / "replayed", node_factory=lambda configs: RaveBacktestNode(configs, level_replay_min_bars=1))
    return streamed, loaded, replayed


def test_every_ledger_row_from_loaded_bars_equals_the_streaming_ledgers(runs) -> None:
    (streamed, streamed_mode), (loaded, loaded_mode), (replayed, replayed_mode) = runs
    assert (streamed_mode, loaded_mode, replayed_mode) == (False, True, True)
    touches = streamed["level_touches"]
    assert len(touches) > 500 and touches["outcome"].notna().mean() > 0.95 and set(touches["outcome"].dropna()) == {"held", "broken"}
    assert len(streamed["orders"]) > 10 and len(streamed["fills"]) > 5 and len(streamed["alerts_sent"]) > 50
    for other in (loaded, replayed):
        for name in TABLES:
            pd.testing.assert_frame_equal(_rows(other[name]), _rows(streamed[name]), check_exact=True, obj=name)
        for column in ("data_start", "data_end"):
            assert other["runs"][column].tolist() == streamed["runs"][column].tolist()


def test_a_range_touch_is_priced_at_the_close_of_the_minute_that_touched_it(runs, okx_btc) -> None:
    closes = dict(zip((okx_btc["ts"] + 60_000) * 1_000_000, okx_btc["close"], strict=True))
    for tables, _ in runs:
        touches = tables["level_touches"]
        boxes = touches[touches["kind"] == "box"]
        assert len(boxes) > 100
        for touch in boxes.itertuples():  # nautilus's Price as a float may differ from the file's in the last bit
            assert touch.touch_price == pytest.approx(closes[touch.ts_event_ns], rel=1e-15)
        before = [closes.get(ts - 60_000_000_000) for ts in boxes["ts_event_ns"]]  # the minute before (what it read once)
        assert sum(close is not None and price != pytest.approx(close, rel=1e-15) for price, close in zip(boxes["touch_price"], before, strict=True)) > 0.8 * len(boxes)
        assert (touches["instrument_id"] == INSTRUMENT).all()
