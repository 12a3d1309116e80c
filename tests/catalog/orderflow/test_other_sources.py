"""Tardis.dev CSV samples and the Hyperliquid capture: snapshots stored as CLEAR + ADDs, checked against the source rows."""

from __future__ import annotations

import pandas as pd
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import OrderBookDelta, TradeTick
from nautilus_trader.model.enums import AggressorSide, BookType, RecordFlag

from ravebear.catalog.orderflow.importer import import_file
from ravebear.catalog.store import RaveCatalog
from tests.catalog.orderflow.captures import TRADES_BOOK, store_instrument
from tests.platform.test_backtest import ravebear

TARDIS_SNAPSHOTS = TRADES_BOOK / "nautilus_samples" / "tardis_binance-futures_book_snapshot_5_BTCUSDT.csv"
HL_BOOK, HL_TRADES = TRADES_BOOK / "hyperliquid_BTC_l2book_20250126.parquet", TRADES_BOOK / "hyperliquid_BTC_trades_20250126.parquet"


def _best_after_each_update(store: RaveCatalog, instrument_id: str) -> list[tuple[str, str]]:
    deltas = store.nautilus.query(OrderBookDelta, identifiers=[instrument_id])
    book = OrderBook(deltas[0].instrument_id, BookType.L2_MBP)
    best = []
    for delta in deltas:
        book.apply_delta(delta)
        if delta.flags & RecordFlag.F_LAST:
            best.append((book.best_bid_price().as_double(), book.best_ask_price().as_double()))
    return best


def test_tardis_book_snapshots_rebuild_each_book(tmp_path):
    source = pd.read_csv(TARDIS_SNAPSHOTS)
    store = RaveCatalog(tmp_path / "cat")
    store_instrument(store, "BTCUSDT-2020.BINANCE", price_decimals=2, size_decimals=3)  # 2020: a 0.01 tick, finer than today's 0.1
    done = ravebear("catalog", "import-orderflow", str(TARDIS_SNAPSHOTS), "-i", "BTCUSDT-2020.BINANCE", "--catalog", str(store.path))
    assert done.returncode == 0, done.stderr
    levels = sum(1 for c in source.columns if c.endswith(".price"))
    assert f"tardis book_snapshot, {len(source)} rows, {len(source)} valid, 0 rejected; {len(source) * (1 + levels)} book deltas written" in done.stdout
    best = _best_after_each_update(store, "BTCUSDT-2020.BINANCE")
    assert best == list(zip(source["bids[0].price"], source["asks[0].price"], strict=True))


def test_prices_finer_than_the_instrument_are_rejected_not_rounded(tmp_path):
    source = pd.read_csv(TARDIS_SNAPSHOTS)
    done = ravebear("catalog", "import-orderflow", str(TARDIS_SNAPSHOTS), "--catalog", str(tmp_path / "cat"))
    assert "-> BTCUSDT-PERP.BINANCE" in done.stdout  # Tardis binance-futures BTCUSDT, today's 0.1 tick
    assert done.returncode == 0  # the levels on the 0.1 tick are stored
    prices = source[[c for c in source.columns if c.endswith(".price")]].to_numpy()
    on_tick = int((abs(prices * 10 - (prices * 10).round()) < 1e-6).sum())
    assert f"tardis book_snapshot, {len(source)} rows, 0 valid, {len(source)} rejected; {len(source) + on_tick} book deltas written" in done.stdout
    assert "  rejected row 1 (" in done.stdout and "levels left out: price has more decimals than the instrument's 1" in done.stdout


