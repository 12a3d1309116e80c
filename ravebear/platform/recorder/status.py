"""The recorder's status line (pure): per series items/s and last item age, batches written, gaps."""

from __future__ import annotations

import time

from ravebear.platform.recorder.actor import RecorderState
from ravebear.platform.recorder.writer import WriterStats


def _age(last_wall: float, now: float) -> str:
    return "-" if not last_wall else f"{now - last_wall:.1f}s"


def status_line(state: RecorderState, writer: WriterStats, now: float | None = None) -> str:
    """`rec 0:01:23 | BTC-USDT-SWAP.OKX trades 12/s (0.2s) book 250/s (0.0s) | ... | batches 12 (queued 0) | gaps 1`."""
    now = time.monotonic() if now is None else now
    elapsed = int(now - state.started)
    parts = [f"rec {elapsed // 3600}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d}"]
    by_instrument: dict[str, list[str]] = {}
    for series in state.series.values():
        by_instrument.setdefault(series.instrument_id, []).append(f"{series.kind} {series.rate:,.0f}/s ({_age(series.last_wall, now)})")
    parts += [f"{instrument} {' '.join(items)}" for instrument, items in by_instrument.items()]
    parts.append(f"batches {writer.batches:,} (queued {writer.queued})")
    parts.append(f"gaps {len(state.gaps)}")
    return " | ".join(parts)
