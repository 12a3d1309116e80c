"""Every ledger test that takes `ledger_url` runs on a SQLite file and on a real PostgreSQL server (one per xdist
worker, a fresh database per test; the server fixture is in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request, tmp_path) -> str:
    """An empty ledger database: a SQLite file in tmp_path, or a fresh database on the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    return request.getfixturevalue("postgres_server").create_database()
