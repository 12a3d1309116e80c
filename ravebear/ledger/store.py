"""Where the ledger lives: an engine from a SQLAlchemy URL (a SQLite file by default, PostgreSQL or any other by
config or $RAVEBEAR_LEDGER_URL), its schema brought to the newest Alembic revision on open, and a URL shown only
with its password hidden."""

from __future__ import annotations

import os
import re
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

ENV_VAR = "RAVEBEAR_LEDGER_URL"
DEFAULT_PATH = Path("var") / "ledger.sqlite"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class LedgerError(Exception):
    """A ledger that cannot be opened, said in one line (the URL in it has its password hidden).

    `exit_code`: 2 for bad input (a URL, a driver, a missing file), 1 for a database that failed (unreachable)."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def redact_url(url: str | URL) -> str:
    """The URL with its password replaced by ***; text that is not a URL has any `user:secret@` part hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError, TypeError):
        return re.sub(r"(://[^:/@\s]*):[^@\s]*@", r"\1:***@", str(url))


def hide_secret(text: str, url: str | URL) -> str:
    """`text` (e.g. a driver's error message) with the URL's password, if any, replaced by ***."""
    try:
        password = make_url(url).password
    except (ArgumentError, ValueError, TypeError):
        return redact_url(text)
    return text.replace(str(password), "***") if password else text


def ledger_url(configured: str | None = None) -> str:
    """The URL to use: `configured` (config or --url), else $RAVEBEAR_LEDGER_URL, else sqlite:///var/ledger.sqlite."""
    return configured or os.environ.get(ENV_VAR) or f"sqlite:///{DEFAULT_PATH}"


def sqlite_path(url: str | URL) -> Path | None:
    """The file of a SQLite URL (None for other databases and for an in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers (the CLI) never block the writer; a killed writer's open transaction is discarded on next open.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable across a killed process (not a power cut), much faster
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_ledger_engine(url: str | URL, must_exist: bool = False) -> Engine:
    """An engine for `url`; LedgerError (one line, password hidden) for a bad URL, a missing driver, or, with
    `must_exist`, a SQLite file that is not there. The folder of a new SQLite file is created."""
    shown = redact_url(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise LedgerError(f"not a database URL: {shown} (e.g. sqlite:///var/ledger.sqlite or postgresql+psycopg://user@host/db)") from exc
    path = sqlite_path(parsed)
    if path is not None:
        if must_exist and not path.is_file():
            raise LedgerError(f"no ledger database at {path} (point --url or ${ENV_VAR} at one)")
        if not must_exist:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LedgerError(f"cannot create the ledger folder {path.parent}: {exc.strerror}") from exc
    try:
        engine = create_engine(parsed, pool_pre_ping=True)
    except (NoSuchModuleError, ImportError) as exc:
        raise LedgerError(f"no database driver for {shown}: {exc}") from exc
    except (ArgumentError, SQLAlchemyError, ValueError) as exc:
        raise LedgerError(f"cannot use {shown}: {hide_secret(str(exc), url)}") from exc
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def alembic_config(engine: Engine):
    """The Alembic config of the ledger's migrations, bound to `engine` (no alembic.ini: the package carries them)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (head: the newest), keeping every row; each step runs in a transaction."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The schema's Alembic revision (None: an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def newest_revision() -> str:
    """The newest migration's revision, from the file names (`NNNN_what.py` holds revision "NNNN"; a test checks it)."""
    return max(path.name[:4] for path in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def _at_head(engine: Engine) -> bool:
    """Whether the schema is already at the newest revision: one query, without loading Alembic (~0.2 s a process)."""
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").fetchall()
    except SQLAlchemyError:  # no table yet, or the database is away: Alembic's upgrade says which
        return False
    return rows == [(newest_revision(),)]


def _head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def open_ledger(url: str | None = None, must_exist: bool = False) -> Engine:
    """The ledger at `url` (default: ledger_url()), its schema upgraded to the newest revision.

    Raises LedgerError, one line with the password hidden, when it cannot be reached or upgraded."""
    url = ledger_url(url)
    engine = create_ledger_engine(url, must_exist=must_exist)
    if _at_head(engine):
        return engine
    from alembic.util import CommandError

    try:
        upgrade(engine)
    except CommandError as exc:  # a revision this code does not know: the ledger was written by a newer RaveBear
        engine.dispose()
        known = _head_revision()
        raise LedgerError(f"the ledger at {redact_url(url)} has a schema newer than this RaveBear knows ({exc}; newest here: {known}): "
                          "upgrade RaveBear or point --url elsewhere") from exc  # fmt: skip
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = hide_secret(str(getattr(exc, "orig", None) or exc).strip().splitlines()[0], url)
        raise LedgerError(f"cannot open the ledger at {redact_url(url)}: {reason}", exit_code=1) from exc
    return engine
