"""Why a run traded nothing, for the terminal summary: refused entry signals by reason, with an example of each guard's."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

_WHY = {
    "entry_filter": "the entry filter disagreed",
    "stop_too_wide": "the stop was wider than exits.max_stop_bps",
    "size": "the position size came to less than one lot",
}


def _guard_examples(run_dir: Path) -> dict[str, str]:
    """The first `blocked` detail of each guard in the run's guard_events.csv."""
    path = run_dir / "guard_events.csv"
    examples: dict[str, str] = {}
    if not path.is_file():
        return examples
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("action") == "blocked":
                examples.setdefault(row.get("guard", ""), row.get("detail", ""))
    return examples


def no_trade_lines(summary: dict[str, Any], run_dir: Path) -> list[str]:
    """Lines saying why a run with no trades traded nothing; none when it traded."""
    if summary.get("trades"):
        return []
    signals = summary.get("entry_signals") or 0
    skipped: dict[str, int] = summary.get("skipped_entries") or {}
    if not signals:
        return ["no trades: no entry signal fired in the data's range"]
    if not skipped:
        return [f"no trades: {signals:,} entry signals, none refused by the guards; see orders.csv for what the venue did"]
    examples = _guard_examples(run_dir)
    lines = [f"no trades: {signals:,} entry signals, {sum(skipped.values()):,} refused:"]
    for reason, count in sorted(skipped.items(), key=lambda item: -item[1]):
        why = _WHY.get(reason) or (f"guard {reason}" + (f", e.g. {examples[reason]}" if reason in examples else ""))
        lines.append(f"  {count:>8,}  {why}")
    return lines
