"""The ledger's settings as a node takes them, and the one call that opens the ledger and starts its writer.

A URL with a password is a secret: it comes only from the environment variable named by `url_env` (or `.env`),
never from a run file; `url` in config may name a SQLite file or a password-less server URL."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ravebear.ledger.outcomes import OutcomeSettings
from ravebear.ledger.store import DEFAULT_PATH, ENV_VAR, open_ledger, redact_url
from ravebear.ledger.writer import LedgerWriter, WriterSettings


@dataclass(frozen=True)
class LedgerConfig:
    """Where the ledger is and how it is written (`writer`) and scored (`outcomes`)."""

    enabled: bool = True
    url: str | None = None  # e.g. sqlite:///var/ledger.sqlite or postgresql+psycopg://ravebear@db/ravebear (no password)
    url_env: str = ENV_VAR  # the environment variable that may hold the URL (with its password); wins over `url`
    spill_path: str = "var/ledger-spill.jsonl"  # rows the database could not take, written on the next start
    writer: WriterSettings = field(default_factory=WriterSettings)
    outcomes: OutcomeSettings = field(default_factory=OutcomeSettings)

    def __post_init__(self) -> None:
        if self.url is None:
            return
        try:
            password = make_url(self.url).password
        except ArgumentError:
            raise ValueError(f"ledger.url: not a database URL: {redact_url(self.url)}") from None
        if password:
            raise ValueError(f"ledger.url holds a password ({redact_url(self.url)}): put the URL in ${self.url_env} (environment or .env), never in a run file")

    def resolved_url(self, environ: Mapping[str, str] = os.environ) -> str:
        """The URL to open: $url_env when set, else `url`, else sqlite:///var/ledger.sqlite."""
        return environ.get(self.url_env) or self.url or f"sqlite:///{DEFAULT_PATH}"


def start_ledger(config: LedgerConfig, warn: Callable[[str], None] | None = None) -> LedgerWriter:
    """Open the ledger (schema upgraded) and start its writer; raises store.LedgerError (one line, no password)."""
    engine = open_ledger(config.resolved_url())
    return LedgerWriter(engine, Path(config.spill_path), config.writer, warn)


def config_digest(text: str) -> str:
    """sha256 hex of a run file's text: the `runs.config_digest` column (same file, same digest)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
