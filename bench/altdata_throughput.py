"""Alternative-data benchmark: parsing throughput per adapter, and catalog write/read of 100k custom records.

Run from the repo root (it prints numbers; it is not a test)::

    .venv/bin/python -m bench.altdata_throughput [--records 100000] [--repeats 3] [--json out.json]

What is measured, in one process
--------------------------------
1. **Parsing** (records/s, JSON decoding included): Coinalyze open-interest history (20 symbols x
   2,000 rows, the API's per-request maximum), Whale Alert v1 transaction pages (100 per page) and
   WebSocket alerts, DefiLlama daily supply charts and CoinGecko `/global`. Payloads are built in
   the documented formats (shared/data/API_FORMATS.md) with varied values.
2. **Catalog writes** of `--records` records of `OpenInterest` (one instrument) and of
   `WhaleTransaction` (string-heavy), each into a fresh catalog:
   - *reference*: nautilus's `ParquetDataCatalog.write_data(objects)` with nautilus's own
     per-object encoder (one Arrow batch per object), i.e. what `@customdataclass` gives;
   - `write_data` after `register_fast_arrow` (RaveBear's columnar batch encoder registered
     with nautilus's serializer: same call, one pass over the objects);
   - `AltDataStore.write(objects)` (columnar encoder plus idempotence: key check, merge rules);
   - `AltDataStore.write_table(columns)` straight from parsed columns, no objects at all (what
     a history download of parsed arrays can use).
   Target: at least 5x the reference, and at least 100k records/s.
3. **Catalog reads**: `catalog.query(cls)` with nautilus's default decoder (`from_dict` per row)
   and with RaveBear's columnar decoder; every write path is read back through `catalog.query`
   and compared field by field (NaN equal to NaN) with the objects written.

Figures are the best of `--repeats` runs. The machine has 2 shared cores: expect 10-20 % spread.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

S = 1_000_000_000
T0 = 1_767_225_600  # 2026-01-01 UTC, seconds


def best_rate(count: int, fn: Callable[[], Any], repeats: int, setup: Callable[[], Any] | None = None) -> tuple[float, Any]:
    """Return (best records/s over `repeats` runs, last result); `setup` runs untimed before each run."""
    rates, result = [], None
    for _ in range(repeats):
        if setup is not None:
            setup()
        started = time.perf_counter()
        result = fn()
        rates.append(count / (time.perf_counter() - started))
    return max(rates), result


# -- payloads in the documented formats ----------------------------------------------------------


def coinalyze_history(symbols: int, rows: int) -> str:
    out = []
    for s in range(symbols):
        history = []
        for i in range(rows):
            base = 3e9 + s * 1e7 + i * 1e4
            history.append({"t": T0 + i * 300, "o": base, "h": base * 1.002, "l": base * 0.997, "c": base * 1.001})
        out.append({"symbol": f"COIN{s}USDT_PERP.3", "history": history})
    return json.dumps(out)


def whale_pages(pages: int) -> list[str]:
    rng = random.Random(1)
    out = []
    for p in range(pages):
        transactions = []
        for i in range(100):
            n = p * 100 + i
            transactions.append({
                "blockchain": "ethereum", "symbol": "usdt", "id": str(2_000_000_000 + n), "transaction_type": "transfer",
                "hash": f"0x{n:064x}", "from": {"address": f"0x{rng.getrandbits(160):040x}", "owner": "binance", "owner_type": "exchange"},
                "to": {"address": f"0x{rng.getrandbits(160):040x}", "owner_type": "unknown"}, "timestamp": T0 + n,
                "amount": 1e6 + n, "amount_usd": 1e6 + n, "transaction_count": 1,
            })  # fmt: skip
        out.append(json.dumps({"result": "success", "cursor": f"{p:x}-{p:x}-0", "count": 100, "transactions": transactions}))
    return out


def whale_alerts(count: int) -> list[str]:
    labels = (("Binance", "unknown wallet"), ("unknown wallet", "Coinbase"), ("OKX", "Kraken"))
    return [
        json.dumps({
            "channel_id": "alerts", "timestamp": T0 + i, "blockchain": "tron", "transaction_type": "transfer",
            "from": labels[i % 3][0], "to": labels[i % 3][1], "amounts": [{"symbol": "USDT", "amount": 5e6 + i, "value_usd": 5e6 + i}],
            "text": "5,000,000 #USDT transferred",
        })  # fmt: skip
        for i in range(count)
    ]


def supply_chart(days: int) -> str:
    return json.dumps([
        {"date": str(T0 - (days - i) * 86_400), "totalCirculating": {"peggedUSD": 1e11 + i * 1e8},
         "totalCirculatingUSD": {"peggedUSD": 1e11 + i * 1e8}, "totalUnreleased": {"peggedUSD": 0}}
        for i in range(days)
    ])  # fmt: skip


def global_body() -> str:
    return json.dumps({"data": {"market_cap_percentage": {"btc": 58.9, "eth": 11.8, "usdt": 5.17}, "updated_at": T0}})


def bench_parsing(repeats: int) -> list[tuple[str, int, float]]:
    from ravebear.adapters.coinalyze import parsing as coinalyze
    from ravebear.adapters.stablecoins import parsing as stablecoins
    from ravebear.adapters.whale_alert import parsing as whale
    from ravebear.adapters.whale_alert.config import DEFAULT_EXCHANGE_LABELS

    tiers = (1e6, 1e7, 5e7)
    rows: list[tuple[str, int, float]] = []
    text = coinalyze_history(20, 2000)
    symbols = {f"COIN{s}USDT_PERP.3": f"COIN{s}-USDT-SWAP.OKX" for s in range(20)}
    rate, result = best_rate(40_000, lambda: coinalyze.parse_history(json.loads(text), "open_interest", symbols, "5min", usd=True), repeats)
    assert len(result.records) == 40_000 and not result.errors
    rows.append(("coinalyze OI history (20 x 2000 rows)", 40_000, rate))

    pages = whale_pages(100)
    rate, result = best_rate(10_000, lambda: [r for page in pages for r in whale.parse_transactions(json.loads(page), tiers).records], repeats)
    assert len(result) == 10_000
    rows.append(("whale alert REST pages (100 x 100)", 10_000, rate))

    alerts = whale_alerts(10_000)
    rate, result = best_rate(10_000, lambda: [r for a in alerts for r in whale.parse_alert(json.loads(a), tiers, DEFAULT_EXCHANGE_LABELS).records], repeats)
    assert len(result) == 10_000
    rows.append(("whale alert WebSocket alerts", 10_000, rate))

    chart = supply_chart(3000)
    charts = [chart] * 10
    rate, result = best_rate(30_000, lambda: [r for c in charts for r in stablecoins.parse_supply_chart(json.loads(c), "USDT").records], repeats)
    assert len(result) == 30_000
    rows.append(("defillama supply charts (10 x 3000 days)", 30_000, rate))

    bodies = [global_body()] * 10_000
    rate, result = best_rate(10_000, lambda: [r for b in bodies for r in stablecoins.parse_global_dominance(json.loads(b), ("USDT",)).records], repeats)
    assert len(result) == 10_000
    rows.append(("coingecko /global dominance", 10_000, rate))
    return rows


# -- catalog ---------------------------------------------------------------------------------------


def open_interest_records(count: int) -> tuple[list[Any], dict[str, Any]]:
    import numpy as np
    from nautilus_trader.model.identifiers import InstrumentId

    from ravebear.catalog.alt_data import OpenInterest

    ts = (T0 + 300 + np.arange(count, dtype=np.int64) * 300) * S
    close = 3e9 + np.arange(count) * 1e3
    close[::997] = math.nan  # a few missing values must round-trip too
    columns = {
        "instrument_id": np.full(count, "BTC-USDT-SWAP.OKX", dtype=object), "symbol": np.full(count, "BTCUSDT_PERP.3", dtype=object),
        "open": close * 0.999, "high": close * 1.002, "low": close * 0.997, "close": close,
        "usd": np.ones(count, dtype=bool), "interval_s": np.full(count, 300, dtype=np.int64), "ts_event": ts, "ts_init": ts,
    }  # fmt: skip
    instrument_id = InstrumentId.from_str("BTC-USDT-SWAP.OKX")
    records = [
        OpenInterest(instrument_id=instrument_id, symbol="BTCUSDT_PERP.3", open=float(o), high=float(h), low=float(lo), close=float(c),
                     usd=True, interval_s=300, ts_event=int(t), ts_init=int(t))
        for o, h, lo, c, t in zip(columns["open"], columns["high"], columns["low"], columns["close"], ts, strict=True)
    ]  # fmt: skip
    return records, columns


def whale_records(count: int) -> tuple[list[Any], dict[str, Any]]:
    import numpy as np

    from ravebear.catalog.alt_data import WhaleTransaction

    n = np.arange(count)
    columns: dict[str, Any] = {
        "transaction_id": [str(2_000_000_000 + i) for i in range(count)], "blockchain": ["ethereum"] * count, "symbol": ["usdt"] * count,
        "transaction_type": ["transfer"] * count, "hash": [f"0x{i:064x}" for i in range(count)], "amount": 1e6 + n * 1.0,
        "amount_usd": 1e6 + n * 1.0, "from_address": [f"0x{i * 7919:040x}" for i in range(count)], "from_owner": ["binance"] * count,
        "from_owner_type": ["exchange"] * count, "to_address": [f"0x{i * 104729:040x}" for i in range(count)], "to_owner": [""] * count,
        "to_owner_type": ["unknown"] * count, "tier": np.ones(count, dtype=np.int64), "flow": ["exchange_outflow"] * count,
        "source": ["rest"] * count, "ts_event": (T0 + n) * S, "ts_init": (T0 + n) * S,
    }  # fmt: skip
    names = [k for k in columns if k not in ("ts_event", "ts_init")]
    records = []
    for i in range(count):
        values = {k: (columns[k][i].item() if hasattr(columns[k][i], "item") else columns[k][i]) for k in names}
        records.append(WhaleTransaction(**values, ts_event=int(columns["ts_event"][i]), ts_init=int(columns["ts_init"][i])))
    return records, columns


def same_records(a: list[Any], b: list[Any]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        dx, dy = x.to_dict(), y.to_dict()
        for key, value in dx.items():
            other = dy.get(key)
            if isinstance(value, float) and math.isnan(value):
                if not (isinstance(other, float) and math.isnan(other)):
                    return False
            elif value != other:
                return False
    return True


def bench_catalog(cls_name: str, count: int, repeats: int) -> dict[str, Any]:
    from nautilus_trader.persistence.catalog import ParquetDataCatalog
    from nautilus_trader.serialization.arrow import serializer

    from ravebear.catalog import alt_data
    from ravebear.catalog.alt_data import AltDataStore, columns_to_table, register_fast_arrow

    cls = getattr(alt_data, cls_name)
    records, columns = (open_interest_records if cls_name == "OpenInterest" else whale_records)(count)
    identifier = "BTC-USDT-SWAP.OKX" if cls_name == "OpenInterest" else None
    root = Path(tempfile.mkdtemp(prefix="altdata-bench-"))
    out: dict[str, Any] = {"type": cls_name, "records": count, "write": {}, "read": {}}

    def fresh(name: str) -> Path:
        path = root / name
        shutil.rmtree(path, ignore_errors=True)
        return path

    def nautilus_default() -> None:  # what @customdataclass registers: per-object encoder, per-row from_dict decoder
        serializer._ARROW_BATCH_ENCODERS.pop(cls, None)
        serializer.register_arrow(cls, cls._schema, encoder=cls.to_arrow, decoder=cls.from_arrow)

    def query(path: Path) -> list[Any]:
        rows = ParquetDataCatalog(str(path)).query(cls, identifiers=[identifier] if identifier else None)
        return [row.data for row in rows]

    try:
        nautilus_default()
        reference = best_rate(count, lambda: ParquetDataCatalog(str(root / "ref")).write_data(records), repeats, lambda: fresh("ref"))[0]
        out["write"]["reference: write_data, nautilus per-object encoder"] = reference
        read_default, read_back = best_rate(count, lambda: query(root / "ref"), repeats)
        out["read"]["query, nautilus per-row decoder"] = read_default
        out["roundtrip_reference"] = same_records(read_back, records)

        register_fast_arrow(cls)
        rate = best_rate(count, lambda: ParquetDataCatalog(str(root / "fast")).write_data(records), repeats, lambda: fresh("fast"))[0]
        out["write"]["write_data, RaveBear columnar encoder"] = rate
        rate = best_rate(count, lambda: AltDataStore(root / "store").write(records), repeats, lambda: fresh("store"))[0]
        out["write"]["AltDataStore.write(objects)"] = rate
        rate = best_rate(count, lambda: AltDataStore(root / "cols").write_table(cls, columns_to_table(cls, columns), identifier), repeats, lambda: fresh("cols"))[0]
        out["write"]["AltDataStore.write_table(columns), no objects"] = rate

        read_fast, fast_back = best_rate(count, lambda: query(root / "cols"), repeats)
        out["read"]["query, RaveBear columnar decoder"] = read_fast
        out["roundtrip_columnar"] = same_records(fast_back, records)
        out["roundtrip_all_paths"] = all(same_records(query(root / name), records) for name in ("fast", "store"))
        out["same_files_as_nautilus"] = sorted(p.name for p in (root / "ref").rglob("*.parquet")) == sorted(p.name for p in (root / "cols").rglob("*.parquet"))
    finally:
        register_fast_arrow(cls)
        shutil.rmtree(root, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000, help="records per catalog benchmark")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (best is reported)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args()

    import nautilus_trader.persistence.catalog  # noqa: F401 - imported before any clock starts

    figures: dict[str, Any] = {"parsing": [], "catalog": []}
    print("parsing (JSON decode included)")
    for name, count, rate in bench_parsing(args.repeats):
        figures["parsing"].append({"payload": name, "records": count, "records_per_s": rate})
        print(f"  {name:<44} {rate:>12,.0f} records/s")
    for cls_name in ("OpenInterest", "WhaleTransaction"):
        result = bench_catalog(cls_name, args.records, args.repeats)
        figures["catalog"].append(result)
        reference = next(iter(result["write"].values()))
        print(f"\ncatalog {cls_name}, {args.records:,} records")
        for name, rate in result["write"].items():
            ratio = rate / reference
            verdict = "" if name.startswith("reference") else ("  ok (>= 5x, >= 100k/s)" if ratio >= 5 and rate >= 100_000 else "  below target")
            print(f"  write {name:<52} {rate:>12,.0f} records/s {ratio:>6.1f}x{verdict}")
        for name, rate in result["read"].items():
            print(f"  read  {name:<52} {rate:>12,.0f} records/s")
        checks = ("roundtrip_reference", "roundtrip_columnar", "roundtrip_all_paths", "same_files_as_nautilus")
        print("  checks: " + ", ".join(f"{c}={result[c]}" for c in checks))
    best = [max(r["write"].values()) / next(iter(r["write"].values())) for r in figures["catalog"]]
    print(f"\nbest write speed-up over the reference: {statistics.median(best):.1f}x (median over types)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
