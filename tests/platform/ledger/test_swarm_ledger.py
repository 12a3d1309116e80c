"""A backtest with the SwarmActor and `ledger:` writes the SwarmSignals it published where enough bots agreed, and every
regime change, to the ledger (SQLite and a real PostgreSQL): row for row what the actor published."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import text

from ravebear.ledger.store import open_ledger
from tests.conftest import sample_catalog
from tests.platform.test_backtest import ravebear
from tests.strategies.swarm_runs import backtest, swarm_run_file

pytestmark = pytest.mark.timeout(900)
MIN_CONFLUENCE = 2


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    return sample_catalog(tmp_path_factory.mktemp("catalog")).path


def _frame(engine, table: str, order: str = "ts_event_ns, instrument_id") -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.read_sql(text(f"select * from {table} order by {order}"), connection)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_ledger_holds_the_swarm_signals_and_regime_changes_the_backtest_published(database, catalog, tmp_path, monkeypatch, request):
    ledger_url = f"sqlite:///{tmp_path / 'ledger.sqlite'}" if database == "sqlite" else request.getfixturevalue("postgres_server").create_database()
    monkeypatch.setenv("RAVEBEAR_LEDGER_URL", ledger_url)
    raw = swarm_run_file(catalog, ledger={"spill": str(tmp_path / "spill.jsonl"), "swarm_min_confluence": MIN_CONFLUENCE})
    run = backtest(raw, catalog)
    engine = open_ledger(ledger_url)

    agreed = sorted((s for s in run.signals if s.confluence >= MIN_CONFLUENCE), key=lambda s: (s.ts_event, s.instrument_id.value))
    assert 0 < len(agreed) < len(run.signals)  # the threshold keeps some candles, not all
    rows = _frame(engine, "swarm_signals")
    assert len(rows) == len(agreed) and rows["run_id"].nunique() == 1
    for row, signal in zip(rows.itertuples(), agreed, strict=True):
        assert (row.ts_event_ns, row.instrument_id, row.direction, row.confluence, row.long_votes, row.short_votes, row.regime, row.votes) == (
            signal.ts_event, signal.instrument_id.value, signal.direction, signal.confluence, signal.long_votes, signal.short_votes,
            signal.regime, signal.votes,
        )  # fmt: skip
        assert row.score == signal.score
        assert pd.Timestamp(row.event_time).value == signal.ts_event

    changes = []  # each instrument's regime changes, by hand from the published signals
    latest: dict[str, str] = {}
    for signal in run.signals:
        name = signal.instrument_id.value
        if signal.regime != latest.get(name, ""):
            changes.append((signal.ts_event, name, signal.regime, latest.get(name, "")))
            latest[name] = signal.regime
    regimes = _frame(engine, "regime_changes")
    assert sorted(changes) == list(zip(regimes["ts_event_ns"], regimes["instrument_id"], regimes["regime"], regimes["previous"], strict=True))
    assert len({c[2] for c in changes}) >= 3  # the regime moves between labels in these days
    assert set(regimes["run_id"]) == set(rows["run_id"]) == set(_frame(engine, "runs", "id")["id"])
    engine.dispose()
    for table, count in (("swarm", len(agreed)), ("regimes", len(changes))):  # and `ravebear ledger` reads them
        done = ravebear("ledger", "list", table, "--limit", "100000", env={"RAVEBEAR_LEDGER_URL": ledger_url})
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.splitlines()[0] == f"{table}: {count} rows"
