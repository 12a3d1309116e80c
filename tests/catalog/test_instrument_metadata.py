"""Instrument definitions from the exchange's own metadata (`ravebear catalog instrument add/list`).

Against local servers on 127.0.0.1: the OKX v5 server of tests/okx_candle_server.py (its
`public/instruments` rows in OKX's documented shape, DOGE-USDT-SWAP and the spot pairs included)
and a small Binance server answering `exchangeInfo` in Binance's documented shape, reached through
ccxt by overriding its `urls['api']`. Bad input gets one line and an exit code: 2 for an instrument
the exchange does not list, 1 for a failed fetch (429, broken JSON, nobody listening).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ravebear.catalog.download import download_candles
from ravebear.catalog.instrument_metadata import (
    fetch_ccxt_instrument,
    fetch_okx_instrument,
    okx_instrument,
    okx_state_note,
)
from ravebear.catalog.instruments import instrument_for, okx_swap
from ravebear.catalog.store import RaveCatalog
from tests.okx_candle_server import (
    Faults,
    OkxCandleServer,
    listed_instruments,
    load_candles,
)
from tests.redis_server import free_port

REPO = Path(__file__).resolve().parents[2]


def ravebear(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ravebear.platform.cli", *args],
        check=False, capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
    )  # fmt: skip


def terms(instrument) -> dict:
    """Every field of a nautilus instrument (its `==` compares ids only)."""
    return type(instrument).to_dict(instrument)


def okx_row(inst_type: str, inst_id: str) -> dict[str, str]:
    return next(row for row in listed_instruments(inst_type) if row["instId"] == inst_id)


@pytest.fixture(scope="module")
def okx() -> Iterator[OkxCandleServer]:
    with OkxCandleServer() as server:
        yield server


@pytest.fixture
def okx_ok(okx: OkxCandleServer) -> OkxCandleServer:
    okx.reset()
    return okx


# -- a Binance exchangeInfo server (spot; the USD-M and COIN-M lists are empty) ---------------------


def binance_spot_symbol(symbol: str, base: str, quote: str, tick: str, step: str, min_qty: str) -> dict:
    """One `GET /api/v3/exchangeInfo` symbol as Binance documents it."""
    return {
        "symbol": symbol, "status": "TRADING", "baseAsset": base, "baseAssetPrecision": 8, "quoteAsset": quote,
        "quotePrecision": 8, "quoteAssetPrecision": 8, "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True, "ocoAllowed": True, "otoAllowed": True, "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True, "cancelReplaceAllowed": True, "isSpotTradingAllowed": True, "isMarginTradingAllowed": True,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000.00000000", "tickSize": tick},
            {"filterType": "LOT_SIZE", "minQty": min_qty, "maxQty": "9000000000.00000000", "stepSize": step},
            {"filterType": "NOTIONAL", "minNotional": "1.00000000", "applyMinToMarket": True, "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
        ],
        "permissions": [], "permissionSets": [["SPOT", "MARGIN"]], "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }  # fmt: skip


DOGEUSDT = binance_spot_symbol("DOGEUSDT", "DOGE", "USDT", "0.00001000", "1.00000000", "1.00000000")


class BinanceServer:
    """`/api/v3/exchangeInfo` (DOGEUSDT), `/fapi/v1/exchangeInfo` and `/dapi/v1/exchangeInfo` (empty); `mode` "garbage" breaks the JSON."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.paths: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                owner.paths.append(path)
                if not path.endswith("/exchangeInfo"):
                    self.send_response(404)
                    self.end_headers()
                    return
                symbols = [DOGEUSDT] if path == "/api/v3/exchangeInfo" else []
                body = json.dumps({"timezone": "UTC", "serverTime": 1765000000000, "rateLimits": [], "exchangeFilters": [], "symbols": symbols})
                if owner.mode == "garbage":
                    body = body[: len(body) // 2]
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> BinanceServer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def binance() -> Iterator[BinanceServer]:
    with BinanceServer() as server:
        yield server


# -- building instruments from the rows ---------------------------------------------------------------


def test_an_okx_swap_row_builds_what_the_bundled_definition_holds(okx_ok):
    fetched = fetch_okx_instrument("BTC-USDT-SWAP", okx_ok.url)
    bundled = okx_swap("BTC-USDT-SWAP")
    keys = ("id", "price_increment", "size_increment", "min_quantity", "multiplier", "margin_init", "maker_fee", "taker_fee", "settlement_currency", "is_inverse")
    assert {k: getattr(fetched, k) for k in keys} == {k: getattr(bundled, k) for k in keys}
    assert okx_ok.requests[-1].query == {"instType": "SWAP", "instId": "BTC-USDT-SWAP"}


def test_an_okx_swap_beyond_the_bundled_ones_takes_its_contract_terms_from_the_row(okx_ok):
    row = okx_row("SWAP", "DOGE-USDT-SWAP")
    doge = fetch_okx_instrument("DOGE-USDT-SWAP", okx_ok.url)
    assert type(doge).__name__ == "CryptoPerpetual" and doge.id.value == "DOGE-USDT-SWAP.OKX"
    assert doge.multiplier.as_decimal() == Decimal(row["ctVal"]) * Decimal(row["ctMult"])  # DOGE per contract
    assert (str(doge.price_increment), str(doge.size_increment), str(doge.min_quantity)) == (row["tickSz"], row["lotSz"], row["minSz"])
    assert (doge.price_precision, doge.size_precision) == (5, 2)
    assert doge.margin_init == Decimal(1) / Decimal(row["lever"])
    assert (doge.base_currency.code, doge.quote_currency.code, doge.settlement_currency.code) == ("DOGE", "USDT", row["settleCcy"])
    assert (doge.maker_fee, doge.taker_fee) == (Decimal("0.0002"), Decimal("0.0005"))  # OKX Lv1 swap tier, not the API


def test_an_okx_spot_row_is_a_currency_pair_in_base_units():
    row = okx_row("SPOT", "DOGE-USDT")
    pair = okx_instrument(row)
    assert type(pair).__name__ == "CurrencyPair" and pair.id.value == "DOGE-USDT.OKX"
    assert (pair.base_currency.code, pair.quote_currency.code, pair.get_settlement_currency().code) == (row["baseCcy"], row["quoteCcy"], "USDT")
    assert (str(pair.price_increment), str(pair.size_increment), str(pair.min_quantity)) == (row["tickSz"], row["lotSz"], row["minSz"])
    assert (pair.maker_fee, pair.taker_fee) == (Decimal("0.0008"), Decimal("0.0010"))  # OKX Lv1 spot tier
    assert str(pair.multiplier) == "1"


def test_an_instrument_okx_does_not_list_as_live_is_named():
    row = okx_row("SWAP", "DOGE-USDT-SWAP")
    assert okx_state_note(row) is None
    assert okx_state_note({**row, "state": "suspend"}) == "OKX lists DOGE-USDT-SWAP as 'suspend', not 'live': its definition is stored, but OKX will not trade it now"


def test_a_ccxt_market_uses_the_exchanges_tick_size_precision(binance):
    doge = fetch_ccxt_instrument("binance", "DOGE/USDT", binance.url)
    assert {"/api/v3/exchangeInfo", "/fapi/v1/exchangeInfo", "/dapi/v1/exchangeInfo"} <= set(binance.paths)
    assert type(doge).__name__ == "CurrencyPair" and doge.id.value == "DOGEUSDT.BINANCE"
    # binance is a TICK_SIZE exchange in ccxt: PRICE_FILTER tickSize and LOT_SIZE stepSize are the increments
    assert Decimal(str(doge.price_increment)) == Decimal(DOGEUSDT["filters"][0]["tickSize"])
    assert Decimal(str(doge.size_increment)) == Decimal(DOGEUSDT["filters"][1]["stepSize"])
    assert Decimal(str(doge.min_quantity)) == Decimal(DOGEUSDT["filters"][1]["minQty"])
    assert (doge.price_precision, doge.size_precision) == (5, 0)


# -- the CLI ----------------------------------------------------------------------------------------


def test_cli_adds_okx_swap_and_spot_and_lists_them(okx_ok, tmp_path):
    catalog = str(tmp_path / "cat")
    done = ravebear("catalog", "instrument", "add", "OKX:DOGE-USDT-SWAP", "OKX:DOGE-USDT", "--url", okx_ok.url, "--catalog", catalog)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"DOGE-USDT-SWAP.OKX: added in {catalog} (CryptoPerpetual, tick 0.00001, lot 0.01 contracts, min 0.01 contracts, multiplier 1000, settles in USDT, maker 2 bps, taker 5 bps)")
    assert lines[1].startswith(f"DOGE-USDT.OKX: added in {catalog} (CurrencyPair, tick 0.00001, lot 0.000001 DOGE, min 10 DOGE,")
    store = RaveCatalog(catalog)
    assert store.instrument_ids() == ["DOGE-USDT-SWAP.OKX", "DOGE-USDT.OKX"]
    assert terms(store.instrument("DOGE-USDT-SWAP.OKX")) == terms(fetch_okx_instrument("DOGE-USDT-SWAP", okx_ok.url))

    again = ravebear("catalog", "instrument", "add", "OKX:DOGE-USDT-SWAP", "--url", okx_ok.url, "--catalog", catalog)
    assert again.stdout.startswith("DOGE-USDT-SWAP.OKX: unchanged")
    tier = ravebear("catalog", "instrument", "add", "OKX:DOGE-USDT-SWAP", "--taker-fee-bps", "4", "--url", okx_ok.url, "--catalog", catalog)
    assert tier.returncode == 0 and tier.stdout.startswith("DOGE-USDT-SWAP.OKX: replaced") and "taker 4 bps" in tier.stdout
    assert RaveCatalog(catalog).instrument("DOGE-USDT-SWAP.OKX").taker_fee == Decimal("0.0004")
    assert RaveCatalog(catalog).instrument_ids() == ["DOGE-USDT-SWAP.OKX", "DOGE-USDT.OKX"]  # replaced, not doubled

    bundled = ravebear("catalog", "instrument", "add", "OKX:BTC-USDT-SWAP", "--url", okx_ok.url, "--catalog", catalog)
    assert bundled.stdout == "BTC-USDT-SWAP.OKX: bundled (works offline); nothing fetched\n"

    listing = ravebear("catalog", "instrument", "list", "--catalog", catalog)
    assert listing.returncode == 0
    assert "bundled (9, offline):" in listing.stdout and "  BTCUSDT.BINANCE              CurrencyPair" in listing.stdout
    assert f"in the catalog at {catalog} (2):" in listing.stdout
    assert "  DOGE-USDT-SWAP.OKX           CryptoPerpetual, tick 0.00001" in listing.stdout


