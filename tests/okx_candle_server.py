"""A local OKX v5 REST server for tests: instruments, system time and 1-minute candles.

Responses follow the documented OKX v5 format (shared/data/API_FORMATS.md, the OKX v5 docs as
quoted in ccxt's okx.py) and the candles of the real data file `DATA_FILE`; they are not a
live capture. Instrument records use OKX's field names with the contract terms of
`ravebear.catalog.instruments.OKX_SWAPS`, plus DOGE-USDT-SWAP and the spot pairs BTC-USDT and
DOGE-USDT (`instId` filters; an unlisted one answers code 51001); only BTC-USDT-SWAP has candles.

Candle endpoints (`/api/v5/market/candles`, `/api/v5/market/history-candles`): `instId`
required, `bar` must be `1m`, `limit` default 100 and silently capped at 300 / 100, `after` =
rows older than ts, `before` = rows newer than ts, answer = the newest `limit` matching rows,
newest first, every value a string, `[ts,o,h,l,c,vol,volCcy,volCcyQuote,confirm]` with `vol` in
contracts, `volCcy` in BTC and `volCcyQuote` = volCcy x close (derived: the file has no quote
volume). Only candles opening at or before the server's `now_ms` exist; the one still open at
`now_ms` has `confirm` "0". `market/candles` serves only the latest 1,440 candles.

Faults (`Faults`) select candle requests by number: 1-based, counting only the two candle
endpoints since the last `reset`. Every request is recorded in `requests`.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd
from aiohttp import web

# The real OKX file, bundled unchanged from shared/data/ohlcv_1m/ (see data/sample/SOURCE.md).
DATA_FILE = Path(__file__).resolve().parents[1] / "data" / "sample" / "okx_swap_BTC-USDT-SWAP_1m_20260727_20260822_gappy.parquet"
CANDLE_PATHS = ("/api/v5/market/candles", "/api/v5/market/history-candles")
MAX_LIMIT = {"/api/v5/market/candles": 300, "/api/v5/market/history-candles": 100}
RECENT_CANDLES = 1440
MINUTE_MS = 60_000

# OKX `GET /api/v5/public/instruments?instType=SWAP` records (field names as OKX documents them).
_SWAPS = {
    # instId: (ctVal, ctValCcy, tickSz, lotSz, minSz, lever, listTime)
    "BTC-USDT-SWAP": ("0.01", "BTC", "0.1", "0.01", "0.01", "100", "1573557408000"),
    "ETH-USDT-SWAP": ("0.1", "ETH", "0.01", "0.01", "0.01", "100", "1573557408000"),
    "SOL-USDT-SWAP": ("1", "SOL", "0.01", "0.01", "0.01", "50", "1610435600000"),
}


def swap_instruments(extra: dict[str, tuple[str, ...]] | None = None) -> list[dict[str, str]]:
    """Return OKX instrument records for BTC/ETH/SOL-USDT-SWAP (and `extra` swaps)."""
    out = []
    for inst_id, (ct_val, ct_ccy, tick, lot, min_sz, lever, listed) in {**_SWAPS, **(extra or {})}.items():
        family = inst_id.removesuffix("-SWAP")
        out.append(
            {
                "instType": "SWAP", "instId": inst_id, "uly": family, "instFamily": family,
                "baseCcy": "", "quoteCcy": "", "settleCcy": "USDT", "category": "1",
                "ctVal": ct_val, "ctMult": "1", "ctValCcy": ct_ccy, "ctType": "linear",
                "tickSz": tick, "lotSz": lot, "minSz": min_sz, "lever": lever,
                "listTime": listed, "contTdSwTime": listed, "expTime": "", "state": "live",
                "alias": "", "optType": "", "stk": "", "ruleType": "normal",
                "maxLmtSz": "100000000", "maxMktSz": "12000", "maxLmtAmt": "20000000",
                "maxMktAmt": "", "maxTwapSz": "100000000", "maxIcebergSz": "100000000",
                "maxTriggerSz": "100000000", "maxStopSz": "12000",
            },
        )
    return out


# Instruments listed but without candles here: a swap and spot pairs beyond the bundled nine, in the
# shape OKX documents for `public/instruments` (a SPOT row leaves the contract fields empty).
_EXTRA_SWAPS = {"DOGE-USDT-SWAP": ("1000", "DOGE", "0.00001", "0.01", "0.01", "50", "1611916828000")}
_SPOTS = {
    # instId: (tickSz, lotSz, minSz, lever, listTime)
    "BTC-USDT": ("0.1", "0.00000001", "0.00001", "10", "1548133413000"),
    "DOGE-USDT": ("0.00001", "0.000001", "10", "10", "1548133413000"),
}


def spot_instruments() -> list[dict[str, str]]:
    """Return OKX SPOT instrument records (BTC-USDT, DOGE-USDT)."""
    out = []
    for inst_id, (tick, lot, min_sz, lever, listed) in _SPOTS.items():
        base, quote = inst_id.split("-")
        out.append(
            {
                "instType": "SPOT", "instId": inst_id, "uly": "", "instFamily": "", "baseCcy": base, "quoteCcy": quote,
                "settleCcy": "", "category": "1", "ctVal": "", "ctMult": "", "ctValCcy": "", "ctType": "",
                "tickSz": tick, "lotSz": lot, "minSz": min_sz, "lever": lever, "listTime": listed, "contTdSwTime": "",
                "expTime": "", "state": "live", "alias": "", "optType": "", "stk": "", "ruleType": "normal",
                "maxLmtSz": "9999999999", "maxMktSz": "1000000", "maxLmtAmt": "20000000", "maxMktAmt": "1000000",
                "maxTwapSz": "9999999999", "maxIcebergSz": "9999999999", "maxTriggerSz": "9999999999", "maxStopSz": "1000000",
            },
        )
    return out


def listed_instruments(inst_type: str) -> list[dict[str, str]]:
    """Every record `public/instruments` lists for an instType (SWAP: the bundled three and DOGE)."""
    if inst_type == "SPOT":
        return spot_instruments()
    return swap_instruments(_EXTRA_SWAPS) if inst_type == "SWAP" else []


def _num(value: float) -> str:
    return np.format_float_positional(value, trim="-")


def load_candles(path: Path = DATA_FILE) -> pd.DataFrame:
    """Read the real candle file (ts = open time ms, volume in BTC, volume_contracts)."""
    return pd.read_parquet(path).sort_values("ts").reset_index(drop=True)


@dataclass
class Faults:
    """Which candle requests fail, and how."""

    rate_limited: set[int] = field(default_factory=set)  # HTTP 429, OKX code 50011
    retry_after: str | None = "1"  # Retry-After header of those 429s (None: no header)
    garbage: set[int] = field(default_factory=set)  # HTTP 200 with a non-JSON body
    wrong_shape: set[int] = field(default_factory=set)  # HTTP 200, valid JSON, `data` not a list of rows
    server_error: set[int] = field(default_factory=set)  # HTTP 500
    fail_from: int | None = None  # from this candle request on, every request answers HTTP 503
    always_garbage: bool = False  # every candle request answers garbage
    instruments: str | None = None  # every `public/instruments` request: "rate_limited" (HTTP 429) or "garbage" (non-JSON)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it."""

    path: str
    query: dict[str, str]
    t: float  # time.monotonic() on arrival
    status: int


