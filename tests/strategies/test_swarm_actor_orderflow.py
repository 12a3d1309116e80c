"""The SwarmActor on trades and L2 book deltas (the real Binance spot BTCUSDT capture, 11 minutes): what it publishes at
each 1-minute bar nautilus builds from the trades equals a Swarm fed, here, the catalog's trades and book updates in the
node's order (ts_init, trades before deltas on a tie) and candles built here from the same trades."""

from __future__ import annotations

from decimal import Decimal

import pytest
from nautilus_trader.model.data import OrderBookDelta, TradeTick
from nautilus_trader.model.enums import AggressorSide, BookAction, OrderSide

from ravebear.catalog.orderflow.importer import import_file
from ravebear.catalog.store import RaveCatalog
from ravebear.strategies.levels.timeframes import Candle
from ravebear.strategies.microstructure.types import BookUpdate, Trade
from ravebear.strategies.swarm.swarm import Swarm
from ravebear.strategies.swarm_actor import swarm_config, swarm_signal
from ravebear.time_units import NS_PER_MINUTE
from tests.shared_data import SHARED
from tests.strategies.swarm_runs import backtest

PREFIX = "binance_spot_BTCUSDT_20240808T2354Z_20240809T0005Z_"
INSTRUMENT = "BTCUSDT.BINANCE"


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> RaveCatalog:
    store = RaveCatalog(tmp_path_factory.mktemp("flow") / "cat")
    for kind in ("trades", "depthdiff"):
        import_file(store, SHARED / "trades_book" / f"{PREFIX}{kind}.parquet")
    return store


def run_file(catalog: RaveCatalog) -> dict:
    return {
        "run": {"catalog_path": str(catalog.path), "tearsheet": False, "risk_report": False, "log_level": "ERROR"},
        "venue": {"name": "BINANCE", "account_type": "CASH", "starting_balance": "10000 USDT"},
        "data": [{"instrument_id": INSTRUMENT, "kind": "trades"}, {"instrument_id": INSTRUMENT, "kind": "book"}],
        "actors": [
            {"actor_path": "ravebear.strategies.swarm_actor:SwarmActor", "config": {"instrument_ids": [INSTRUMENT], "base_bars": "trades", "record": True}},
            {"actor_path": "tests.strategies.swarm_recorder:SwarmRecorder", "config": {"instrument_ids": [INSTRUMENT]}},
        ],
    }  # fmt: skip


def candles_from(trades: list[TradeTick], last_ts: int) -> list[Candle]:
    """1-minute candles of the trades by ts_init, [close - 1 min, close), each closed once the clock reaches its close."""
    buckets: dict[int, list[TradeTick]] = {}
    for tick in trades:
        buckets.setdefault(tick.ts_init // NS_PER_MINUTE, []).append(tick)
    out = []
    for bucket, ticks in sorted(buckets.items()):
        close_ts = (bucket + 1) * NS_PER_MINUTE
        if close_ts > last_ts:
            break
        prices = [t.price.as_double() for t in ticks]
        volume = float(sum((Decimal(str(t.size)) for t in ticks), Decimal(0)))
        out.append(Candle(close_ts, prices[0], max(prices), min(prices), prices[-1], volume))
    return out


def test_the_actor_on_trades_and_book_equals_a_swarm_fed_the_same_stream(catalog):
    run = backtest(run_file(catalog), catalog.path)
    trades = catalog.nautilus.query(TradeTick, identifiers=[INSTRUMENT])
    deltas = catalog.nautilus.query(OrderBookDelta, identifiers=[INSTRUMENT])
    stream = sorted([(t.ts_init, 0, i, t) for i, t in enumerate(trades)] + [(d.ts_init, 1, i, d) for i, d in enumerate(deltas)])
    candles = candles_from(trades, stream[-1][0])
    swarm = Swarm(swarm_config({}))
    held: dict[int, set[float]] = {1: set(), -1: set()}
    expected = []
    pending = iter(candles)
    candle = next(pending, None)
    for ts, _, _, item in stream:
        while candle is not None and ts >= candle.ts:  # the bar's timer fires before an item at or after its close
            expected.append(swarm_signal(trades[0].instrument_id, swarm.names, swarm.on_candle(candle)))
            candle = next(pending, None)
        if isinstance(item, TradeTick):
            side = item.aggressor_side
            if side in (AggressorSide.BUYER, AggressorSide.SELLER):
                swarm.on_trade(Trade(ts, item.price.as_double(), item.size.as_double(), 1 if side == AggressorSide.BUYER else -1))
        elif item.action == BookAction.CLEAR:
            for book_side, prices in held.items():
                for price in prices:
                    swarm.on_book(BookUpdate(ts, book_side, price, 0.0))
                prices.clear()
        else:
            book_side = 1 if item.order.side == OrderSide.BUY else -1
            price, size = item.order.price.as_double(), item.order.size.as_double() if item.action != BookAction.DELETE else 0.0
            (held[book_side].add if size > 0 else held[book_side].discard)(price)
            swarm.on_book(BookUpdate(ts, book_side, price, size))
    assert len(expected) >= 10 and any(isinstance(d, OrderBookDelta) and d.action == BookAction.CLEAR for *_, d in stream)
    assert run.signals == expected
    assert run.published == run.signals
    flow_bots = {"CVDDiv", "OBImbalance", "HiddenWall", "SuppDefense", "TakerAggr"}
    voted = {part.split("=")[0] for signal in run.signals for part in signal.votes.split(",") if part}
    assert len(voted & flow_bots) >= 2, voted  # the order-flow bots read the trades and the book and vote


def test_with_book_source_none_the_bots_reading_the_book_abstain(catalog):
    raw = run_file(catalog)
    raw["actors"][0]["config"]["book_source"] = "none"
    run = backtest(raw, catalog.path)
    voted = {part.split("=")[0] for signal in run.signals for part in signal.votes.split(",") if part}
    assert len(run.signals) >= 10 and not voted & {"OBImbalance", "SuppDefense"}  # they read BOOK
    assert voted & {"CVDDiv", "HiddenWall", "TakerAggr"}  # trades still reach the bots reading them