def test_cli_adds_a_ccxt_market(binance, tmp_path):
    catalog = str(tmp_path / "cat")
    done = ravebear("catalog", "instrument", "add", "binance:DOGEUSDT", "--url", binance.url, "--catalog", catalog)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"DOGEUSDT.BINANCE: added in {catalog} (CurrencyPair, tick 0.00001, lot 1 DOGE, min 1 DOGE")
    assert RaveCatalog(catalog).instrument_ids() == ["DOGEUSDT.BINANCE"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["OKX:PEPE-USDT-SWAP"], 2, "error: OKX:PEPE-USDT-SWAP: OKX does not list PEPE-USDT-SWAP (Instrument ID does not exist, code 51001)"),
        (["OKX:DOGE-USDT-250926"], 2, "error: OKX:DOGE-USDT-250926: OKX instrument 'DOGE-USDT-250926': give a swap like DOGE-USDT-SWAP or a spot pair like DOGE-USDT (futures and options are not supported)"),
        (["DOGE-USDT-SWAP"], 2, "error: 'DOGE-USDT-SWAP': give EXCHANGE:SYMBOL, e.g. OKX:DOGE-USDT-SWAP, OKX:DOGE-USDT or binance:BTC/USDT"),
        (["OKX:DOGE-USDT-SWAP", "--maker-fee-bps", "500"], 2, "error: --maker-fee-bps 500: a fee tier is between -100 and 100 bps"),
        (["nosuchexchange:BTC/USDT"], 2, "error: nosuchexchange:BTC/USDT: unknown ccxt exchange 'nosuchexchange'"),
    ],
)
def test_cli_refuses_bad_input_in_one_line(okx_ok, tmp_path, args, code, message):
    done = ravebear("catalog", "instrument", "add", *args, "--url", okx_ok.url, "--catalog", str(tmp_path / "cat"))
    assert (done.returncode, done.stderr, done.stdout) == (code, message + "\n", "")
    assert not (tmp_path / "cat" / "data").exists()  # nothing stored


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("rate_limited", "error: OKX:DOGE-USDT: OKX /api/v5/public/instruments for DOGE-USDT: rate limited (HTTP 429, Retry-After 2 s); try again later"),
        ("garbage", "error: OKX:DOGE-USDT: OKX /api/v5/public/instruments for DOGE-USDT: the answer is not JSON (b'<html>502 Bad Gateway</html>')"),
    ],
)
def test_cli_reports_a_failed_okx_fetch_in_one_line(okx, tmp_path, fault, message):
    okx.reset(Faults(instruments=fault))
    done = ravebear("catalog", "instrument", "add", "OKX:DOGE-USDT", "--url", okx.url, "--catalog", str(tmp_path / "cat"))
    assert (done.returncode, done.stderr, done.stdout) == (1, message + "\n", "")
    assert [r.status for r in okx.requests] == [429 if fault == "rate_limited" else 200]


