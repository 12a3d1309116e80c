"""Instrument definitions from an exchange's own metadata, fetched once and kept in the catalog.

Two sources:

* OKX `GET /api/v5/public/instruments?instType=SWAP|SPOT&instId=...` (unsigned). A SWAP row becomes
  a `CryptoPerpetual` shaped like nautilus's OKX adapter: quantities in contracts, `multiplier =
  ctMult x ctVal`, price precision from `tickSz`, size precision from `lotSz`, `min_quantity = minSz`,
  initial margin `1 / lever`, `is_inverse` from `ctType`, settlement `settleCcy`; a SPOT row a
  `CurrencyPair` (`baseCcy`/`quoteCcy`, quantities in base units). The symbol is the `instId`
  (`DOGE-USDT-SWAP.OKX`, `DOGE-USDT.OKX`).
* any ccxt exchange's market (`load_markets()`), through `ccxt_instruments.ccxt_instrument`.

Fees are not metadata: OKX publishes the account's fee tier only on a signed endpoint. They come
from `FeeTier` (defaults: OKX's regular-user Lv1 rates; the `catalog instrument add` options), and a
run file's `venue.maker_fee_bps` / `taker_fee_bps` override them in a backtest anyway.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from ravebear.catalog.instruments import OKX_VENUE, step_decimals, stored_instrument

if TYPE_CHECKING:
    from nautilus_trader.model.instruments import Instrument

    from ravebear.catalog.store import RaveCatalog

OKX_REST_URL = "https://www.okx.com"
OKX_INSTRUMENTS_PATH = "/api/v5/public/instruments"
HTTP_TIMEOUT_S = 15.0
OKX_UNKNOWN_INSTRUMENT = "51001"  # OKX error code: "Instrument ID does not exist"


class InstrumentFetchError(RuntimeError):
    """The exchange could not be asked or answered something unusable (a failed run: exit 1)."""


class UnknownInstrumentError(ValueError):
    """The exchange does not list the instrument, or it is of a kind RaveBear cannot trade (bad input: exit 2)."""


@dataclass(frozen=True)
class FeeTier:
    """Maker and taker fee rates in basis points (a negative maker fee is a rebate)."""

    maker_bps: float
    taker_bps: float

    def rates(self) -> tuple[Decimal, Decimal]:
        """The rates as nautilus wants them (fractions: 2 bps -> 0.0002)."""
        return Decimal(str(self.maker_bps)) / 10_000, Decimal(str(self.taker_bps)) / 10_000


# OKX regular user Lv1 (https://www.okx.com/fees): USDT-margined swaps 0.020 % / 0.050 %, spot 0.080 % / 0.100 %.
OKX_LV1_FEES = {"SWAP": FeeTier(2.0, 5.0), "SPOT": FeeTier(8.0, 10.0)}


def okx_inst_type(inst_id: str) -> str:
    """SWAP for `BASE-QUOTE-SWAP`, SPOT for `BASE-QUOTE`; futures and options are refused."""
    parts = inst_id.split("-")
    if len(parts) == 3 and parts[2] == "SWAP":
        return "SWAP"
    if len(parts) == 2 and all(parts):
        return "SPOT"
    raise UnknownInstrumentError(f"OKX instrument {inst_id!r}: give a swap like DOGE-USDT-SWAP or a spot pair like DOGE-USDT (futures and options are not supported)")


def fetch_okx_row(inst_id: str, rest_url: str | None = None, timeout_s: float = HTTP_TIMEOUT_S) -> dict[str, Any]:
    """GET one instrument's row from OKX `public/instruments`; raise with a one-line reason when it fails."""
    inst_type = okx_inst_type(inst_id)
    base = (rest_url or OKX_REST_URL).rstrip("/")
    url = f"{base}{OKX_INSTRUMENTS_PATH}?instType={inst_type}&instId={urllib.parse.quote(inst_id)}"
    what = f"OKX {OKX_INSTRUMENTS_PATH} for {inst_id}"
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "ravebear"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()
        okx_code, okx_msg = _okx_error(body)
        if okx_code == OKX_UNKNOWN_INSTRUMENT:
            raise UnknownInstrumentError(f"OKX does not list {inst_id} ({okx_msg}, code {okx_code})") from None
        if exc.code == 429:
            wait = exc.headers.get("Retry-After")
            raise InstrumentFetchError(f"{what}: rate limited (HTTP 429{f', Retry-After {wait} s' if wait else ''}); try again later") from None
        detail = f": {okx_msg} (code {okx_code})" if okx_msg else ""
        raise InstrumentFetchError(f"{what}: HTTP {exc.code} {exc.reason}{detail}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InstrumentFetchError(f"{what}: cannot connect to {base} ({reason})") from None
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InstrumentFetchError(f"{what}: the answer is not JSON ({body[:60]!r})") from None
    if not isinstance(payload, dict):
        raise InstrumentFetchError(f"{what}: the answer is JSON but not an OKX response object")
    code, msg = str(payload.get("code", "")), str(payload.get("msg", ""))
    if code == OKX_UNKNOWN_INSTRUMENT:
        raise UnknownInstrumentError(f"OKX does not list {inst_id} ({msg or 'Instrument ID does not exist'}, code {code})")
    if code != "0":
        raise InstrumentFetchError(f"{what}: OKX error code {code or '(none)'}: {msg or '(no message)'}")
    rows = payload.get("data")
    if not isinstance(rows, list):
        raise InstrumentFetchError(f"{what}: the answer has no 'data' list of instruments")
    for row in rows:
        if isinstance(row, dict) and row.get("instId") == inst_id:
            return row
    raise UnknownInstrumentError(f"OKX does not list {inst_id} as a {inst_type} instrument")


def _okx_error(body: bytes) -> tuple[str, str]:
    try:
        payload = json.loads(body)
        return str(payload.get("code", "")), str(payload.get("msg", ""))
    except (ValueError, AttributeError):
        return "", ""


def _decimal(row: dict[str, Any], key: str, inst_id: str, positive: bool = True) -> Decimal:
    text = str(row.get(key, "")).strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InstrumentFetchError(f"OKX instrument {inst_id}: field {key} is {text!r}, not a number") from None
    if not value.is_finite() or (positive and value <= 0):
        raise InstrumentFetchError(f"OKX instrument {inst_id}: field {key} is {text!r}, not a positive number")
    return value


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def okx_instrument(row: dict[str, Any], fees: FeeTier | None = None, ts_init: int = 0) -> Instrument:
    """Build the nautilus instrument of an OKX `public/instruments` SWAP or SPOT row."""
    from nautilus_trader.model.currencies import Currency
    from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
    from nautilus_trader.model.instruments import CryptoPerpetual, CurrencyPair
    from nautilus_trader.model.objects import Price, Quantity

    inst_id = str(row.get("instId", ""))
    inst_type = str(row.get("instType", ""))
    if inst_type not in OKX_LV1_FEES:
        raise UnknownInstrumentError(f"OKX instrument {inst_id or '?'} is {inst_type or 'of no type'}; only SWAP and SPOT are supported")
    maker, taker = (fees or OKX_LV1_FEES[inst_type]).rates()
    tick = _decimal(row, "tickSz", inst_id)
    lot = _decimal(row, "lotSz", inst_id)
    min_size = _decimal(row, "minSz", inst_id)
    common: dict[str, Any] = {
        "instrument_id": InstrumentId(Symbol(inst_id), Venue(OKX_VENUE)),
        "raw_symbol": Symbol(inst_id),
        "price_precision": step_decimals(_text(tick)),
        "size_precision": step_decimals(_text(lot)),
        "price_increment": Price.from_str(_text(tick)),
        "size_increment": Quantity.from_str(_text(lot)),
        "min_quantity": Quantity.from_str(_text(min_size)),
        "maker_fee": maker,
        "taker_fee": taker,
        "ts_event": ts_init,
        "ts_init": ts_init,
    }
    if inst_type == "SPOT":
        return CurrencyPair(
            base_currency=Currency.from_str(str(row.get("baseCcy") or inst_id.split("-")[0])),
            quote_currency=Currency.from_str(str(row.get("quoteCcy") or inst_id.split("-")[1])),
            **common,
        )
    base, quote = (str(row.get("uly") or row.get("instFamily") or inst_id).split("-") + ["", ""])[:2]
    inverse = row.get("ctType") == "inverse"
    contract_value = _decimal(row, "ctVal", inst_id)
    contract_mult = _decimal(row, "ctMult", inst_id) if str(row.get("ctMult", "")).strip() else Decimal(1)
    lever = str(row.get("lever", "")).strip()
    return CryptoPerpetual(
        base_currency=Currency.from_str(base),
        quote_currency=Currency.from_str(quote),
        settlement_currency=Currency.from_str(str(row.get("settleCcy") or (base if inverse else quote))),
        is_inverse=inverse,
        multiplier=Quantity.from_str(_text(contract_mult * contract_value)),
        margin_init=Decimal(1) / Decimal(lever) if lever and Decimal(lever) > 0 else None,
        **common,
    )


def okx_state_note(row: dict[str, Any]) -> str | None:
    """A sentence when OKX does not list the instrument as `live` (`suspend`, `preopen`, `test`), else None."""
    state = str(row.get("state", ""))
    if state == "live":
        return None
    return f"OKX lists {row.get('instId')} as {state or 'of no state'!r}, not 'live': its definition is stored, but OKX will not trade it now"


def fetch_okx_instrument(inst_id: str, rest_url: str | None = None, fees: FeeTier | None = None) -> Instrument:
    """The nautilus instrument of an OKX swap or spot pair, from OKX's own metadata."""
    return okx_instrument(fetch_okx_row(inst_id, rest_url), fees)


def fetch_ccxt_instrument(exchange_id: str, symbol: str, rest_url: str | None = None, fees: FeeTier | None = None) -> Instrument:
    """The nautilus instrument of any ccxt exchange's market (`symbol`: the exchange's id or ccxt's symbol)."""
    import ccxt

    from ravebear.catalog.ccxt_instruments import ccxt_instrument

    if exchange_id not in ccxt.exchanges:
        raise UnknownInstrumentError(f"unknown ccxt exchange {exchange_id!r}")
    exchange = getattr(ccxt, exchange_id)({"enableRateLimit": True})
    if rest_url is not None:
        exchange.urls["api"] = _redirect(exchange.urls.get("api"), rest_url.rstrip("/"))
    exchange.enableLastJsonResponse = True  # ccxt takes a non-JSON answer as a market list with nothing in it
    try:
        exchange.load_markets()
    except ccxt.RateLimitExceeded as exc:
        raise InstrumentFetchError(f"{exchange_id} markets: rate limited; try again later ({_short(exc)})") from None
    except (ccxt.BaseError, ValueError, TypeError, KeyError) as exc:  # network errors, non-JSON or odd payloads
        raise InstrumentFetchError(f"{exchange_id} markets: {type(exc).__name__}: {_short(exc)}") from None
    finally:
        exchange.close()
    if not exchange.markets:
        if exchange.last_json_response is None:
            raise InstrumentFetchError(f"{exchange_id} markets: the answer is not JSON ({str(exchange.last_http_response or '')[:60]!r})")
        raise InstrumentFetchError(f"{exchange_id} markets: the exchange listed no markets")
    market = exchange.markets.get(symbol)
    if market is None and exchange.markets_by_id:
        found = exchange.markets_by_id.get(symbol)
        market = found[0] if found else None
    if market is None:
        raise UnknownInstrumentError(f"{exchange_id} has no market {symbol!r} (give its id like BTCUSDT or a ccxt symbol like BTC/USDT)")
    if fees is not None:
        market = {**market, "maker": fees.maker_bps / 10_000, "taker": fees.taker_bps / 10_000}
    try:
        return ccxt_instrument(market, exchange_id, exchange.precisionMode)
    except ValueError as exc:
        raise UnknownInstrumentError(str(exc)) from None


def _redirect(api: Any, base: str) -> Any:
    """ccxt's `urls['api']` with every URL's scheme and host replaced by `base`, paths kept
    (Binance: `/api/v3`, `/fapi/v1`, `/dapi/v1` stay apart on one local server)."""
    if isinstance(api, dict):
        return {key: _redirect(value, base) for key, value in api.items()}
    if isinstance(api, str):
        return base + urllib.parse.urlsplit(api).path.rstrip("/")
    return api


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def store_instrument(catalog: RaveCatalog, instrument: Instrument) -> str:
    """Keep an instrument definition in the catalog: "added", "unchanged" or "replaced" (the exchange changed it)."""
    import shutil

    stored = stored_instrument(catalog, instrument.id.value)
    if stored is None:
        catalog.ensure_instrument(instrument)
        return "added"
    if type(stored) is type(instrument) and stored.to_dict(stored) == instrument.to_dict(instrument):
        return "unchanged"
    for folder in (catalog.path / "data").glob(f"*/{instrument.id.value}"):
        if folder.is_dir() and folder.parent.name != "bar":
            shutil.rmtree(folder)
    catalog.ensure_instrument(instrument)
    return "replaced"
