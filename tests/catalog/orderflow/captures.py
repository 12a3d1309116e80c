"""Slices of the real Binance captures in ../shared/data/trades_book/ (the first seconds after the REST snapshot), and a
plain-dict rebuild of the book to check the importer against."""

from __future__ import annotations

from pathlib import Path

from decimal import Decimal

import pandas as pd

from ravebear.catalog.atomic_write import write_data
from ravebear.catalog.store import RaveCatalog

from tests.shared_data import SHARED

TRADES_BOOK = SHARED / "trades_book"
PREFIXES = {
    "spot": "binance_spot_BTCUSDT_20240808T2354Z_20240809T0005Z_",
    "usdm": "binance_usdm_BTCUSDT_20240808T2354Z_20240808T2359Z_",
    "coinm": "binance_coinm_BTCUSD_PERP_20240808T2354Z_20240809T0005Z_",
}
INSTRUMENTS = {"spot": "BTCUSDT.BINANCE", "usdm": "BTCUSDT-PERP.BINANCE", "coinm": "BTCUSD_PERP.BINANCE"}
KINDS = ("trades", "bookticker", "depthdiff", "depthsnap")


def slice_capture(market: str, folder: Path, seconds: float = 20.0) -> dict[str, Path]:
    """Copy each file of a market's capture into `folder`, cut to rows received before snapshot + `seconds`."""
    prefix = PREFIXES[market]
    snapshot = pd.read_parquet(TRADES_BOOK / f"{prefix}depthsnap.parquet")
    cut = int(snapshot["local_ts_ns"].iloc[0]) + int(seconds * 1e9)
    out = {}
    folder.mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        frame = pd.read_parquet(TRADES_BOOK / f"{prefix}{kind}.parquet")
        if kind != "depthsnap":
            frame = frame[frame["local_ts_ns"] < cut].reset_index(drop=True)
        out[kind] = folder / f"{prefix}{kind}.parquet"
        frame.to_parquet(out[kind])
    return out


def reference_book(diffs: pd.DataFrame, snapshot: pd.DataFrame, futures: bool) -> tuple[dict[str, dict[float, float]], int, list[int]]:
    """Brute-force Binance sync with plain dicts: (final book per side, delta count incl. CLEAR, final update id of each applied event)."""
    book: dict[str, dict[float, float]] = {"bid": {}, "ask": {}}
    for side, price, qty in snapshot[["side", "price", "qty"]].itertuples(index=False):
        book[side][price] = qty
    count = 1 + len(snapshot)
    last = int(snapshot["last_update_id"].iloc[0])
    applied: list[int] = []
    for u, event in diffs.groupby("final_update_id", sort=False):
        if (u < last) if futures else (u <= last):
            continue
        applied.append(int(u))
        for side, price, qty in event[["side", "price", "qty"]].itertuples(index=False):
            if qty == 0:
                if book[side].pop(price, None) is not None:
                    count += 1
            else:
                book[side][price] = qty
                count += 1
    return book, count, applied


def store_instrument(store: RaveCatalog, instrument_id: str, price_decimals: int, size_decimals: int, spot: bool = False) -> None:
    """A BTC instrument at the precision a capture prices it (a linear perpetual, or a spot pair), stored in the catalog for -i."""
    from nautilus_trader.model.currencies import BTC, USDT
    from nautilus_trader.model.identifiers import InstrumentId
    from nautilus_trader.model.instruments import CryptoPerpetual, CurrencyPair
    from nautilus_trader.model.objects import Price, Quantity

    parsed = InstrumentId.from_str(instrument_id)
    tick, lot = Price(10.0**-price_decimals, price_decimals), Quantity(10.0**-size_decimals, size_decimals)
    fees = {"ts_event": 0, "ts_init": 0, "maker_fee": Decimal("0.0001"), "taker_fee": Decimal("0.00035")}
    if spot:
        instrument = CurrencyPair(parsed, parsed.symbol, BTC, USDT, price_decimals, size_decimals, tick, lot, **fees)
    else:
        instrument = CryptoPerpetual(parsed, parsed.symbol, BTC, USDT, USDT, False, price_decimals, size_decimals, tick, lot, **fees)
    store.path.mkdir(parents=True, exist_ok=True)
    write_data(store.nautilus, [instrument])
