"""OKX v5 `trades` / `books` and Kraken WS v2 `trade` messages built from the real shared captures.

The shared captures (`trades_book/`) are Binance recordings of 2024-08-08 23:54 - 00:05 UTC. They become
the messages a recorder would receive from OKX and Kraken, in those venues' documented formats:

- OKX BTC-USDT-SWAP (tick 0.1 like Binance USD-M, contracts of 0.01 BTC): the USD-M trades as `trades`
  pushes (`side` = the taker's), its depth snapshot + diffs (synced by Binance's rule: first diff with
  U <= lastUpdateId+1 <= u) as a `books` snapshot and `update`s chained by `prevSeqId` -> `seqId`
  (seqId = Binance's final update id). Sizes are BTC / 0.01 = contracts, exact at Binance's 0.001 step.
- Kraken BTC/USD spot: the Binance spot trades as `trade` updates, price rounded to Kraken's 0.1 tick,
  `trade_id` Binance's (sequential, as Kraken's are per pair).

`shift_ms` moves every timestamp (a replay of a later hour, for benchmarks); the values stay real.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from tests.shared_data import SHARED

CAPTURES = SHARED / "trades_book"
USDM = "binance_usdm_BTCUSDT_20240808T2354Z_20240808T2359Z"
SPOT = "binance_spot_BTCUSDT_20240808T2354Z_20240809T0005Z"
OKX_INST = "BTC-USDT-SWAP"
KRAKEN_SYMBOL = "BTC/USD"
CONTRACT_BTC = Decimal("0.01")  # OKX BTC-USDT-SWAP ctVal


def _num(value: float) -> str:
    return np.format_float_positional(value, trim="-")


def _contracts(qty_btc: float) -> str:
    return format((Decimal(_num(qty_btc)) / CONTRACT_BTC).normalize(), "f")


@dataclass(frozen=True)
class Feed:
    """Messages in the order a venue sends them: (exchange time ms, channel, message)."""

    messages: list[tuple[int, str, dict]]

    def span_ms(self) -> int:
        """From the first message's time to the last's."""
        return self.messages[-1][0] - self.messages[0][0] if self.messages else 0


@lru_cache(maxsize=2)
def _usdm() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    trades = pd.read_parquet(CAPTURES / f"{USDM}_trades.parquet")
    snap = pd.read_parquet(CAPTURES / f"{USDM}_depthsnap.parquet")
    diffs = pd.read_parquet(CAPTURES / f"{USDM}_depthdiff.parquet")
    return trades, snap, diffs


def okx_trade_messages(shift_ms: int = 0, inst_id: str = OKX_INST) -> list[tuple[int, str, dict]]:
    """One OKX `trades` push per USD-M trade."""
    trades, _, _ = _usdm()
    out = []
    for trade_id, price, qty, buyer_maker, ts in zip(trades.trade_id, trades.price, trades.qty, trades.is_buyer_maker, trades.trade_ts_ms, strict=True):
        stamp = int(ts) + shift_ms
        row = {"instId": inst_id, "tradeId": str(trade_id), "px": _num(price), "sz": _contracts(qty), "side": "sell" if buyer_maker else "buy", "ts": str(stamp), "count": "1"}
        out.append((stamp, "trades", {"arg": {"channel": "trades", "instId": inst_id}, "data": [row]}))
    return out


def okx_book_messages(shift_ms: int = 0, inst_id: str = OKX_INST) -> list[tuple[int, str, dict]]:
    """The USD-M book as OKX `books` pushes: one snapshot, then one update per synced depth event."""
    _, snap, diffs = _usdm()
    last_id = int(snap.last_update_id.iloc[0])
    stamp = int(snap.event_ts_ms.iloc[0]) + shift_ms
    levels = {side: [[_num(p), _contracts(q), "0", "1"] for p, q in zip(rows.price, rows.qty, strict=True)] for side, rows in snap.groupby("side")}
    snapshot = {"asks": levels["ask"], "bids": levels["bid"], "ts": str(stamp), "checksum": 0, "prevSeqId": -1, "seqId": last_id}
    out = [(stamp, "books", {"arg": {"channel": "books", "instId": inst_id}, "action": "snapshot", "data": [snapshot]})]
    prev = last_id
    events = diffs[diffs.final_update_id > last_id].sort_values("final_update_id", kind="stable")
    ids, prices, qtys = events.final_update_id.to_numpy(), events.price.to_numpy(), events.qty.to_numpy()
    asks, stamps = (events.side == "ask").to_numpy(), events.event_ts_ms.to_numpy()
    bounds = np.flatnonzero(np.diff(ids)) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(ids)], strict=True):
        stamp = int(stamps[lo]) + shift_ms
        sides: dict[str, list] = {"asks": [], "bids": []}
        for j in range(lo, hi):
            sides["asks" if asks[j] else "bids"].append([_num(prices[j]), _contracts(qtys[j]), "0", "1" if qtys[j] > 0 else "0"])
        row = {**sides, "ts": str(stamp), "checksum": 0, "prevSeqId": prev, "seqId": int(ids[lo])}
        out.append((stamp, "books", {"arg": {"channel": "books", "instId": inst_id}, "action": "update", "data": [row]}))
        prev = int(ids[lo])
    return out


def okx_feed(shift_ms: int = 0) -> Feed:
    """Trades and books of the USD-M capture, merged in time order (books first at equal times)."""
    merged = sorted([*okx_book_messages(shift_ms), *okx_trade_messages(shift_ms)], key=lambda item: (item[0], item[1] != "books"))
    return Feed(merged)


def _rfc3339(ms: int, micros: int = 0) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{(ms % 1000) * 1000 + micros:06d}Z"


def kraken_trade_messages(shift_ms: int = 0, symbol: str = KRAKEN_SYMBOL) -> list[tuple[int, str, dict]]:
    """One Kraken WS v2 `trade` update per spot trade (Kraken sends numbers as JSON numbers)."""
    trades = pd.read_parquet(CAPTURES / f"{SPOT}_trades.parquet")
    out = []
    for trade_id, price, qty, buyer_maker, ts in zip(trades.trade_id, trades.price, trades.qty, trades.is_buyer_maker, trades.trade_ts_ms, strict=True):
        stamp = int(ts) + shift_ms
        row = {"symbol": symbol, "side": "sell" if buyer_maker else "buy", "price": round(float(price), 1), "qty": float(qty), "ord_type": "market",
               "trade_id": int(trade_id), "timestamp": _rfc3339(stamp)}  # fmt: skip
        out.append((stamp, "trade", {"channel": "trade", "type": "update", "data": [row]}))
    return out


def captures_message_rate() -> dict[str, float]:
    """Messages per second of each shared Binance capture (trades + depth events + bookTicker), over its own span."""
    rates = {}
    for trades_path in sorted(Path(CAPTURES).glob("binance_*_trades.parquet")):
        stem = trades_path.name.removesuffix("_trades.parquet")
        trades = pd.read_parquet(trades_path, columns=["local_ts_ns"])
        diffs = pd.read_parquet(CAPTURES / f"{stem}_depthdiff.parquet", columns=["local_ts_ns", "final_update_id"])
        ticker = pd.read_parquet(CAPTURES / f"{stem}_bookticker.parquet", columns=["local_ts_ns"])
        stamps = pd.concat([trades.local_ts_ns, diffs.local_ts_ns, ticker.local_ts_ns])
        count = len(trades) + diffs.final_update_id.nunique() + len(ticker)
        rates[stem] = count / ((stamps.max() - stamps.min()) / 1e9)
    return rates


def _shifted(item: tuple[int, str, dict], shift_ms: int, id_offset: int) -> tuple[int, str, dict]:
    stamp, channel, message = item
    rows = []
    for row in message["data"]:
        if channel == "trade":
            rows.append({**row, "trade_id": row["trade_id"] + id_offset, "timestamp": _rfc3339(stamp + shift_ms)})
        elif channel == "trades":
            rows.append({**row, "tradeId": str(int(row["tradeId"]) + id_offset), "ts": str(int(row["ts"]) + shift_ms)})
        else:
            rows.append({**row, "ts": str(int(row["ts"]) + shift_ms)})
    return stamp + shift_ms, channel, {**message, "data": rows}


def session(messages: list[tuple[int, str, dict]], minutes: float) -> list[tuple[int, str, dict]]:
    """The capture's messages repeated end to end until they span `minutes` of exchange time.

    Each repeat starts where the previous one ended (times shifted), with trade ids offset so none repeats;
    an OKX book repeat opens with the capture's snapshot again (a re-snapshot, as after a reconnect).
    """
    span = messages[-1][0] - messages[0][0] + 1
    wanted_ms = int(minutes * 60_000)
    out: list[tuple[int, str, dict]] = []
    repeat = 0
    while repeat * span < wanted_ms:
        out += [_shifted(item, repeat * span, repeat * 10_000_000) for item in messages if item[0] - messages[0][0] + repeat * span < wanted_ms]
        repeat += 1
    return out
