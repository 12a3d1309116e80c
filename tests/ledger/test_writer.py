"""LedgerWriter on SQLite and PostgreSQL: rows from real candles round-trip, batches are whole (even when the process
is SIGKILLed mid-stream), the caller never waits, and a database that goes away loses nothing."""

from __future__ import annotations

import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlmodel import Session

from ravebear.ledger.models import (
    AlertSent,
    FillRecord,
    LevelTouch,
    OrderRecord,
    Run,
    Signal,
)
from ravebear.ledger.outcomes import OutcomeSettings, OutcomeTracker
from ravebear.ledger.store import open_ledger
from ravebear.ledger.writer import LedgerWriter, WriterSettings
from tests.ledger.rows import BTC, touches_from_candles
from tests.postgres_server import PASSWORD, PostgresServer

REPO = Path(__file__).resolve().parents[2]


def utc(value: datetime) -> datetime:
    """SQLite hands datetimes back naive (they were stored as UTC); PostgreSQL hands them back aware."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def count(engine, model) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(model)).scalar_one()


def test_rows_from_real_candles_round_trip_in_whole_batches_with_their_outcomes(ledger_url, okx_btc, tmp_path):
    engine = open_ledger(ledger_url)
    frame = okx_btc.head(3000)
    warnings: list[str] = []
    writer = LedgerWriter(engine, tmp_path / "spill.jsonl", WriterSettings(batch_rows=200, batch_s=60), warn=warnings.append)
    run_id = writer.add(Run, mode="backtest", run_file="config/backtest.yaml", config_digest="d" * 64, trader_id="BACKTESTER-001",
                        started_at=datetime(2026, 7, 27, tzinfo=UTC), data_start=datetime(2026, 7, 27, tzinfo=UTC))  # fmt: skip
    touches = touches_from_candles(frame, run_id, every=7)
    ids = [writer.add(LevelTouch, **row) for row in touches]
    writer.add(Signal, run_id=run_id, ts_event_ns=touches[0]["ts_event_ns"], strategy_id="UntouchedWick-001", instrument_id=BTC,
               side="BUY", accepted=False, refused_by="daily_loss", touch_id=ids[0])  # fmt: skip
    writer.add(AlertSent, run_id=run_id, ts_event_ns=touches[1]["ts_event_ns"], channel="btc_15m", kind="level_touched", symbol="BTC",
               title="BTC 15m wick touched", outcome="merged")  # fmt: skip
    writer.add(OrderRecord, run_id=run_id, ts_event_ns=touches[2]["ts_event_ns"], client_order_id="O-1", instrument_id=BTC, side="BUY",
               order_type="MARKET", status="FILLED", quantity=0.01)  # fmt: skip
    writer.add(FillRecord, run_id=run_id, ts_event_ns=touches[2]["ts_event_ns"], client_order_id="O-1", instrument_id=BTC, side="BUY",
               quantity=0.01, price=touches[2]["touch_price"], fee=0.33, fee_currency="USDT", realized_pnl=-1.5, pnl_currency="USDT", r_multiple=-0.5)  # fmt: skip
    tracker = OutcomeTracker(OutcomeSettings(break_bps=10, break_window_min=60, excursion_window_min=60))
    for touch_id, row in zip(ids, touches, strict=True):
        tracker.track(touch_id, BTC, row["ts_event_ns"], row["touch_price"], row["level_price"], row["direction"])
    updates = []
    for bar in frame.itertuples(index=False):
        updates += tracker.on_bar(BTC, (int(bar.ts) + 60_000) * 1_000_000, bar.high, bar.low, bar.close)
    updates += tracker.finish(int(frame["ts"].iloc[-1]) * 1_000_000)
    for update in updates:
        writer.update_outcome(update.touch_id, **update.values())
    stats = writer.close()

    total = 1 + len(touches) + 4 + len(updates)
    assert stats.written_rows == 1 + len(touches) + 4 and stats.outcome_updates == len(updates) == len(touches)
    assert stats.batches == math.ceil(total / 200)  # 200 rows a batch, the rest at close
    assert stats.spilled_rows == 0 and warnings == []
    with Session(engine) as session:
        stored = {t.id: t for t in session.exec(select(LevelTouch)).scalars()}
        assert len(stored) == len(touches)
        by_update = {u.touch_id: u for u in updates}
        for touch_id, row in zip(ids, touches, strict=True):
            got = stored[touch_id]
            assert (got.touch_price, got.level_price, got.direction, got.kind, got.obi) == (row["touch_price"], row["level_price"], row["direction"], row["kind"], row["obi"])
            assert utc(got.event_time) == datetime.fromtimestamp(row["ts_event_ns"] / 1e9, UTC)
            assert got.markout_5m_bps == by_update[touch_id].markouts_bps[5] and got.outcome == by_update[touch_id].outcome
        assert {t.outcome for t in stored.values()} >= {"held", "broken"}
        fill = session.exec(select(FillRecord)).scalars().one()
        assert (fill.realized_pnl, fill.r_multiple, fill.price) == (-1.5, -0.5, touches[2]["touch_price"])
        signal_row = session.exec(select(Signal)).scalars().one()
        assert (signal_row.accepted, signal_row.refused_by, signal_row.touch_id) == (False, "daily_loss", ids[0])
        assert session.exec(select(AlertSent)).scalars().one().outcome == "merged"
        assert utc(session.get(Run, run_id).started_at) == datetime(2026, 7, 27, tzinfo=UTC)


def test_a_row_is_written_after_batch_s_without_a_flush(ledger_url, tmp_path):
    engine = open_ledger(ledger_url)
    writer = LedgerWriter(engine, tmp_path / "spill.jsonl", WriterSettings(batch_rows=1000, batch_s=0.2))
    writer.add(Run, mode="paper")
    deadline = time.monotonic() + 10
    while count(engine, Run) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert count(engine, Run) == 1 and writer.stats.batches == 1
    writer.close()


def test_an_id_issued_before_its_row_is_added_is_kept_unique_and_sorts_in_the_order_issued(ledger_url, tmp_path):
    engine = open_ledger(ledger_url)
    writer = LedgerWriter(engine, tmp_path / "spill.jsonl")
    issued = writer.new_id()  # as the ledger actor does for a touch whose outcome it tracks before the row is added
    added = writer.add(Run, mode="paper")
    assert writer.add(Run, id=issued, mode="backtest") == issued
    writer.close()
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT id, mode FROM runs ORDER BY id")).all()
    assert [tuple(row) for row in stored] == [(issued, "backtest"), (added, "paper")] and issued != added


def test_a_wrong_column_is_refused_at_once_naming_it(tmp_path):
    writer = LedgerWriter(open_ledger(f"sqlite:///{tmp_path / 'l.sqlite'}"), tmp_path / "spill.jsonl")
    with pytest.raises(TypeError, match="^unknown columns for level_touches: price, scroe$"):
        writer.add(LevelTouch, run_id="r", ts_event_ns=1, instrument_id=BTC, touch_price=1.0, level_price=1.0, scroe=5, price=1)
    with pytest.raises(TypeError, match="^missing columns for level_touches: direction, level_price, touch_price$"):
        writer.add(LevelTouch, run_id="r", ts_event_ns=1, instrument_id=BTC)
    with pytest.raises(TypeError, match="^not outcome columns of level_touches: score$"):
        writer.update_outcome("x", score=3.0)
    writer.close()
    with pytest.raises(RuntimeError, match="closed"):
        writer.add(Run, mode="paper")


def test_the_caller_never_waits_while_sqlite_is_locked(tmp_path, okx_btc):
    path = tmp_path / "l.sqlite"
    engine = open_ledger(f"sqlite:///{path}")
    writer = LedgerWriter(engine, tmp_path / "spill.jsonl", WriterSettings(batch_rows=50, batch_s=0.05))
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holding the write lock: the writer's batch waits on it
    touches = touches_from_candles(okx_btc, "r", every=3, count=2000)
    started = time.perf_counter()
    for row in touches:
        writer.add(LevelTouch, **row)
    took = time.perf_counter() - started
    time.sleep(0.2)
    # every add() returned while the writer's first batch was stuck on the lock (busy_timeout 5 s): none waited on it
    assert took < 2.5 and writer.stats.batches == 0
    time.sleep(0.3)
    blocker.execute("ROLLBACK")
    blocker.close()
    assert writer.flush(timeout=60)
    assert count(engine, LevelTouch) == 2000
    writer.close()


def test_a_batch_the_database_refuses_keeps_its_good_groups_and_spills_the_rest(ledger_url, tmp_path):
    engine = open_ledger(ledger_url)
    spill = tmp_path / "spill.jsonl"
    warnings: list[str] = []
    writer = LedgerWriter(engine, spill, WriterSettings(batch_rows=10, batch_s=60), warn=warnings.append)
    writer.add(Run, id="same", mode="paper")
    writer.flush()
    writer.add_many(Run, [{"id": "same", "mode": "live"}, {"id": "other", "mode": "live"}])  # a duplicate key in a group
    writer.add(Run, id="next", mode="backtest")  # the same batch, a group of its own
    writer.flush()
    stats = writer.close()
    assert stats.spilled_rows == 2 and count(engine, Run) == 2  # "same" and "next": the refused group only is spilled
    assert len(warnings) == 1 and warnings[0].startswith("ledger: 2 rows refused by the database: ") and str(spill) in warnings[0]
    assert "IntegrityError" in warnings[0] or "UniqueViolation" in warnings[0]

    replay = LedgerWriter(engine, spill, warn=warnings.append)  # the next start: the duplicate is skipped, "other" lands
    replay.close()
    assert not spill.exists() and replay.stats.replayed_rows == 2
    with engine.connect() as connection:
        assert dict(connection.execute(text("SELECT id, mode FROM runs")).all()) == {"same": "paper", "other": "live", "next": "backtest"}


def test_spilled_rows_the_database_still_refuses_are_set_aside_not_replayed_forever(ledger_url, tmp_path):
    engine = open_ledger(ledger_url)
    spill = tmp_path / "spill.jsonl"
    spill.write_text(
        '{"insert": "runs", "rows": [{"id": "good", "mode": "live", "run_file": "", "config_digest": "", "trader_id": ""}]}\n'
        '{"insert": "runs", "rows": [{"id": "bad", "mode": null, "run_file": "", "config_digest": "", "trader_id": ""}]}\n'
        '{"insert": "runs", "rows": [{"id": "cut'  # a line cut short by a kill while spilling
    )
    warnings: list[str] = []
    LedgerWriter(engine, spill, warn=warnings.append).close()
    rejected = spill.with_suffix(".rejected.jsonl")
    assert not spill.exists() and '"id": "bad"' in rejected.read_text()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id FROM runs")).scalars().all() == ["good"]
    assert warnings[0].startswith("ledger: 1 rows of the spill file refused by the database (") and warnings[0].endswith(f"set aside in {spill.with_suffix('.rejected.jsonl')}, not replayed")
    assert warnings[1] == f"ledger: wrote 1 rows from the spill file {spill} and removed it"


@pytest.mark.parametrize("kill_after_rows", [900, 2400])
def test_a_writer_killed_mid_stream_leaves_only_whole_batches(ledger_url, tmp_path, kill_after_rows):
    engine = open_ledger(ledger_url)
    process = subprocess.Popen([sys.executable, "-m", "tests.ledger.kill_writer", ledger_url, str(tmp_path / "spill.jsonl")],
                               cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 60
    while count(engine, LevelTouch) < kill_after_rows and time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)  # mid-stream: most likely inside a transaction
    process.wait(10)
    engine.dispose()

    reopened = open_ledger(ledger_url)  # the database opens (SQLite rolls the cut transaction back)
    with reopened.connect() as connection:
        groups = dict(connection.execute(text("SELECT level_id, COUNT(*) FROM level_touches GROUP BY level_id")).all())
        if reopened.dialect.name == "sqlite":
            assert connection.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    stored = sum(groups.values())
    assert stored >= kill_after_rows and stored % 300 == 0  # whole batches of 300 rows, nothing half-written
    assert set(groups.values()) == {100}  # every group whole ...
    assert sorted(int(name[1:]) for name in groups) == list(range(len(groups)))  # ... and in order, none skipped


def test_a_postgres_that_goes_away_loses_nothing(tmp_path):
    server = PostgresServer()
    try:
        url = server.create_database("ledger")
        engine = open_ledger(url)
        spill = tmp_path / "spill.jsonl"
        warnings: list[str] = []
        settings = WriterSettings(batch_rows=100, batch_s=0.05, max_pending_rows=500, retry_s=0.2)
        writer = LedgerWriter(engine, spill, settings, warn=warnings.append)

        def runs(first: int, n: int) -> None:
            for i in range(first, first + n):
                writer.add(Run, id=f"r{i:04d}", mode="live")

        runs(0, 100)
        assert writer.flush()
        server.stop()
        runs(100, 300)
        time.sleep(0.5)  # the writer tries, fails, warns once, holds
        assert writer.flush() and spill.exists() is False
        down = [w for w in warnings if "cannot write" in w]
        assert len(down) == 1 and down[0].startswith(f"ledger: cannot write to postgresql+psycopg://postgres:***@127.0.0.1:{server.port}/ledger: ")
        assert "holding 300 rows in memory (up to 500, then spilled to" in down[0]
        runs(400, 400)  # 700 held: the oldest 200 go to the spill file
        assert writer.flush()
        assert writer.stats.spilled_rows == 200 and writer.stats.held_rows == 500
        assert sum(len(__import__("json").loads(line)["rows"]) for line in spill.read_text().splitlines()) == 200
        server.start()
        time.sleep(0.5)
        assert writer.flush()
        assert writer.stats.held_rows == 0 and count(engine, Run) == 600
        assert any(w.startswith("ledger: postgresql+psycopg://postgres:***@") and "reachable again" in w for w in warnings)
        server.stop()
        runs(800, 50)
        writer.close()  # still away at close: the 50 held rows are spilled too
        assert writer.stats.spilled_rows == 250
        assert not any(PASSWORD in w for w in warnings) and all("\n" not in w for w in warnings)

        server.start()
        LedgerWriter(open_ledger(url), spill, warn=warnings.append).close()  # the next start writes the spill file
        assert not spill.exists()
        fresh = create_engine(url)
        with fresh.connect() as connection:
            ids = connection.execute(text("SELECT id FROM runs ORDER BY id")).scalars().all()
        assert ids == [f"r{i:04d}" for i in range(850)]  # every row, once
        fresh.dispose()
        engine.dispose()
    finally:
        server.close()


def test_writer_settings_outside_their_range_are_one_line_errors_with_units():
    with pytest.raises(ValueError, match=r"^ledger.batch_s must be above 0 and at most 60 s, got 0$"):
        WriterSettings(batch_s=0)
    with pytest.raises(ValueError, match=r"^ledger.max_pending_rows must be between 1 and 100,000,000 rows, got 0$"):
        WriterSettings(max_pending_rows=0)


def test_a_runs_end_is_written_to_its_row_and_survives_the_spill_file(ledger_url, tmp_path):
    from datetime import UTC, datetime

    from sqlmodel import Session, select

    from ravebear.ledger import spill
    from ravebear.ledger.batches import Update

    engine = open_ledger(ledger_url)
    writer = LedgerWriter(engine, tmp_path / "spill.jsonl")
    run_id = writer.add(Run, mode="backtest", run_file="config/backtest.yaml", started_at=datetime(2026, 12, 5, 1, 0, tzinfo=UTC))
    end = datetime(2026, 12, 5, 1, 5, tzinfo=UTC)
    writer.update_run(run_id, ended_at=end, data_start=datetime(2026, 7, 27, tzinfo=UTC), data_end=datetime(2026, 8, 22, tzinfo=UTC))
    with pytest.raises(TypeError, match="^not end-of-run columns of runs: mode$"):
        writer.update_run(run_id, mode="live")
    writer.close()
    with Session(engine) as session:
        run = session.exec(select(Run)).one()
    assert (run.mode, run.run_file) == ("backtest", "config/backtest.yaml")
    assert run.ended_at.replace(tzinfo=UTC) == end and run.data_end.replace(tzinfo=UTC) == datetime(2026, 8, 22, tzinfo=UTC)
    path = tmp_path / "again.jsonl"
    spill.append(path, [Update(run_id, {"ended_at": end}, "runs")])
    (item,) = spill.read(path)
    assert (item.table_name, item.touch_id, item.values) == ("runs", run_id, {"ended_at": end})
def test_an_outcome_whose_touch_went_to_the_spill_file_follows_it_there(ledger_url, tmp_path, okx_btc):
    engine = open_ledger(ledger_url)
    spill_path = tmp_path / "spill.jsonl"
    warnings: list[str] = []
    first, second = touches_from_candles(okx_btc, "r", every=5, count=2)
    writer = LedgerWriter(engine, spill_path, WriterSettings(batch_rows=10, batch_s=60), warn=warnings.append)
    writer.add(LevelTouch, id="t0", **first)
    writer.flush()
    writer.add_many(LevelTouch, [{**second, "id": "t1"}, {**first, "id": "t0"}])  # refused (t0 twice): t1 is spilled with it
    writer.flush()
    tracker = OutcomeTracker(OutcomeSettings(break_window_min=5, excursion_window_min=5))
    tracker.track("t1", BTC, second["ts_event_ns"], second["touch_price"], second["level_price"], second["direction"])
    after = okx_btc[(okx_btc.ts + 60_000) * 1_000_000 > second["ts_event_ns"]].head(90)
    updates = [u for bar in after.itertuples(index=False) for u in tracker.on_bar(BTC, (int(bar.ts) + 60_000) * 1_000_000, bar.high, bar.low, bar.close)]
    (update,) = updates
    writer.update_outcome("t1", **update.values())  # t1 is not in the database: the update must not be lost
    writer.close()
    assert count(engine, LevelTouch) == 1 and writer.stats.outcome_updates == 0 and writer.stats.spilled_rows == 3

    LedgerWriter(engine, spill_path, warn=warnings.append).close()  # next start: t1, then its outcome
    with Session(engine) as session:
        stored = session.get(LevelTouch, "t1")
        assert stored.markout_5m_bps == pytest.approx(update.markouts_bps[5]) and stored.outcome == update.outcome
        assert stored.mfe_bps == pytest.approx(update.mfe_bps)
    assert not spill_path.exists()


def test_a_value_the_driver_cannot_take_is_spilled_and_the_writer_keeps_going(tmp_path):
    engine = open_ledger(f"sqlite:///{tmp_path / 'l.sqlite'}")
    warnings: list[str] = []
    writer = LedgerWriter(engine, tmp_path / "spill.jsonl", WriterSettings(batch_rows=10, batch_s=60), warn=warnings.append)
    writer.add(Run, id="text-time", mode="paper", started_at="2026-07-27")  # SQLite's DateTime takes datetime objects only
    writer.add(Run, id="fine", mode="paper")
    writer.flush()
    writer.add(Run, id="later", mode="live")
    stats = writer.close()
    assert (stats.written_rows, stats.spilled_rows) == (2, 1)
    assert warnings == [f"ledger: 1 rows refused by the database: TypeError: SQLite DateTime type only accepts Python datetime and date objects as input.: spilled to {tmp_path / 'spill.jsonl'}; they are written on the next start"]
    with engine.connect() as connection:
        assert sorted(connection.execute(text("SELECT id FROM runs")).scalars()) == ["fine", "later"]


def test_a_process_that_exits_without_close_still_writes_its_queue(ledger_url, tmp_path):
    script = (
        "import sys\n"
        "from ravebear.ledger.models import Run\nfrom ravebear.ledger.store import open_ledger\n"
        "from ravebear.ledger.writer import LedgerWriter, WriterSettings\n"
        "writer = LedgerWriter(open_ledger(sys.argv[1]), sys.argv[2], WriterSettings(batch_rows=1000, batch_s=60))\n"
        "for i in range(250):\n    writer.add(Run, id=f'r{i}', mode='paper')\n"
        "sys.exit(0)  # no close(), no flush\n"
    )  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script, ledger_url, str(tmp_path / "spill.jsonl")], cwd=REPO, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert count(open_ledger(ledger_url), Run) == 250


def test_a_postgres_stopped_in_the_middle_of_big_batches_still_ends_with_every_row_once(tmp_path, okx_btc):
    server = PostgresServer()
    try:
        url = server.create_database("ledger")
        engine = open_ledger(url)
        spill_path = tmp_path / "spill.jsonl"
        warnings: list[str] = []
        writer = LedgerWriter(engine, spill_path, WriterSettings(batch_rows=5000, batch_s=0.05, retry_s=0.2), warn=warnings.append)
        rows = touches_from_candles(okx_btc, "r", every=1, count=20_000)
        for i, row in enumerate(rows):
            writer.add(LevelTouch, id=f"t{i:05d}", **row)
            if i == 8_000:
                server.stop()  # wherever it lands: checkout, mid-COPY or commit
        time.sleep(0.5)
        server.start()
        writer.close()
        LedgerWriter(open_ledger(url), spill_path, warn=warnings.append).close()  # replays whatever was spilled
        with create_engine(url).connect() as connection:
            ids = connection.execute(text("SELECT id FROM level_touches ORDER BY id")).scalars().all()
        assert ids == [f"t{i:05d}" for i in range(20_000)]
        assert not any(PASSWORD in w for w in warnings)
        engine.dispose()
    finally:
        server.close()


def test_a_deferred_writer_writes_nothing_until_close_or_its_bound(ledger_url, okx_btc, tmp_path):
    """A backtest's writer (defer_rows) leaves the database alone during the run, then writes every row at close; past
    its bound it starts writing (memory stays bounded)."""
    engine = open_ledger(ledger_url)
    touches = touches_from_candles(okx_btc.head(3000), "run-deferred", every=7)
    writer = LedgerWriter(engine, tmp_path / "spill.jsonl", WriterSettings(batch_rows=100, batch_s=0.01, defer_rows=10_000))
    ids = [writer.add(LevelTouch, **row) for row in touches]
    writer.update_outcome(ids[0], outcome="held")
    time.sleep(0.3)  # a writing thread would have written by now (batch_s 0.01)
    assert count(engine, LevelTouch) == 0
    stats = writer.close()
    assert count(engine, LevelTouch) == len(touches) == stats.written_rows
    assert stats.outcome_updates == 1 and stats.batches >= len(touches) // 100

    bounded = LedgerWriter(engine, tmp_path / "spill2.jsonl", WriterSettings(batch_rows=50, batch_s=0.01, defer_rows=100))
    for row in touches_from_candles(okx_btc.head(3000), "run-bounded", every=7)[:150]:
        bounded.add(LevelTouch, **{**row, "id": None})
    deadline = time.monotonic() + 10
    while count(engine, LevelTouch) < len(touches) + 100 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert count(engine, LevelTouch) >= len(touches) + 100  # the bound reached: writing began before close
    bounded.close()
    assert count(engine, LevelTouch) == len(touches) + 150


def test_a_deferred_writer_left_to_atexit_still_writes_its_rows(tmp_path):
    """A backtest process that ends without close(): atexit closes the deferred writer, when no thread may start."""
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    script = (
        "from datetime import UTC, datetime\n"
        "from ravebear.ledger.models import Run\n"
        "from ravebear.ledger.store import open_ledger\n"
        "from ravebear.ledger.writer import LedgerWriter, WriterSettings\n"
        f"writer = LedgerWriter(open_ledger({url!r}), {str(tmp_path / 'spill.jsonl')!r}, WriterSettings(defer_rows=1000))\n"
        "for n in range(25):\n"
        "    writer.add(Run, mode='backtest', run_file=f'r{n}', config_digest='d' * 64, trader_id='T-001', started_at=datetime.now(UTC))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert count(create_engine(url), Run) == 25


def _stream_touches_and_outcomes(writer: LedgerWriter, frame) -> tuple[list[str], int]:
    """Touches and their outcomes queued as a node queues them: each touch when its bar comes, each outcome when a
    later bar completes it, the open ones at the end. Returns the touch ids and the number of updates."""
    run_id = "R" * 32
    touches = {row["ts_event_ns"]: row for row in touches_from_candles(frame, run_id, every=9)}
    tracker = OutcomeTracker(OutcomeSettings(break_bps=10, break_window_min=90, excursion_window_min=30))  # a watch phase too
    ids, updates = [], 0
    for bar in frame.itertuples(index=False):
        ts = (int(bar.ts) + 60_000) * 1_000_000
        for update in tracker.on_bar(BTC, ts, bar.high, bar.low, bar.close):
            writer.update_outcome(update.touch_id, **update.values())
            updates += 1
        row = touches.get(ts)
        if row is not None:
            ids.append(writer.add(LevelTouch, **row))
            tracker.track(ids[-1], BTC, ts, row["touch_price"], row["level_price"], row["direction"])
    for update in tracker.finish(ts):
        writer.update_outcome(update.touch_id, **update.values())
        updates += 1
    return ids, updates


def _touch_table(engine) -> list[tuple]:
    """Every column but the id (each writer has its own random prefix), in the order the rows were issued."""
    with engine.connect() as connection:
        return [tuple(row)[1:] for row in connection.execute(select(LevelTouch.__table__).order_by(LevelTouch.__table__.c.id))]


def test_outcomes_of_touches_in_the_same_batch_are_folded_into_their_rows_with_the_same_result(ledger_url, okx_btc, tmp_path):
    from sqlalchemy import event

    frame = okx_btc.head(2500)
    tables, statements = [], []
    for batch_rows in (1, 100_000):  # one item a transaction (every outcome an UPDATE) / everything in one batch
        engine = open_ledger(ledger_url if batch_rows == 1 else _second_database(ledger_url, tmp_path))
        seen: list[str] = []
        event.listen(engine, "before_cursor_execute", lambda conn, cursor, sql, *rest, seen=seen: seen.append(sql.split()[0].upper()))
        writer = LedgerWriter(engine, tmp_path / f"spill-{batch_rows}.jsonl", WriterSettings(batch_rows=batch_rows, batch_s=60, defer_rows=10**7))
        ids, updates = _stream_touches_and_outcomes(writer, frame)
        stats = writer.close()
        assert stats.outcome_updates == updates == len(ids) and stats.written_rows == len(ids) and stats.spilled_rows == 0
        tables.append(_touch_table(engine))
        statements.append(seen)
    by_row, folded = tables
    assert len(by_row) == len(ids) > 250
    assert folded == by_row  # every column of every row, outcome_filled_at included
    assert {row[LevelTouch.__table__.columns.keys().index("outcome") - 1] for row in folded} == {"held", "broken", None}
    assert statements[0].count("UPDATE") == len(ids)
    assert "UPDATE" not in statements[1]  # all folded: each touch written once, with its outcome


def _second_database(url: str, tmp_path: Path) -> str:
    """Another empty database on the same server (or another SQLite file)."""
    if url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'ledger-folded.sqlite'}"
    base, _, name = url.rpartition("/")
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}_folded"'))
    admin.dispose()
    return f"{base}/{name}_folded"


def test_datetimes_are_stored_as_sqlalchemys_sqlite_processor_would_store_them(okx_btc):
    from datetime import timedelta, timezone

    from sqlalchemy.dialects import sqlite

    from ravebear.ledger.batches import sqlite_datetime_text

    sqlalchemys = sqlite.DATETIME().bind_processor(sqlite.dialect())
    ours = sqlite_datetime_text(sqlalchemys)
    closes = [datetime.fromtimestamp((int(ts) + 60_000) / 1000, UTC) for ts in okx_btc["ts"].head(2000)]
    odd = [datetime(999, 1, 2, 3, 4, 5, 6), datetime(9999, 12, 31, 23, 59, 59, 999999), datetime(2026, 7, 27, 11, 20, 0, 1, tzinfo=timezone(timedelta(hours=-5)))]
    for value in [*closes, *[c.replace(tzinfo=None, microsecond=i) for i, c in enumerate(closes[:50])], *odd, None]:
        assert ours(value) == sqlalchemys(value), value
    with pytest.raises(TypeError, match="SQLite DateTime type only accepts"):
        ours("2026-07-27")