class OkxCandleServer:
    """OKX v5 REST on 127.0.0.1 in a background thread; use it as a context manager."""

    def __init__(self, candles: pd.DataFrame | None = None, now_ms: int | None = None, faults: Faults | None = None, candle_inst_id: str = "BTC-USDT-SWAP") -> None:
        self.candles = load_candles() if candles is None else candles
        self.candle_inst_id = candle_inst_id  # the instrument whose candles these are
        self.ts = self.candles["ts"].to_numpy(dtype=np.int64)
        self.now_ms = int(self.ts[-1]) + MINUTE_MS if now_ms is None else now_ms
        self.faults = faults or Faults()
        self.requests: list[RecordedRequest] = []
        self._candle_count = 0
        self._failing = False
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        """Return the REST base URL (what ccxt calls `urls['api']['rest']`)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def candle_requests(self) -> list[RecordedRequest]:
        """Return the recorded requests to the candle endpoints, in arrival order."""
        return [r for r in self.requests if r.path in CANDLE_PATHS]

    def reset(self, faults: Faults | None = None) -> None:
        """Forget recorded requests and fault counters; install new faults (none by default)."""
        with self._lock:
            self.requests.clear()
            self._candle_count = 0
            self._failing = False
            self.faults = faults or Faults()

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> OkxCandleServer:
        self._thread = threading.Thread(target=self._serve, name="okx-candle-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("OKX test server did not start")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        app = web.Application()
        app.router.add_get("/api/v5/public/instruments", self._instruments)
        app.router.add_get("/api/v5/public/time", self._time)
        for path in CANDLE_PATHS:
            app.router.add_get(path, self._candles)
        runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.SockSite(runner, self._sock).start())
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()

    # -- handlers --------------------------------------------------------------------------

    @staticmethod
    def _okx(data: Any, code: str = "0", msg: str = "", status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
        body = json.dumps({"code": code, "msg": msg, "data": data})
        return web.Response(text=body, status=status, content_type="application/json", headers=headers)

    def _record(self, request: web.Request, response: web.Response) -> web.Response:
        self.requests.append(RecordedRequest(request.path, dict(request.query), time.monotonic(), response.status))
        return response

    def _unavailable(self) -> web.Response:
        return self._okx([], "50001", "Service temporarily unavailable", status=503)

    async def _instruments(self, request: web.Request) -> web.Response:
        with self._lock:
            if self._failing:
                return self._record(request, self._unavailable())
            if self.faults.instruments == "rate_limited":
                return self._record(request, self._okx([], "50011", "Too Many Requests", status=429, headers={"Retry-After": "2"}))
            if self.faults.instruments == "garbage":
                return self._record(request, web.Response(text="<html>502 Bad Gateway</html>", status=200, content_type="text/html"))
            inst_type = request.query.get("instType", "")
            if inst_type not in ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION"):
                return self._record(request, self._okx([], "51000", "Parameter instType error"))
            rows = listed_instruments(inst_type)
            inst_id = request.query.get("instId")
            if inst_id is not None:  # OKX answers an instId it does not list with 51001
                rows = [row for row in rows if row["instId"] == inst_id]
                if not rows:
                    return self._record(request, self._okx([], "51001", "Instrument ID does not exist"))
            return self._record(request, self._okx(rows))

    async def _time(self, request: web.Request) -> web.Response:
        with self._lock:
            if self._failing:
                return self._record(request, self._unavailable())
            return self._record(request, self._okx([{"ts": str(self.now_ms)}]))

    async def _candles(self, request: web.Request) -> web.Response:
        with self._lock:
            self._candle_count += 1
            return self._record(request, self._candle_response(request.path, request.query, self._candle_count))

    def _candle_response(self, path: str, query: Any, number: int) -> web.Response:
        faults = self.faults
        if faults.fail_from is not None and number >= faults.fail_from:
            self._failing = True
        if self._failing:
            return self._unavailable()
        if number in faults.rate_limited:
            headers = {"Retry-After": faults.retry_after} if faults.retry_after is not None else None
            return self._okx([], "50011", "Too Many Requests", status=429, headers=headers)
        if faults.always_garbage or number in faults.garbage:
            return web.Response(text="<html><body>502 Bad Gateway</body></html>{\"code\":", status=200, content_type="text/html")
        if number in faults.wrong_shape:
            return self._okx({"candles": "unavailable"})
        if number in faults.server_error:
            return web.Response(text="Internal Server Error", status=500, content_type="text/plain")
        inst_id = query.get("instId", "")
        if not inst_id:
            return self._okx([], "51000", "Parameter instId can not be empty")
        if inst_id not in _SWAPS and inst_id != self.candle_inst_id:
            return self._okx([], "51001", "Instrument ID does not exist")
        if query.get("bar", "1m") != "1m":
            return self._okx([], "51000", "Parameter bar error")
        try:
            limit = min(int(query.get("limit", "100")), MAX_LIMIT[path])
            after = int(query["after"]) if query.get("after") else None
            before = int(query["before"]) if query.get("before") else None
        except ValueError:
            return self._okx([], "51000", "Parameter limit, after or before error")
        if inst_id != self.candle_inst_id or limit <= 0:
            return self._okx([])
        mask = self.ts <= self.now_ms
        if path == CANDLE_PATHS[0]:
            mask &= self.ts >= (self.now_ms // MINUTE_MS - (RECENT_CANDLES - 1)) * MINUTE_MS
        if after is not None:
            mask &= self.ts < after
        if before is not None:
            mask &= self.ts > before
        rows = [self._row(int(i)) for i in np.flatnonzero(mask)[-limit:][::-1]]
        return self._okx(rows)

    def _row(self, index: int) -> list[str]:
        c = self.candles.iloc[index]
        ts = int(c["ts"])
        confirm = "1" if ts + MINUTE_MS <= self.now_ms else "0"
        quote = _num(round(float(c["volume"]) * float(c["close"]), 5))
        return [
            str(ts), _num(c["open"]), _num(c["high"]), _num(c["low"]), _num(c["close"]),
            _num(c["volume_contracts"]), _num(c["volume"]), quote, confirm,
        ]
