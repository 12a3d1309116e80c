"""The ledger's node settings: the URL from the named variable first, a password never accepted from a run file."""

from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import text

from ravebear.ledger.config import LedgerConfig, config_digest, start_ledger
from ravebear.ledger.models import Run
from tests.postgres_server import PASSWORD


def test_a_password_in_the_run_file_url_is_refused_without_showing_it():
    with pytest.raises(ValueError) as error:
        LedgerConfig(url=f"postgresql+psycopg://ravebear:{PASSWORD}@db/ravebear")
    assert str(error.value) == ("ledger.url holds a password (postgresql+psycopg://ravebear:***@db/ravebear): "
                                "put the URL in $RAVEBEAR_LEDGER_URL (environment or .env), never in a run file")  # fmt: skip
    with pytest.raises(ValueError, match="^ledger.url: not a database URL: nonsense$"):
        LedgerConfig(url="nonsense")


def test_the_named_variable_wins_over_the_config_url_which_wins_over_the_default():
    config = LedgerConfig(url="sqlite:///var/other.sqlite", url_env="MY_LEDGER")
    assert config.resolved_url({"MY_LEDGER": "postgresql+psycopg://u:p@h/d"}) == "postgresql+psycopg://u:p@h/d"
    assert config.resolved_url({}) == "sqlite:///var/other.sqlite"
    assert LedgerConfig().resolved_url({}) == "sqlite:///var/ledger.sqlite"


def test_start_ledger_opens_the_database_from_the_variable_and_writes(ledger_url, tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_LEDGER_URL", ledger_url)
    run_file = (tmp_path / "run.yaml")
    run_file.write_text("strategies: []\n")
    writer = start_ledger(LedgerConfig(url_env="TEST_LEDGER_URL", spill_path=str(tmp_path / "spill.jsonl")))
    writer.add(Run, id="r1", mode="paper", run_file=run_file.name, config_digest=config_digest(run_file.read_text()))
    writer.close()
    with writer.engine.connect() as connection:
        digest = connection.execute(text("SELECT config_digest FROM runs WHERE id = 'r1'")).scalar_one()
    assert digest == subprocess.run(["sha256sum", str(run_file)], capture_output=True, text=True, check=True).stdout.split()[0]
