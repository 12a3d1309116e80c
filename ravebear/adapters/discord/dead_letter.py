"""Alerts that could not be delivered, kept in a JSON-lines file and replayed on the next start.

Each line is one undelivered message: its channel, its alerts and the reason. A line is written with
flush + fsync, so a killed process loses no acknowledged line. Replay moves the file aside first
(`.replaying`); alerts that fail again are written to a fresh file, and the aside file is removed only
once every replayed alert is delivered or dead-lettered again.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ravebear.adapters.discord.alerts import Alert


class DeadLetters:
    """The dead-letter file of one dispatcher."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.aside = self.path.with_name(self.path.name + ".replaying")
        self.unreadable = self.path.with_name(self.path.name + ".unreadable")
        self.written = 0
        self.skipped = 0  # unreadable lines met by the last replay (moved to `.unreadable`)

    def check_writable(self) -> None:
        """Raise OSError with a clear message when the file's folder cannot be created or written."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8"):
                pass
        except OSError as exc:
            raise OSError(f"cannot write the alerts' dead-letter file {self.path}: {exc.strerror or exc}") from None

    def add(self, channel: str, alerts: list[Alert], reason: str) -> None:
        """Append one undelivered message."""
        line = json.dumps({"channel": channel, "reason": reason, "at": time.time(), "alerts": [a.to_json() for a in alerts]})
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.written += len(alerts)

    def take_for_replay(self) -> list[tuple[str, list[Alert]]]:
        """Move the file aside and return its (channel, alerts); unreadable lines go to `<file>.unreadable`."""
        if self.path.exists() and self.path.stat().st_size:
            with open(self.path, encoding="utf-8") as src, open(self.aside, "a", encoding="utf-8") as dst:
                dst.write(src.read())
                dst.flush()
                os.fsync(dst.fileno())
            self.path.unlink()
        if not self.aside.exists():
            return []
        out: list[tuple[str, list[Alert]]] = []
        unreadable: list[str] = []
        for line in self.aside.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                out.append((str(row["channel"]), [Alert.from_json(a) for a in row["alerts"]]))
            except (ValueError, KeyError, TypeError):
                unreadable.append(line)
        if unreadable:  # kept for a human, never dropped
            with open(self.unreadable, "a", encoding="utf-8") as handle:
                handle.write("\n".join(unreadable) + "\n")
        self.skipped = len(unreadable)
        return out

    def replay_done(self) -> None:
        """Every replayed alert is delivered or written again: drop the aside copy."""
        self.aside.unlink(missing_ok=True)