def test_cli_reports_nobody_listening_and_a_broken_ccxt_answer(binance, tmp_path):
    port = free_port()
    nobody = ravebear("catalog", "instrument", "add", "OKX:DOGE-USDT", "--url", f"http://127.0.0.1:{port}", "--catalog", str(tmp_path / "cat"))
    assert nobody.returncode == 1
    assert nobody.stderr.startswith(f"error: OKX:DOGE-USDT: OKX /api/v5/public/instruments for DOGE-USDT: cannot connect to http://127.0.0.1:{port} (")
    assert nobody.stderr.count("\n") == 1

    binance.mode = "garbage"
    broken = ravebear("catalog", "instrument", "add", "binance:DOGEUSDT", "--url", binance.url, "--catalog", str(tmp_path / "cat"))
    assert broken.returncode == 1 and broken.stderr.startswith("error: binance:DOGEUSDT: binance markets: the answer is not JSON (")
    assert broken.stderr.count("\n") == 1 and "Traceback" not in broken.stderr
    binance.mode = "ok"
    unknown = ravebear("catalog", "instrument", "add", "binance:PEPE/USDT", "--url", binance.url, "--catalog", str(tmp_path / "cat"))
    assert (unknown.returncode, unknown.stderr) == (2, "error: binance:PEPE/USDT: binance has no market 'PEPE/USDT' (give its id like BTCUSDT or a ccxt symbol like BTC/USDT)\n")


