"""Opening a ledger: schema at the newest Alembic revision (equal to the models), an old revision upgraded with its
rows kept, and one-line errors that never show a password."""

from __future__ import annotations

import pandas as pd
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from ravebear.ledger.store import (
    LedgerError,
    create_ledger_engine,
    current_revision,
    hide_secret,
    ledger_url,
    newest_revision,
    open_ledger,
    redact_url,
    upgrade,
)  # fmt: skip
from tests.postgres_server import PASSWORD


def test_a_new_ledger_is_at_the_newest_revision_and_matches_the_models(ledger_url):
    engine = open_ledger(ledger_url)
    assert current_revision(engine) == "0004"
    assert {"runs", "level_touches", "signals", "alerts_sent", "orders", "fills", "swarm_signals", "regime_changes"} <= set(inspect(engine).get_table_names())
    with engine.connect() as connection:  # the migrations build exactly what the models declare
        assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("level_touches")}
    assert indexes == {"ix_level_touches_run_time": ["run_id", "ts_event_ns"], "ix_level_touches_instrument": ["instrument_id"]}
    assert current_revision(open_ledger(ledger_url)) == "0004"  # opening again is a no-op


def test_the_newest_revision_read_from_the_file_names_is_alembics_head():
    from alembic.script import ScriptDirectory

    from ravebear.ledger.store import MIGRATIONS

    assert newest_revision() == ScriptDirectory(str(MIGRATIONS)).get_current_head() == "0004"


def test_opening_a_ledger_already_at_the_newest_revision_does_not_load_alembic(ledger_url):
    import subprocess
    import sys

    open_ledger(ledger_url).dispose()
    code = ("import sys; from ravebear.ledger.store import open_ledger, current_revision; e = open_ledger(sys.argv[1]); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))")  # fmt: skip
    shown = subprocess.run([sys.executable, "-c", code, ledger_url], capture_output=True, text=True, check=True).stdout.strip()
    assert shown == "[]"


def test_an_old_revision_is_upgraded_with_its_rows_kept(ledger_url, okx_btc):
    engine = create_ledger_engine(ledger_url)
    upgrade(engine, "0001")  # the schema before order-flow context existed
    bar = okx_btc.iloc[100]
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO runs (id, mode, run_file, config_digest, trader_id) VALUES ('r1', 'paper', 'p.yaml', 'abc', 'T-1')"))
        connection.execute(
            text("INSERT INTO level_touches (id, run_id, ts_event_ns, event_time, instrument_id, level_id, kind, timeframe, touch_price, "
                 "level_price, side, direction) VALUES ('t1', 'r1', :ns, :at, 'BTC-USDT-SWAP.OKX', 'L1', 'wick', '15m', :close, :low, 'support', 1)"),
            {"ns": int(bar.ts) * 1_000_000, "at": pd.Timestamp(int(bar.ts), unit="ms").strftime("%Y-%m-%d %H:%M:%S.%f"),
             "close": float(bar.close), "low": float(bar.low)},
        )  # fmt: skip
    assert "obi" not in {c["name"] for c in inspect(engine).get_columns("level_touches")}
    engine.dispose()

    upgraded = open_ledger(ledger_url)
    assert current_revision(upgraded) == "0004"
    with upgraded.connect() as connection:
        row = connection.execute(text("SELECT id, touch_price, level_price, obi, whale_tag FROM level_touches")).one()
        run = connection.execute(text("SELECT mode, run_file, trader_id FROM runs")).one()
    assert tuple(row) == ("t1", float(bar.close), float(bar.low), None, None)
    assert tuple(run) == ("paper", "p.yaml", "T-1")


def test_urls_are_shown_without_their_password(monkeypatch):
    monkeypatch.delenv("RAVEBEAR_LEDGER_URL", raising=False)  # the test session sets one (tests/conftest.py)
    url = f"postgresql+psycopg://ravebear:{PASSWORD}@db.example:5432/ledger"
    assert redact_url(url) == "postgresql+psycopg://ravebear:***@db.example:5432/ledger"
    assert redact_url(f"not a url://u:{PASSWORD}@h") == "not a url://u:***@h"
    assert hide_secret(f"failed for ravebear:{PASSWORD}", url) == "failed for ravebear:***"
    assert ledger_url(None).endswith("var/ledger.sqlite")


def test_the_url_comes_from_the_environment_when_not_configured(monkeypatch, tmp_path):
    monkeypatch.setenv("RAVEBEAR_LEDGER_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    assert ledger_url(None) == f"sqlite:///{tmp_path / 'env.sqlite'}"
    assert ledger_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"


def test_bad_urls_and_missing_files_are_one_line_errors(tmp_path):
    with pytest.raises(LedgerError, match=r"^not a database URL: nonsense \(e\.g\. sqlite:///"):
        create_ledger_engine("nonsense")
    with pytest.raises(LedgerError, match=r"^no ledger database at .*missing\.sqlite \(point --url or \$RAVEBEAR_LEDGER_URL at one\)$"):
        open_ledger(f"sqlite:///{tmp_path / 'missing.sqlite'}", must_exist=True)
    with pytest.raises(LedgerError, match="no database driver for nosuchdb://"):
        create_ledger_engine("nosuchdb://h/x")


def test_an_unreachable_postgres_is_one_line_without_the_password(postgres_server):
    url = postgres_server.url("postgres").replace(f":{postgres_server.port}/", ":1/")  # nothing listens on port 1
    with pytest.raises(LedgerError) as error:
        open_ledger(url)
    message = str(error.value)
    assert message.startswith("cannot open the ledger at postgresql+psycopg://postgres:***@127.0.0.1:1/postgres: ")
    assert PASSWORD not in message and "\n" not in message
    wrong = postgres_server.url("postgres").replace(PASSWORD, "wrong-" + PASSWORD)
    with pytest.raises(LedgerError, match="password authentication failed") as error:
        open_ledger(wrong)
    assert PASSWORD not in str(error.value)


def test_a_ledger_from_a_newer_ravebear_is_one_line_and_left_untouched(ledger_url):
    engine = open_ledger(ledger_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0009'"))
    engine.dispose()
    with pytest.raises(LedgerError) as error:
        open_ledger(ledger_url)
    assert str(error.value).endswith("has a schema newer than this RaveBear knows (Can't locate revision identified by '0009'; newest here: 0004): "
                                     "upgrade RaveBear or point --url elsewhere")  # fmt: skip
    assert error.value.exit_code == 2
    assert current_revision(create_ledger_engine(ledger_url)) == "0009"


def test_a_file_that_is_not_a_database_is_one_line(tmp_path):
    (tmp_path / "notes.sqlite").write_text("not a database\n")
    with pytest.raises(LedgerError, match=r"^cannot open the ledger at sqlite:///.*notes\.sqlite: file is not a database$"):
        open_ledger(f"sqlite:///{tmp_path / 'notes.sqlite'}", must_exist=True)