def test_hyperliquid_snapshots_and_trades(tmp_path):
    store = RaveCatalog(tmp_path / "cat")
    store_instrument(store, "BTC-USD-PERP.HYPERLIQUID", price_decimals=0, size_decimals=5)  # the capture: whole-dollar ticks, 5-decimal sizes
    book_src, trades_src = pd.read_parquet(HL_BOOK), pd.read_parquet(HL_TRADES)
    [book] = import_file(store, HL_BOOK, "BTC-USD-PERP.HYPERLIQUID")
    [trades] = import_file(store, HL_TRADES, "BTC-USD-PERP.HYPERLIQUID")
    snapshots = book_src["local_ts_ns"].nunique()
    assert (book.report.valid, book.write.written, book.report.crossed) == (len(book_src), snapshots + len(book_src), [])
    top = book_src[book_src["level"] == 0].pivot_table(index="local_ts_ns", columns="side", values="px")
    assert _best_after_each_update(store, "BTC-USD-PERP.HYPERLIQUID") == list(zip(top["bid"], top["ask"], strict=True))
    assert trades.write.written == len(trades_src)
    ticks = store.nautilus.query(TradeTick, identifiers=["BTC-USD-PERP.HYPERLIQUID"])
    by_id = {t.trade_id.value: t.aggressor_side for t in ticks}
    assert all(by_id[str(i)] == (AggressorSide.BUYER if s == "B" else AggressorSide.SELLER) for i, s in zip(trades_src["trade_id"], trades_src["side"], strict=True))


def test_a_size_finer_than_the_instrument_is_rejected_by_row(tmp_path):
    done = ravebear("catalog", "import-orderflow", str(HL_TRADES), "-i", "BTCUSDT-PERP.BINANCE", "--catalog", str(tmp_path / "cat"))
    source = pd.read_parquet(HL_TRADES)
    too_fine = source.index[(source["sz"] > 0) & (source["sz"].round(3) == 0)]
    assert done.returncode == 0 and len(too_fine) > 0
    assert f"{len(source)} rows, {len(source) - len(too_fine)} valid, {len(too_fine)} rejected" in done.stdout
    assert f"  rejected row {too_fine[0] + 1} (" in done.stdout and "size rounds to 0 at the instrument's 3 decimals" in done.stdout


def test_tardis_incremental_book_and_trades(tmp_path):
    samples = TRADES_BOOK / "nautilus_samples"
    l2, trades = samples / "tardis_deribit_incremental_book_L2_BTC-PERPETUAL.csv", samples / "tardis_bitmex_trades_XBTUSD.csv"
    store = RaveCatalog(tmp_path / "cat")
    store_instrument(store, "BTC-PERPETUAL.DERIBIT", price_decimals=1, size_decimals=0)  # sizes in USD contracts, as Deribit counts
    store_instrument(store, "XBTUSD.BITMEX", price_decimals=1, size_decimals=0)
    source = pd.read_csv(l2)  # a snapshot only: two updates are added from its own rows (best ask taken, a level resized)
    later = source.iloc[[0, 1]].assign(timestamp=source["timestamp"].max() + 1_000_000, local_timestamp=source["local_timestamp"].max() + 1_000_000,
                                       is_snapshot=False, amount=[0, 500])  # fmt: skip
    source = pd.concat([source, later], ignore_index=True)
    l2 = tmp_path / l2.name
    source.to_csv(l2, index=False)
    [book] = import_file(store, l2, "BTC-PERPETUAL.DERIBIT")
    levels: dict[tuple[str, float], float] = {}
    for side, price, amount in source[["side", "price", "amount"]].itertuples(index=False):  # the brute force: last size per level
        levels[(side, price)] = amount
    assert book.report.valid == len(source) and book.report.crossed == [] and book.write.written == 1 + len(source)
    deltas = store.nautilus.query(OrderBookDelta, identifiers=["BTC-PERPETUAL.DERIBIT"])
    rebuilt = OrderBook(deltas[0].instrument_id, BookType.L2_MBP)
    for delta in deltas:
        rebuilt.apply_delta(delta)
    got = {("bid", level.price.as_double()): level.size() for level in rebuilt.bids()} | {("ask", level.price.as_double()): level.size() for level in rebuilt.asks()}
    assert got == {key: size for key, size in levels.items() if size > 0}
    [traded] = import_file(store, trades, "XBTUSD.BITMEX")
    tardis = pd.read_csv(trades)
    ticks = store.nautilus.query(TradeTick, identifiers=["XBTUSD.BITMEX"])
    assert traded.write.written == len(tardis)
    assert [(t.trade_id.value, t.aggressor_side == AggressorSide.BUYER, t.ts_event) for t in ticks] == [
        (i, s == "buy", ts * 1000) for i, s, ts in zip(tardis["id"], tardis["side"], tardis["timestamp"], strict=True)
    ]