# -- lookups and downloads find the stored definitions ----------------------------------------------


def test_lookups_consult_the_catalog_after_the_bundled_definitions(okx_ok, tmp_path):
    store = RaveCatalog(tmp_path / "cat")
    with pytest.raises(ValueError, match=r"unknown instrument 'DOGE-USDT-SWAP': not one of the bundled .* add it with `ravebear catalog instrument add OKX:DOGE-USDT-SWAP`"):
        instrument_for("DOGE-USDT-SWAP", store)
    assert ravebear("catalog", "instrument", "add", "OKX:DOGE-USDT-SWAP", "--url", okx_ok.url, "--catalog", str(store.path)).returncode == 0
    doge = instrument_for("DOGE-USDT-SWAP", store)
    assert doge.id.value == "DOGE-USDT-SWAP.OKX" and str(doge.multiplier) == "1000"
    assert terms(instrument_for("DOGE-USDT-SWAP.OKX", store.nautilus)) == terms(doge)  # a nautilus catalog too (the paper replay's)
    assert terms(instrument_for("BTC-USDT-SWAP", store)) == terms(okx_swap("BTC-USDT-SWAP"))  # bundled first


def test_download_of_an_added_spot_pair_uses_its_stored_definition(tmp_path):
    # real OKX BTC candles served as the spot pair BTC-USDT (vol in base units, as OKX spot candles give it)
    candles = load_candles()
    candles = candles.assign(volume_contracts=candles["volume"])
    with OkxCandleServer(candles=candles, candle_inst_id="BTC-USDT") as okx:
        store = RaveCatalog(tmp_path / "cat")
        added = ravebear("catalog", "instrument", "add", "OKX:BTC-USDT", "--taker-fee-bps", "7", "--url", okx.url, "--catalog", str(store.path))
        assert added.returncode == 0, added.stderr
        start = int(candles["ts"].iloc[0])
        result = download_candles(store, "BTC-USDT", since_ms=start, until_ms=start + 240 * 60_000, rest_url=okx.url, progress=False, backoff_s=0.0)
    served = candles[(candles["ts"] >= start) & (candles["ts"] < start + 240 * 60_000)]
    assert result.bar_type == "BTC-USDT.OKX-1-MINUTE-LAST-EXTERNAL"
    assert result.written == len(served) > 100
    kept = store.instrument("BTC-USDT.OKX")
    assert kept.taker_fee == Decimal("0.0007")  # the added definition, not one rebuilt from ccxt's market
    bars = store.bars(result.bar_type)
    assert [round(b.close.as_double(), 1) for b in bars] == [round(c, 1) for c in served["close"]]
    assert {b.volume.precision for b in bars} == {kept.size_precision}


