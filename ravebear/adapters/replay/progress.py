"""How far a catalog replay got, kept in the node's cache (Redis with `node.redis`) so a killed replay resumes.

The replay stores a `ReplayProgress` under `PROGRESS_KEY` after each item the node has fully handled.
A restarted node with the same trader id finds it in Redis; when it belongs to the same replay (same
instruments, range and custom data: `fingerprint`) the replay continues after it instead of from the
start. An item is one bar, trade, quote, custom data point or one whole book update (the deltas up to `F_LAST`).
Items with equal times are told apart by their place among them (`at_ts`): the merge that
orders them is deterministic.
"""

from __future__ import annotations

import hashlib

import msgspec

PROGRESS_KEY = "ravebear.replay_progress"


class ReplayProgress(msgspec.Struct, frozen=True, kw_only=True):
    """The last item a replay fully handled: its time and how many items with that time were handled."""

    fingerprint: str  # which replay this is (`fingerprint`)
    ts: int  # ts_init of the last handled item, UNIX ns
    at_ts: int  # items handled with ts_init == ts (1 = the first of them)
    handed: int  # items handed in all (this run and the runs it resumed)
    finished: bool = False  # the replay reached its end


def fingerprint(
    instrument_ids: tuple[str, ...], start_ns: int | None, end_ns: int | None, custom_data: tuple[str, ...],
    order_flow: tuple[tuple[str, str, int | None, int | None], ...] = (),
) -> str:  # fmt: skip
    """A short id of what a replay replays; progress of another replay is not resumed. `order_flow`: the trades /
    book / quotes entries (kind, instrument id, start, end); none leaves a bars-only replay's id as it always was."""
    parts = [",".join(instrument_ids), str(start_ns), str(end_ns), ",".join(custom_data)]
    if order_flow:
        parts.append(",".join(":".join(map(str, entry)) for entry in order_flow))
    text = "|".join(parts)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode(progress: ReplayProgress) -> bytes:
    """The stored form (JSON)."""
    return msgspec.json.encode(progress)


def decode(raw: bytes | None) -> ReplayProgress | None:
    """The stored progress, or None when there is none or it cannot be read (an older or foreign value)."""
    if not raw:
        return None
    try:
        return msgspec.json.decode(raw, type=ReplayProgress)
    except msgspec.DecodeError:
        return None
