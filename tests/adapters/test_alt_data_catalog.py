"""Alternative-data types: catalog round trip (nautilus's writer and RaveBear's columnar one) and BacktestNode replay."""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from ravebear.catalog.alt_data import (
    ALT_DATA_TYPES,
    AltDataStore,
    Dominance,
    FundingRate,
    Liquidation,
    LongShortRatio,
    OpenInterest,
    StablecoinSupply,
    WhaleTransaction,
)
from ravebear.catalog.store import RaveCatalog
from tests.adapters.recorder import RECEIVED

BTC = InstrumentId.from_str("BTC-USDT-SWAP.OKX")
ETH = InstrumentId.from_str("ETH-USDT-SWAP.OKX")
S = 1_000_000_000
T0 = 1_767_225_600 * S  # 2026-01-01 00:00 UTC


def sample_records() -> list:
    """Two or three records of every type, in time order per type, with distinct values."""
    out: list = []
    for i in range(3):
        ts = T0 + (i + 1) * 300 * S
        out.append(OpenInterest(instrument_id=BTC, symbol="BTCUSDT_PERP.3", open=1e9 + i, high=1.1e9 + i, low=0.9e9, close=1.05e9 + i, usd=True, interval_s=300, ts_event=ts, ts_init=ts))
        out.append(FundingRate(instrument_id=BTC, symbol="BTCUSDT_PERP.3", open=1e-4, high=2e-4, low=-1e-4, close=1e-4 * (i + 1), predicted=i == 2, interval_s=300, ts_event=ts, ts_init=ts))
        out.append(LongShortRatio(instrument_id=ETH, symbol="ETHUSDT_PERP.3", ratio=1.5 + i, long_percent=60.0, short_percent=40.0, interval_s=300, ts_event=ts, ts_init=ts))
        out.append(Liquidation(instrument_id=BTC, symbol="BTCUSDT_PERP.3", long_liquidations=12_345.5 * i, short_liquidations=math.nan if i == 1 else 99.0, usd=True, interval_s=300, ts_event=ts, ts_init=ts))
        out.append(WhaleTransaction(
            transaction_id=f"tx{i}", blockchain="ethereum", symbol="usdt", transaction_type="transfer", hash=f"0x{i:064x}",
            amount=5e7 + i, amount_usd=5e7 + i, from_address="0xabc", from_owner="", from_owner_type="unknown",
            to_address="0xdef", to_owner="binance", to_owner_type="exchange", tier=3, flow="exchange_inflow", source="rest",
            ts_event=ts + 1, ts_init=ts + 1,
        ))  # fmt: skip
        out.append(StablecoinSupply(asset="USDT", circulating_usd=1.8e11 + i * 1e8, net_flow_usd=1e8 if i else math.nan, interval_s=86_400, source="defillama", ts_event=ts, ts_init=ts))
        out.append(Dominance(asset="USDT", percent=4.5 + i / 10, source="coingecko", ts_event=ts, ts_init=ts))
    return out


def same(a, b) -> bool:
    """Equal as dicts, NaN equal to NaN."""
    da, db = a.to_dict(), b.to_dict()
    return da.keys() == db.keys() and all(
        (isinstance(da[k], float) and math.isnan(da[k]) and math.isnan(db[k])) or da[k] == db[k] for k in da
    )


def by_type(records: list) -> dict[type, list]:
    out: dict[type, list] = {}
    for record in records:
        out.setdefault(type(record), []).append(record)
    return out


@pytest.mark.parametrize("writer", ["nautilus", "ravebear"])
def test_every_type_round_trips_through_the_catalog(tmp_path: Path, writer: str):
    records = sample_records()
    if writer == "nautilus":
        ParquetDataCatalog(str(tmp_path)).write_data(records)
    else:
        assert AltDataStore(tmp_path).write(records).written == len(records)
    store = AltDataStore(tmp_path)
    for cls, expected in by_type(records).items():
        identifier = expected[0].instrument_id.value if hasattr(expected[0], "instrument_id") else None
        got = store.read(cls, identifier)
        assert len(got) == len(expected), cls.__name__
        assert all(type(g) is cls and same(g, e) for g, e in zip(got, expected, strict=True)), cls.__name__


