"""A BacktestNode on the bundled OKX sample replays alternative data from the catalog into an actor alongside bars."""

from __future__ import annotations

import math
from pathlib import Path

from nautilus_trader.model.data import Bar
from nautilus_trader.model.identifiers import InstrumentId

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
from tests.adapters.test_alt_data_catalog import same

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample" / "okx_swap_BTC-USDT-SWAP_1m_20260727_20260822_gappy.parquet"
BAR_TYPE = "BTC-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL"
BTC = InstrumentId.from_str("BTC-USDT-SWAP.OKX")
S = 1_000_000_000
FIRST_OPEN = 1_785_151_200 * S  # the sample's first candle opens 2026-07-27 11:20 UTC
END = FIRST_OPEN + 2370 * S  # 2026-07-27 11:59:30 UTC, between two bar closes


def records_in_sample_window() -> list:
    """Three records of every type (settled and predicted funding), each at its own time, never on a bar close.

    Record j is stamped 90.5 + 61 * j seconds after the first open: half a minute and more past
    a minute boundary, so each one falls strictly between two bar closes (11:21:30.5 to 11:41:50.5).
    """
    out: list = []
    j = 0

    def ts() -> int:
        nonlocal j
        stamp = FIRST_OPEN + 90 * S + S // 2 + 61 * S * j
        j += 1
        return stamp

    for i in range(3):
        t = ts()
        out.append(OpenInterest(instrument_id=BTC, symbol="BTCUSDT_PERP.3", open=3e9 + i, high=3.1e9 + i, low=2.9e9, close=3.05e9 + i, usd=True, interval_s=60, ts_event=t, ts_init=t))
        t = ts()
        out.append(FundingRate(instrument_id=BTC, symbol="BTCUSDT_PERP.3", open=1e-4, high=2e-4, low=-1e-4, close=1e-4 * (i + 1), predicted=i == 1, interval_s=60, ts_event=t, ts_init=t))
        t = ts()
        out.append(LongShortRatio(instrument_id=BTC, symbol="BTCUSDT_PERP.3", ratio=1.25 + i, long_percent=55.0 + i, short_percent=45.0 - i, interval_s=60, ts_event=t, ts_init=t))
        t = ts()
        out.append(Liquidation(instrument_id=BTC, symbol="BTCUSDT_PERP.3", long_liquidations=1000.5 * (i + 1), short_liquidations=math.nan if i == 2 else 77.0 + i, usd=True, interval_s=60, ts_event=t, ts_init=t))
        t = ts()
        out.append(WhaleTransaction(
            transaction_id=f"wtx{i}", blockchain="bitcoin", symbol="btc", transaction_type="transfer", hash=f"0x{i + 7:064x}",
            amount=250.0 + i, amount_usd=2.5e7 + i, from_address="bc1qsrc", from_owner="", from_owner_type="unknown",
            to_address="bc1qdst", to_owner="okx", to_owner_type="exchange", tier=2, flow="exchange_inflow", source="rest",
            ts_event=t, ts_init=t,
        ))  # fmt: skip
        t = ts()
        out.append(StablecoinSupply(asset="USDT", circulating_usd=1.84e11 + i * 1e8, net_flow_usd=1e8 if i else math.nan, interval_s=86_400, source="defillama", ts_event=t, ts_init=t))
        t = ts()
        out.append(Dominance(asset="USDT", percent=5.1 + i / 10, source="coingecko", ts_event=t, ts_init=t))
    return out


def test_backtest_on_the_sample_replays_alt_data_alongside_bars(tmp_path: Path):
    from nautilus_trader.backtest.node import BacktestNode
    from nautilus_trader.config import (
        BacktestDataConfig,
        BacktestEngineConfig,
        BacktestRunConfig,
        BacktestVenueConfig,
        ImportableActorConfig,
        LoggingConfig,
    )

    catalog = RaveCatalog(tmp_path)
    assert catalog.import_file(SAMPLE, "BTC-USDT-SWAP").written > 0
    bars = catalog.bars(BAR_TYPE, end=END)
    assert bars and bars[0].ts_event == FIRST_OPEN + 60 * S  # bars are stamped at their close
    records = records_in_sample_window()
    assert {type(r) for r in records} == set(ALT_DATA_TYPES)
    assert AltDataStore(catalog).write(records).written == len(records)

    paths = [f"{cls.__module__}:{cls.__name__}" for cls in ALT_DATA_TYPES]
    data = [BacktestDataConfig(catalog_path=str(tmp_path), data_cls="nautilus_trader.model.data:Bar", instrument_id=BTC.value, bar_types=[BAR_TYPE], end_time=END)]
    for path, cls in zip(paths, ALT_DATA_TYPES, strict=True):
        instrument_id = BTC.value if hasattr(next(r for r in records if type(r) is cls), "instrument_id") else None
        data.append(BacktestDataConfig(catalog_path=str(tmp_path), data_cls=path, instrument_id=instrument_id, client_id="ALTDATA"))
    actor = ImportableActorConfig(
        actor_path="tests.adapters.recorder:Recorder",
        config_path="tests.adapters.recorder:RecorderConfig",
        config={"data_types": paths, "client_id": "ALTDATA", "key": "replay_bars", "bar_types": [BAR_TYPE]},
    )
    run = BacktestRunConfig(
        engine=BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR"), actors=[actor]),
        venues=[BacktestVenueConfig(name="OKX", oms_type="NETTING", account_type="MARGIN", base_currency=None, starting_balances=["1000 USDT"])],
        data=data,
        end=END,
    )  # fmt: skip
    RECEIVED.pop("replay_bars", None)
    BacktestNode([run]).run()
    received = RECEIVED["replay_bars"]

    got_bars = [r for r in received if isinstance(r, Bar)]
    assert [(b.ts_event, b.close) for b in got_bars] == [(b.ts_event, b.close) for b in bars]
    got_records = [r for r in received if not isinstance(r, Bar)]
    assert len(got_records) == len(records)  # every record, each with its values
    for cls in ALT_DATA_TYPES:
        expected = [r for r in records if type(r) is cls]
        got = [r for r in got_records if type(r) is cls]
        assert len(got) == len(expected) and all(same(g, e) for g, e in zip(got, expected, strict=True)), cls.__name__
    funding = [r for r in got_records if type(r) is FundingRate]
    assert [r.predicted for r in funding] == [False, True, False]

    # one merged stream in time order: no time stamp is shared, so the order is fully determined
    assert [r.ts_init for r in received] == sorted(r.ts_init for r in [*bars, *records])
    bar_at = {r.ts_event: k for k, r in enumerate(received) if isinstance(r, Bar)}  # bar close time -> arrival position
    for record in records:
        position = next(k for k, r in enumerate(received) if type(r) is type(record) and same(r, record))
        before = max(t for t in bar_at if t < record.ts_init)  # the last bar closed before the record
        after = min(t for t in bar_at if t > record.ts_init)  # the first bar closed after it
        assert bar_at[before] < position < bar_at[after], type(record).__name__
