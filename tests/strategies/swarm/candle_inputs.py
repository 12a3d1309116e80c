"""Real candles and whale transfers for the volume and momentum bot tests, and `feed_candles`, which hands a bot
its events one at a time the way the Swarm does (whale transfers up to a candle's close before that candle)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from ravebear.adapters.whale_alert.constants import FLOW_INFLOW, FLOW_OUTFLOW
from ravebear.adapters.whale_alert.parsing import parse_transaction
from ravebear.strategies.levels.timeframes import Candle
from ravebear.strategies.swarm.bot import WHALES, Bot
from tests.adapters.whale_alert_server import make_transactions
from tests.shared_data import SHARED

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"
MS = 1_000_000
COLUMNS = ("ts_ns", "open", "high", "low", "close", "volume")


@cache
def okx(coin: str) -> pd.DataFrame:
    """The bundled OKX swap 1-minute candles of BTC/ETH/SOL (gappy): ts_ns = CLOSE time, open..volume."""
    return _frame(SAMPLE / f"okx_swap_{coin}-USDT-SWAP_1m_20260727_20260822_gappy.parquet")


@cache
def shared(name: str) -> pd.DataFrame:
    """A ../shared/data/ohlcv_1m file by name, as `okx` gives it."""
    return _frame(SHARED / "ohlcv_1m" / name)


def _frame(path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(path)[["ts", "open", "high", "low", "close", "volume"]]
    return frame.assign(ts_ns=(frame["ts"].to_numpy(np.int64) + 60_000) * MS).reset_index(drop=True)


def arrays(frame: pd.DataFrame) -> list[np.ndarray]:
    """The twins' positional arrays: ts, open, high, low, close, volume, funding (none), reference (none)."""
    nan = np.full(len(frame), np.nan)
    return [frame[k].to_numpy() for k in COLUMNS] + [nan, nan]


@cache
def whale_transfers(start_ns: int, count: int, step_s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whale Alert v1 transfers in the documented format (the adapter tests' server builds them from the fixtures),
    parsed by the adapter: ts_ns, amount_usd, direction (+1 out of an exchange, -1 into one, 0 other)."""
    raw = make_transactions(start_ns // 1_000_000_000, count, step_s)
    rows = [parse_transaction(tx, (1e6, 1e7, 1e8)) for tx in raw]
    sign = {FLOW_OUTFLOW: 1, FLOW_INFLOW: -1}
    return (
        np.array([r.ts_event for r in rows], np.int64),
        np.array([r.amount_usd for r in rows]),
        np.array([sign.get(r.flow, 0) for r in rows], np.int64),
    )


def feed_candles(bot: Bot, frame: pd.DataFrame, whales: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """The bot's vote at each candle, fed one event at a time (each whale transfer before the first candle
    closing at or after it)."""
    votes = np.zeros(len(frame))
    j, n_whales = 0, 0 if whales is None or WHALES not in bot.reads else len(whales[0])
    for k, (ts, o, h, low, c, v) in enumerate(zip(*(frame[name].to_numpy() for name in COLUMNS))):
        ts = int(ts)
        while j < n_whales and whales[0][j] <= ts:
            bot.on_whale(int(whales[0][j]), float(whales[1][j]), int(whales[2][j]))
            j += 1
        votes[k] = bot.on_candle(Candle(ts, float(o), float(h), float(low), float(c), float(v)))
    return votes
