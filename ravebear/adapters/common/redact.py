"""Keep secrets out of logs: every message our clients log passes through a `Redactor`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import quote, quote_plus

MASK = "***"


class LogSink(Protocol):
    """What the clients log through: nautilus's `Logger` and loguru's `logger` both fit."""

    def info(self, message: str) -> Any: ...

    def warning(self, message: str) -> Any: ...

    def error(self, message: str) -> Any: ...


class Redactor:
    """Replace known secrets (and their URL-encoded forms) in text with `***`."""

    def __init__(self, *secrets: str | None) -> None:
        self._secrets: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Add a secret to hide; empty values and values shorter than 4 characters are ignored."""
        if not secret or len(secret) < 4:
            return
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            if form not in self._secrets:
                self._secrets.append(form)
        self._secrets.sort(key=len, reverse=True)

    def __call__(self, text: object) -> str:
        out = str(text)
        for secret in self._secrets:
            out = out.replace(secret, MASK)
        return out


class RedactingLog:
    """A log sink that redacts every message before passing it on."""

    def __init__(self, sink: LogSink, redactor: Redactor) -> None:
        self._sink = sink
        self.redact = redactor
        self.listeners: list[Callable[[str, str], None]] = []  # called with (level, redacted message)

    def _emit(self, level: str, message: str) -> None:
        text = self.redact(message)
        getattr(self._sink, level)(text)
        for listener in self.listeners:
            listener(level, text)

    def info(self, message: str) -> None:
        """Log at INFO."""
        self._emit("info", message)

    def warning(self, message: str) -> None:
        """Log at WARNING."""
        self._emit("warning", message)

    def error(self, message: str) -> None:
        """Log at ERROR."""
        self._emit("error", message)
