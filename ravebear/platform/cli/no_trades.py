"""Why a run traded nothing, for the terminal summary: refused entry signals by reason (with an example of each
guard's refusal) and orders that nautilus's RiskEngine or the venue refused, from the run's guard events."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

_WHY = {
    "entry_filter": "the entry filter disagreed",
    "stop_too_wide": "the stop was wider than exits.max_stop_bps",
    "size": "the position size came to less than one lot",
}
_REFUSED_ORDERS = {"order_denied": "denied by nautilus's RiskEngine", "order_rejected": "rejected by the venue"}


def _guard_rows(run_dir: Path) -> list[dict[str, str]]:
    path = run_dir / "guard_events.csv"
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def no_trade_lines(summary: dict[str, Any], run_dir: Path) -> list[str]:
    """Lines saying why a run with no trades traded nothing; none when it traded."""
    if summary.get("trades"):
        return []
    signals = summary.get("entry_signals") or 0
    if not signals:
        return ["no trades: no entry signal fired in the data's range"]
    skipped: dict[str, int] = summary.get("skipped_entries") or {}
    rows = _guard_rows(run_dir)
    examples: dict[str, str] = {}
    for row in rows:
        if row.get("action") == "blocked":
            examples.setdefault(row.get("guard", ""), row.get("detail", ""))
    lines = [f"no trades: {signals:,} entry signals, {sum(skipped.values()):,} refused" + (":" if skipped else "")]
    for reason, count in sorted(skipped.items(), key=lambda item: -item[1]):
        why = _WHY.get(reason) or (f"guard {reason}" + (f", e.g. {examples[reason]}" if reason in examples else ""))
        lines.append(f"  {count:>8,}  {why}")
    refused = Counter(row.get("guard", "") for row in rows if row.get("guard") in _REFUSED_ORDERS)
    for guard, count in refused.items():
        example = next(row.get("detail", "") for row in rows if row.get("guard") == guard)
        lines.append(f"  {count:>8,}  orders {_REFUSED_ORDERS[guard]}, e.g. {example}")
    if not skipped and not refused:
        lines.append("  the entries went out but none filled and closed: see orders.csv")
    return lines
