"""Alembic environment of the ledger: runs on the engine `store.upgrade` hands over (no alembic.ini, no URL here)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import ravebear.ledger.models  # noqa: F401 - registers the tables on SQLModel.metadata

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    # render_as_batch: SQLite cannot ALTER most things; batch mode copies the table instead.
    context.configure(connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
