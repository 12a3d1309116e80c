"""OKX v5 public WebSocket messages (`trades`, `books`, `bbo-tbt`) recorded to a file, as nautilus order-flow data.

A file holds one message, a JSON list of messages, or one message per line (JSON lines), each as
OKX pushes it: `{"arg": {"channel", "instId"}, ["action": "snapshot"|"update",] "data": [...]}`.
Positions in reports are message numbers (1-based). OKX messages carry only the exchange time
(`ts`, ms), so `ts_event` = `ts_init` = that time.

- trades: `tradeId, px, sz, side` (side = the taker's: buy -> aggressor BUYER) -> TradeTick.
- bbo-tbt: the best level of `bids` / `asks` -> QuoteTick.
- books (and books-l2-tbt, books50-l2-tbt): a `snapshot` is CLEAR + one ADD per level; an `update`
  must carry `prevSeqId` equal to the previous message's `seqId` (OKX's sequence rule), levels are
  `[px, sz, _, orders]` with `sz` the new absolute size ("0" removes the level) -> OrderBookDelta.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ravebear.catalog.orderflow.book_sync import ADD, ASK, BID, CLEAR, BookActions, CrossWatch, LevelBook
from ravebear.catalog.orderflow.binance import OrderflowFormatError
from ravebear.catalog.orderflow.deltas import to_deltas
from ravebear.catalog.orderflow.validation import OrderflowReport, RowRejection, SequenceGap

if TYPE_CHECKING:
    from nautilus_trader.model.instruments import Instrument

TRADES, QUOTES, BOOKS = "trades", "bbo-tbt", "books"
BOOK_CHANNELS = ("books", "books-l2-tbt", "books50-l2-tbt")
Item = tuple[int, str | None, dict]  # (message number, action, one entry of `data`)


def read_messages(path: str | Path) -> list[dict]:
    """The WebSocket messages in a file (one, a list, or JSON lines); OrderflowFormatError names the file and line."""
    path = Path(path)
    if not path.exists():
        raise OrderflowFormatError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise OrderflowFormatError(f"{path}: not a text file; expected OKX WebSocket messages as JSON") from None
    try:
        payload = json.loads(text)
        messages = payload if isinstance(payload, list) else [payload]
    except json.JSONDecodeError:
        messages = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                messages.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise OrderflowFormatError(f"{path}: line {number} is not JSON ({exc.msg})") from None
    if not all(isinstance(m, dict) and isinstance(m.get("arg"), dict) and isinstance(m.get("data"), list) for m in messages):
        raise OrderflowFormatError(f"{path}: not OKX WebSocket messages (each needs 'arg' with channel and instId, and a 'data' list)")
    return messages


def split_series(messages: list[dict], source: str) -> dict[tuple[str, str], list[Item]]:
    """Group data entries by (trades | bbo-tbt | books, instId), in message order; other channels are refused."""
    series: dict[tuple[str, str], list[Item]] = defaultdict(list)
    for number, message in enumerate(messages, 1):
        channel, inst_id = message["arg"].get("channel"), message["arg"].get("instId")
        kind = BOOKS if channel in BOOK_CHANNELS else channel
        if kind not in (TRADES, QUOTES, BOOKS):
            raise OrderflowFormatError(f"{source}: message {number} is on channel {channel!r}; only trades, bbo-tbt and books are imported")
        for entry in message["data"]:
            series[(kind, entry.get("instId") or inst_id)].append((number, message.get("action"), entry))
    return dict(series)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _ts_ns(entry: dict) -> int:
    """OKX `ts` (ms, a string) in ns; 0 when missing (integer arithmetic: a float loses the last digits)."""
    try:
        return int(entry.get("ts")) * 1_000_000
    except (TypeError, ValueError):
        return 0


def trade_ticks(items: list[Item], instrument: Instrument) -> tuple[list, OrderflowReport]:
    """TradeTicks; a trade with a non-positive or missing price or size, or an unknown side, is rejected."""
    from nautilus_trader.model.data import TradeTick

    report = OrderflowReport(total=len(items))
    keep: list[tuple[float, float, int, str, int]] = []
    for number, _, entry in items:
        px, sz, side = _number(entry.get("px")), _number(entry.get("sz")), entry.get("side")
        reasons = [f"non-positive or missing {name}" for name, value in (("px", px), ("sz", sz)) if not value > 0]
        if px > 0 and abs(px - round(px, instrument.price_precision)) > 10.0 ** -(instrument.price_precision + 4):
            reasons.append(f"px has more decimals than the instrument's {instrument.price_precision}")
        if sz > 0 and round(sz, instrument.size_precision) == 0:
            reasons.append(f"sz rounds to 0 at the instrument's {instrument.size_precision} decimals")
        if side not in ("buy", "sell"):
            reasons.append(f"side {side!r} is neither buy nor sell")
        if reasons:
            report.rejections.append(RowRejection(number, _ts_ns(entry), "; ".join(reasons)))
            continue
        keep.append((px, sz, 1 if side == "buy" else 2, str(entry.get("tradeId")), _ts_ns(entry)))
    report.valid = len(keep)
    if not keep:
        return [], report
    px, sz, sides, ids, ts = zip(*keep, strict=True)
    stamps = np.array(ts, dtype=np.uint64)
    ticks = TradeTick.from_raw_arrays_to_list(
        instrument.id, instrument.price_precision, instrument.size_precision, np.array(px, dtype=np.float64),
        np.array(sz, dtype=np.float64), np.array(sides, dtype=np.uint8), list(ids), stamps, stamps.copy(),
    )  # fmt: skip
    return ticks, report


def quote_ticks(items: list[Item], instrument: Instrument) -> tuple[list, OrderflowReport]:
    """QuoteTicks from bbo-tbt; a missing side, a non-positive price or size, or a crossed quote is rejected."""
    from nautilus_trader.model.data import QuoteTick

    report = OrderflowReport(total=len(items))
    keep: list[tuple[float, float, float, float, int]] = []
    for number, _, entry in items:
        bids, asks = entry.get("bids") or [[None, None]], entry.get("asks") or [[None, None]]
        bid, bid_sz, ask, ask_sz = _number(bids[0][0]), _number(bids[0][1]), _number(asks[0][0]), _number(asks[0][1])
        reasons = [f"non-positive or missing {n}" for n, v in (("bid", bid), ("bid size", bid_sz), ("ask", ask), ("ask size", ask_sz)) if not v > 0]
        reasons += [f"{n} rounds to 0 at the instrument's {instrument.size_precision} decimals" for n, v in (("bid size", bid_sz), ("ask size", ask_sz))
                    if v > 0 and round(v, instrument.size_precision) == 0]  # fmt: skip
        reasons += [f"{n} has more decimals than the instrument's {instrument.price_precision}" for n, v in (("bid", bid), ("ask", ask))
                    if v > 0 and abs(v - round(v, instrument.price_precision)) > 10.0 ** -(instrument.price_precision + 4)]  # fmt: skip
        if not reasons and bid >= ask:
            reasons.append("crossed quote (bid >= ask)")
        if reasons:
            report.rejections.append(RowRejection(number, _ts_ns(entry), "; ".join(reasons)))
            continue
        keep.append((bid, ask, bid_sz, ask_sz, _ts_ns(entry)))
    report.valid = len(keep)
    if not keep:
        return [], report
    bid, ask, bid_sz, ask_sz, ts = (np.array(column, dtype=np.float64) for column in zip(*keep, strict=True))
    stamps = ts.astype(np.uint64)
    quotes = QuoteTick.from_raw_arrays_to_list(
        instrument.id, instrument.price_precision, instrument.size_precision, bid, ask, bid_sz, ask_sz, stamps, stamps.copy(),
    )  # fmt: skip
    return quotes, report


def book_deltas(items: list[Item], instrument: Instrument) -> tuple[list, OrderflowReport]:
    """OrderBookDeltas from books messages: snapshots reset the book, updates must chain prevSeqId -> seqId.

    An update before the first snapshot cannot be applied and is rejected; a break in the chain is a
    gap (the update is still applied: OKX sizes are absolute, so every level it touches is right); a
    level with a non-positive price or a negative size is rejected and the rest of its message kept.
    """
    report = OrderflowReport(total=len(items))
    actions, book, watch = BookActions(), LevelBook(), CrossWatch()
    last_seq: int | None = None
    for number, action, entry in items:
        ts = _ts_ns(entry)
        seq, prev = int(_number(entry.get("seqId", -1))), int(_number(entry.get("prevSeqId", -1)))
        if action == "snapshot":
            book = LevelBook()
            actions.add(CLEAR, 0, 0.0, 0.0, max(seq, 0), ts, ts, snapshot=True)
        elif last_seq is None:
            report.rejections.append(RowRejection(number, ts, "book update before any snapshot: cannot be applied"))
            continue
        elif prev != last_seq:
            report.gaps.append(SequenceGap(number, ts, "books prevSeqId", last_seq, prev, "book messages missing; levels untouched since may be stale"))
        last_seq = seq
        report.valid += 1
        emitted = False
        for side, levels in ((BID, entry.get("bids") or []), (ASK, entry.get("asks") or [])):
            for level in levels:
                price, size = _number(level[0]), _number(level[1])
                off_tick = abs(price - round(price, instrument.price_precision)) > 10.0 ** -(instrument.price_precision + 4)
                if not price > 0 or not size >= 0 or off_tick or (size > 0 and round(size, instrument.size_precision) == 0):
                    report.rejections.append(RowRejection(number, ts, f"level {level[:2]}: non-positive price, negative size, or finer than the instrument"))
                    continue
                done = book.set(side, price, size)
                if done is not None:
                    actions.add(ADD if action == "snapshot" else done, side, price, size, max(seq, 0), ts, ts, snapshot=action == "snapshot")
                    emitted = True
        if emitted or action == "snapshot":
            actions.close_event()
        watch.check(book, number, ts, seq)
    report.crossed = watch.crossed
    return to_deltas(actions, instrument), report
