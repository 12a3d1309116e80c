"""What every adapter's parser returns: the records it could use, and one message per record it skipped."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class RecordError(ValueError):
    """One record that cannot be used; the message names the field."""


@dataclass
class ParseResult:
    """Records parsed from one response or message, and one error per skipped record."""

    records: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
