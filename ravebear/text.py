"""Words for the terminal: a count with its noun in the right number (no imports: every layer may use it)."""

from __future__ import annotations


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`1 gap`, `2 gaps`, `1,024 candles missing`: the count with thousands separators and the noun in the right number.

    `many` is the plural when it is not the noun plus "s" (`plural(n, "candle missing", "candles missing")`).
    """
    return f"{count:,} {noun if count == 1 else many or noun + 's'}"
