"""Small result tables shown both in the terminal (plain text) and in the HTML report."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any


def pct(value: float | None, digits: int = 1) -> str:
    """Format a share in [0, 1] as a percentage ("n/a" for None)."""
    return "n/a" if value is None else f"{100.0 * value:.{digits}f}%"


def num(value: float | None, digits: int = 1) -> str:
    """Format a number with thousands separators ("n/a" for None)."""
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


@dataclass
class Table:
    """A titled table of already formatted cells; numeric-looking cells are right-aligned."""

    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""

    def text(self) -> str:
        """Render as aligned plain text."""
        cells = [[str(c) for c in self.columns], *[[str(c) for c in row] for row in self.rows]]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.columns))]
        numeric = [all(_numeric(row[i]) for row in cells[1:]) and len(cells) > 1 for i in range(len(self.columns))]

        def line(row: list[str]) -> str:
            parts = [cell.rjust(w) if right else cell.ljust(w) for cell, w, right in zip(row, widths, numeric, strict=True)]
            return "  ".join(parts).rstrip()

        out = [self.title, line(cells[0]), "  ".join("-" * w for w in widths)]
        out += [line(row) for row in cells[1:]]
        if self.note:
            out.append(self.note)
        return "\n".join(out)

    def html(self) -> str:
        """Render as an HTML table."""
        numeric = [all(_numeric(str(row[i])) for row in self.rows) and bool(self.rows) for i in range(len(self.columns))]
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f'<td class="{"n" if right else ""}">{html.escape(str(c))}</td>' for c, right in zip(row, numeric, strict=True)) + "</tr>"
            for row in self.rows
        )
        note = f'<p class="note">{html.escape(self.note)}</p>' if self.note else ""
        return f'<div class="table"><h4>{html.escape(self.title)}</h4><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}</div>'


def _numeric(cell: str) -> bool:
    stripped = cell.replace(",", "").replace("%", "").replace("+", "").replace("-", "").replace(".", "").strip().removesuffix("x")
    return stripped.isdigit() or cell in ("n/a", "")