def test_catalog_import_names_an_added_instrument(okx_ok, tmp_path):
    catalog = str(tmp_path / "cat")
    refused = ravebear("catalog", "import", str(tmp_path / "x.parquet"), "-i", "BTC-USDT.OKX", "--catalog", catalog)
    assert refused.returncode != 0 and "add it with `ravebear catalog instrument add OKX:BTC-USDT`" in refused.stderr
    assert ravebear("catalog", "instrument", "add", "OKX:BTC-USDT", "--url", okx_ok.url, "--catalog", catalog).returncode == 0
    # a day of the real OKX BTC candles, volume in BTC (a spot pair counts base units, not contracts)
    day = load_candles().iloc[:1440].drop(columns=["volume_contracts"])
    day.to_parquet(tmp_path / "btc.parquet")
    done = ravebear("catalog", "import", str(tmp_path / "btc.parquet"), "-i", "BTC-USDT.OKX", "--catalog", catalog)
    assert done.returncode == 0, done.stderr
    assert f"{len(day)} bars written" in done.stdout and "-> BTC-USDT.OKX-1-MINUTE-LAST-EXTERNAL" in done.stdout
    bars = RaveCatalog(catalog).bars("BTC-USDT.OKX-1-MINUTE-LAST-EXTERNAL")
    assert [round(b.volume.as_double(), 8) for b in bars] == [round(v, 8) for v in day["volume"]]


def test_a_download_of_an_okx_pair_nobody_added_keeps_the_definition_add_would_fetch(tmp_path):
    candles = load_candles()
    candles = candles.assign(volume_contracts=candles["volume"])
    with OkxCandleServer(candles=candles, candle_inst_id="BTC-USDT") as okx:
        store = RaveCatalog(tmp_path / "cat")
        start = int(candles["ts"].iloc[0])
        result = download_candles(store, "BTC-USDT", since_ms=start, until_ms=start + 60 * 60_000, rest_url=okx.url, progress=False, backoff_s=0.0)
        expected = fetch_okx_instrument("BTC-USDT", okx.url)
    assert result.written > 30
    assert terms(store.instrument("BTC-USDT.OKX")) == terms(expected)  # OKX's own row, Lv1 spot fees: not ccxt's guesses
    assert (expected.maker_fee, expected.taker_fee, str(expected.min_quantity)) == (Decimal("0.0008"), Decimal("0.0010"), okx_row("SPOT", "BTC-USDT")["minSz"])