def test_columnar_writer_produces_the_files_nautilus_writes(tmp_path: Path):
    records = sample_records()
    ParquetDataCatalog(str(tmp_path / "n")).write_data(records)
    AltDataStore(tmp_path / "r").write(records)
    ours = sorted(p.relative_to(tmp_path / "r") for p in (tmp_path / "r").rglob("*.parquet"))
    theirs = sorted(p.relative_to(tmp_path / "n") for p in (tmp_path / "n").rglob("*.parquet"))
    assert ours == theirs and len(ours) == 7  # one folder per type: four per instrument, three without
    assert str(ours[0]).startswith("data/custom_")
    for path in ours:
        a, b = pq.read_table(tmp_path / "n" / path), pq.read_table(tmp_path / "r" / path)
        assert a.schema == b.schema
        assert str(a.to_pylist()) == str(b.to_pylist())  # NaN-tolerant equality


def test_writes_are_idempotent_and_merge_overlapping_ranges(tmp_path: Path):
    store = AltDataStore(tmp_path)
    oi = [r for r in sample_records() if isinstance(r, OpenInterest)]
    assert store.write(oi[:2]).written == 2
    again = store.write(oi[:2])
    assert (again.written, again.already_stored, again.files) == (0, 2, 0)
    overlapping = store.write(oi[1:])  # one stored, one new, overlapping the stored file's range
    assert (overlapping.written, overlapping.already_stored) == (1, 1)
    files = list(store.directory(OpenInterest, BTC.value).glob("*.parquet"))
    assert len(files) == 1
    assert [r.close for r in store.read(OpenInterest, BTC.value)] == [r.close for r in oi]
    assert store.last_ts_event(OpenInterest, BTC.value) == oi[-1].ts_event
    assert store.last_ts_event(OpenInterest, BTC.value, interval_s=86_400) is None


def test_predicted_and_settled_funding_share_a_folder_and_are_told_apart(tmp_path: Path):
    store = AltDataStore(tmp_path)
    ts = T0 + 300 * S
    settled = FundingRate(instrument_id=BTC, close=1e-4, interval_s=300, ts_event=ts, ts_init=ts)
    predicted = FundingRate(instrument_id=BTC, close=2e-4, predicted=True, interval_s=300, ts_event=ts, ts_init=ts)
    store.write([settled])
    assert store.write([predicted]).written == 1  # same time, other key
    got = store.read(FundingRate, BTC.value)
    assert sorted((r.predicted, r.close) for r in got) == [(False, 1e-4), (True, 2e-4)]


def test_backtest_node_replays_every_type_to_an_actor_in_order(tmp_path: Path):
    from nautilus_trader.backtest.node import BacktestNode
    from nautilus_trader.config import (
        BacktestDataConfig,
        BacktestEngineConfig,
        BacktestRunConfig,
        BacktestVenueConfig,
        ImportableActorConfig,
        LoggingConfig,
    )

    records = sample_records()
    catalog = RaveCatalog(tmp_path)
    for symbol in ("BTC-USDT-SWAP", "ETH-USDT-SWAP"):
        catalog.ensure_instrument(symbol)  # a data config with an instrument id needs the instrument stored
    AltDataStore(catalog).write(records)
    paths = [f"{cls.__module__}:{cls.__name__}" for cls in ALT_DATA_TYPES]
    data = []
    for path, cls in zip(paths, ALT_DATA_TYPES, strict=True):
        first = by_type(records)[cls][0]
        instrument_id = first.instrument_id.value if hasattr(first, "instrument_id") else None
        data.append(BacktestDataConfig(catalog_path=str(tmp_path), data_cls=path, instrument_id=instrument_id, client_id="ALTDATA"))
    actor = ImportableActorConfig(
        actor_path="tests.adapters.recorder:Recorder",
        config_path="tests.adapters.recorder:RecorderConfig",
        config={"data_types": paths, "client_id": "ALTDATA", "key": "replay"},
    )
    run = BacktestRunConfig(
        engine=BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR"), actors=[actor]),
        venues=[BacktestVenueConfig(name="OKX", oms_type="NETTING", account_type="MARGIN", base_currency=None, starting_balances=["1000 USDT"])],
        data=data,
    )  # fmt: skip
    RECEIVED.pop("replay", None)
    BacktestNode([run]).run()
    received = RECEIVED["replay"]
    assert len(received) == len(records)
    assert [r.ts_init for r in received] == sorted(r.ts_init for r in records)
    for cls, expected in by_type(records).items():
        got = [r for r in received if type(r) is cls]
        assert len(got) == len(expected) and all(same(g, e) for g, e in zip(got, expected, strict=True)), cls.__name__
