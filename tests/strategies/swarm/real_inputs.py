"""Real inputs for the swarm bot tests: bundled OKX 1-minute candles, Binance USD-M candles with their funding and a
reference instrument, and the Binance BTC trade + L2 captures as one time-ordered event stream with 1-minute
candles built from the trades. Plus `feed`, which hands a bot its events one at a time the way the Swarm does."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ravebear.strategies.levels.timeframes import Candle
from ravebear.strategies.microstructure.types import BookUpdate, Trade
from ravebear.strategies.swarm.bot import BOOK, FUNDING, REFERENCE, TRADES, Bot
from ravebear.time_units import NS_PER_MINUTE
from tests.shared_data import SHARED
from tests.strategies.microstructure.real_data import (
    book_updates,
    synced_depth,
    trade_objects,
    trades,
)

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"
MS = 1_000_000


@cache
def bars(instrument: str, reference: str | None = None, funding: str | None = None, days: float | None = None, source: str = "okx") -> pd.DataFrame:
    """1-minute candles as one row per bar: ts_ns (CLOSE time), open..volume, `reference` (the reference
    instrument's close of the same minute, NaN when it has none) and `funding` (the last Binance funding rate with
    fundingTime at or before the bar's close, NaN before any). `source` okx: data/sample OKX swap (instrument
    BTC/ETH/SOL); binance: ../shared/data Binance USD-M 2025-05-04..06-24. `days` keeps the first days only."""
    if source == "okx":
        path = lambda coin: SAMPLE / f"okx_swap_{coin}-USDT-SWAP_1m_20260727_20260822_gappy.parquet"
    else:
        path = lambda coin: SHARED / "ohlcv_1m" / f"binance_usdm_{coin}USDT_1m_20250504_20250624.parquet"
    frame = pd.read_parquet(path(instrument))[["ts", "open", "high", "low", "close", "volume"]]
    if days is not None:
        frame = frame[frame["ts"] < frame["ts"].iloc[0] + int(days * 86_400_000)]
    if reference is not None:
        ref = pd.read_parquet(path(reference))[["ts", "close"]].rename(columns={"close": "reference"})
        frame = frame.merge(ref, on="ts", how="left")
    else:
        frame = frame.assign(reference=np.nan)
    frame = frame.assign(ts_ns=(frame["ts"].to_numpy(np.int64) + 60_000) * MS).reset_index(drop=True)
    rates = funding_rates(funding) if funding is not None else pd.DataFrame({"ts_ns": np.array([], np.int64), "funding_rate": []})
    frame = pd.merge_asof(frame, rates.rename(columns={"funding_rate": "funding"}), on="ts_ns", direction="backward")
    return frame


@cache
def funding_rates(coin: str) -> pd.DataFrame:
    """Binance USD-M funding: ts_ns (fundingTime), funding_rate (fraction per 8 h)."""
    raw = pd.read_parquet(SHARED / "funding_oi" / f"binance_usdm_{coin}USDT_funding_8h.parquet")
    return pd.DataFrame({"ts_ns": raw["ts"].to_numpy(np.int64) * MS, "funding_rate": raw["funding_rate"].to_numpy(float)}).sort_values("ts_ns", ignore_index=True)


def feed(bot: Bot, frame: pd.DataFrame, funding: pd.DataFrame | None = None) -> np.ndarray:
    """The bot's vote at each bar, fed one event at a time (`closes`)."""
    return np.fromiter(closes(bot, frame, funding), dtype=float, count=len(frame))


def closes(target: Any, frame: pd.DataFrame, funding: pd.DataFrame | None = None) -> Iterator[Any]:
    """What a bot (its vote) or a Swarm (its SwarmState) says at each bar, fed one event at a time as a node feeds it:
    each funding rate once its time has come (before the first candle closing at or after it), the reference candle of
    the minute, then the instrument's candle."""
    rates = funding.itertuples(index=False) if funding is not None and FUNDING in target.reads else iter(())
    pending = next(rates, None)
    cols = [frame[k].to_numpy() for k in ("ts_ns", "open", "high", "low", "close", "volume", "reference")]
    for ts, o, h, low, c, v, ref in zip(*cols, strict=True):
        ts = int(ts)
        while pending is not None and pending.ts_ns <= ts:
            target.on_funding(int(pending.ts_ns), float(pending.funding_rate))
            pending = next(rates, None)
        if REFERENCE in target.reads and not np.isnan(ref):
            target.on_reference_candle(Candle(ts, 0.0, 0.0, 0.0, float(ref), 0.0))
        yield target.on_candle(Candle(ts, float(o), float(h), float(low), float(c), float(v)))


@cache
def flow_events(market: str) -> tuple[list[tuple[int, int, Trade | BookUpdate]], pd.DataFrame]:
    """A capture's trades and synced L2 book updates in receive-time order (the snapshot first, at the earlier of its
    own and the first diff's time; at equal times the book update before the trade), and the 1-minute candles of its trades: ts_ns (CLOSE time), OHLCV, taker buy
    and sell size, as pandas builds them. Only complete minutes after the first trade's minute are kept."""
    frame = trades(market)
    snap, diffs = synced_depth(market)
    # the snapshot first: its receive time may be after the first diff kept (the one bridging its update id)
    book = book_updates(snap, min(int(snap["ts_ns"].iloc[0]), int(diffs["ts_ns"].iloc[0]))) + book_updates(diffs)
    events = sorted([(t.ts_ns, 1, t) for t in trade_objects(frame)] + [(u.ts_ns, 0, u) for u in book], key=lambda e: (e[0], e[1]))
    minute = frame["ts_ns"] // NS_PER_MINUTE
    grouped = frame.assign(buy=frame["size"].where(frame["aggressor"] > 0, 0.0), sell=frame["size"].where(frame["aggressor"] < 0, 0.0)).groupby(minute)
    candles = pd.DataFrame(
        {
            "ts_ns": (grouped["price"].first().index.to_numpy(np.int64) + 1) * NS_PER_MINUTE,
            "open": grouped["price"].first().to_numpy(),
            "high": grouped["price"].max().to_numpy(),
            "low": grouped["price"].min().to_numpy(),
            "close": grouped["price"].last().to_numpy(),
            "volume": grouped["size"].sum().to_numpy(),
            "buy": grouped["buy"].sum().to_numpy(),
            "sell": grouped["sell"].sum().to_numpy(),
        },
    )
    return events, candles.iloc[1:-1].reset_index(drop=True)  # the first and last minutes are partial


def feed_flow(bot: Bot, market: str, trades_on: bool = True, book_on: bool = True) -> np.ndarray:
    """The bot's vote at each complete minute of the capture, fed its trades and/or book updates one at a time
    (switched off: the bot sees candles only)."""
    events, candles = flow_events(market)
    closes = candles["ts_ns"].to_numpy(np.int64)
    rows = candles[["ts_ns", "open", "high", "low", "close", "volume"]].itertuples(index=False)
    votes, k = np.zeros(len(candles)), 0
    takes_trades, takes_book = trades_on and TRADES in bot.reads, book_on and BOOK in bot.reads
    for ts, kind, event in events:
        while k < len(closes) and ts >= closes[k]:  # the candle closing at or before this event closes first
            votes[k] = bot.on_candle(Candle(*next(rows)))
            k += 1
        if kind and takes_trades:
            bot.on_trade(event)
        elif not kind and takes_book:
            bot.on_book(event)
    return votes
