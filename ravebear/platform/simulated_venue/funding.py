"""Perpetual funding in backtests: a nautilus simulation module that pays and charges funding.

nautilus 1.231's `SimulatedExchange` charges no funding on perpetual swaps. `FundingModule`
is a `SimulationModule` (like nautilus's `FXRolloverInterestModule`): added to a venue, it
sees every market data item of that venue and, at each funding time of an instrument, moves
money on the venue's account for every open position of that instrument:

    amount = -signed_qty x multiplier x price x rate        (linear: in the settlement currency)
    amount = -signed_qty x multiplier / price x rate        (inverse: in the base currency)

so a long pays a positive rate and a short receives it. `rate` is the decimal rate of the
funding period (0.0001 = 0.01 %).

Funding times: the rates' own time stamps rounded to the second (Binance's fundingTime carries
a few ms of jitter: 08:00:00.003 is 08:00:00). Rates come from parquet files (`ts` ms,
`funding_rate`) per instrument, or from settled `FundingRate` rows (predicted == False) in a
RaveBear catalog, of which the rows falling on a funding time (a multiple of
`catalog_period_h` hours, UTC) are used with their `close` as the period's rate.

When a funding time F is applied: when the venue receives the first market data item stamped
at or after F, before the venue processes it. The positions are then those held after
everything up to the previous data item settled, so an entry filled on the bar closing at F
(a strategy reacting to that bar) does not pay F, and an exit filled on it does. The price is
the close of the instrument's bar stamped exactly F when there is one, else the last price the
venue's book has (a bar close, a trade, or the quote mid). A funding time with no later data
item of the venue is applied by the venue's next `process` call after F, if any (a run ending
exactly at F does not pay it).

Each payment is an `adjust_account` call: one AccountState event on the account (it shows in
the account report) that changes the balance, but not any position's realized PnL. The
payments are kept in memory: `FundingModule.frame()`, or `funding_frame(engine)` after a
BacktestNode run, gives them as a table (write it as `funding.csv`).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from nautilus_trader.backtest.config import SimulationModuleConfig
from nautilus_trader.backtest.modules import SimulationModule
from nautilus_trader.model.data import Bar, QuoteTick, TradeTick
from nautilus_trader.model.enums import PriceType
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Money

from ravebear.time_units import NS_PER_HOUR, NS_PER_SECOND

if TYPE_CHECKING:
    from nautilus_trader.backtest.engine import BacktestEngine
    from nautilus_trader.common.config import ImportableActorConfig
    from nautilus_trader.common.component import Logger


_NEVER = 2**63 - 1
# every live module, found again by engine; keyed by id() because nautilus components compare equal by component id
_MODULES: weakref.WeakValueDictionary[int, FundingModule] = weakref.WeakValueDictionary()


class FundingModuleConfig(SimulationModuleConfig, frozen=True, kw_only=True):
    """Where each instrument's funding rates come from."""

    rates: dict[str, str] = {}  # instrument id -> parquet file with `ts` (ms) and `funding_rate` (decimal per period)
    catalog_path: str | None = None  # also read settled FundingRate rows from this RaveBear catalog
    catalog_instruments: list[str] | None = None  # instrument ids to read from the catalog (None: every stored one)
    catalog_period_h: int = 8  # hours between funding times; catalog rows at multiples of it (UTC) are settlements


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """One position's funding at one funding time (amount > 0: received)."""

    ts: int  # funding time, UNIX ns
    instrument_id: str
    position_id: str
    position_qty: float  # signed: > 0 long
    price: float
    rate: float  # decimal per funding period
    amount: float  # applied to the account, in `currency`
    currency: str


FRAME_COLUMNS = [*FundingPayment.__slots__]


def round_to_second(ts_ms: np.ndarray) -> np.ndarray:
    """Return millisecond time stamps rounded to the nearest second, in ns."""
    ts_ms = np.asarray(ts_ms, dtype=np.int64)
    return (ts_ms + 500) // 1000 * NS_PER_SECOND


def read_rate_file(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Return (funding times in ns, rates) from a parquet file with `ts` (ms) and `funding_rate`, sorted, one rate per time."""
    frame = pd.read_parquet(path, columns=["ts", "funding_rate"])
    return _schedule(round_to_second(frame["ts"].to_numpy()), frame["funding_rate"].to_numpy(dtype=np.float64), str(path))


def read_catalog_rates(catalog_path: str | Path, instrument_ids: list[str] | None = None, period_h: int = 8) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Return each instrument's settled funding (times in ns, rates) from the FundingRate rows of a catalog.

    Rows with `predicted` set are skipped; a row counts when its ts_event, rounded to the second,
    is a multiple of `period_h` hours. Several rows on one time (e.g. 1 h and 8 h intervals): the
    one with the shortest interval wins.
    """
    from ravebear.catalog.alt_data.store import AltDataStore
    from ravebear.catalog.alt_data.types import FundingRate

    store = AltDataStore(catalog_path)
    folder = store.directory(FundingRate)
    if instrument_ids is None:
        tables = [store.read_table(FundingRate, path.name) for path in sorted(folder.iterdir()) if path.is_dir()] if folder.exists() else []
    else:
        tables = [store.read_table(FundingRate, instrument_id) for instrument_id in instrument_ids]
    period_ns = period_h * NS_PER_HOUR
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for table in tables:
        frame = table.select(["instrument_id", "ts_event", "close", "predicted", "interval_s"]).to_pandas()
        frame = frame[~frame["predicted"]]
        if frame.empty:
            continue
        ts_ms = (frame["ts_event"].to_numpy(dtype=np.int64) + 500_000) // 1_000_000
        frame = frame.assign(ts=round_to_second(ts_ms))
        frame = frame[frame["ts"] % period_ns == 0].sort_values(["ts", "interval_s"], kind="stable")
        frame = frame.drop_duplicates("ts", keep="first")
        for instrument_id, rows in frame.groupby("instrument_id", sort=True):
            out[str(instrument_id)] = _schedule(rows["ts"].to_numpy(), rows["close"].to_numpy(dtype=np.float64), f"{catalog_path} ({instrument_id})")
    if instrument_ids is not None:
        absent = [instrument_id for instrument_id in instrument_ids if instrument_id not in out]
        if absent:
            raise ValueError(f"no settled FundingRate rows for {', '.join(absent)} in the catalog at {catalog_path}")
    if not out:
        raise ValueError(f"no settled FundingRate rows on {period_h} h funding times in the catalog at {catalog_path}")
    return out


def _schedule(ts: np.ndarray, rates: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray]:
    keep = ~np.isnan(rates)
    ts, rates = ts[keep], rates[keep]
    order = np.argsort(ts, kind="stable")
    ts, rates = ts[order], rates[order]
    if len(ts) > 1:
        first = np.concatenate([[True], ts[1:] != ts[:-1]])
        clash = ~first & (rates != np.concatenate([[np.nan], rates[:-1]]))
        if clash.any():
            when = pd.Timestamp(int(ts[np.argmax(clash)]), tz="UTC")
            raise ValueError(f"{source}: two different funding rates at {when}")
        ts, rates = ts[first], rates[first]
    return ts, rates


class FundingModule(SimulationModule):
    """Charge and pay perpetual funding on a simulated venue's open positions (see the module doc)."""

    def __init__(self, config: FundingModuleConfig) -> None:
        super().__init__(config)
        schedules = {instrument_id: read_rate_file(path) for instrument_id, path in config.rates.items()}
        if config.catalog_path is not None:
            stored = read_catalog_rates(config.catalog_path, config.catalog_instruments, config.catalog_period_h)
            both = sorted(set(stored) & set(schedules))
            if both:
                raise ValueError(f"funding for {', '.join(both)} comes from both a rate file and the catalog; give one source")
            schedules.update(stored)
        self._schedules: dict[InstrumentId, tuple[list[int], list[float]]] = {
            InstrumentId.from_str(instrument_id): (ts.tolist(), rates.tolist()) for instrument_id, (ts, rates) in schedules.items()
        }
        self._cursor: dict[InstrumentId, int] = dict.fromkeys(self._schedules, 0)
        self._due = _NEVER
        self._payments: list[FundingPayment] = []
        self._totals: dict[str, float] = {}
        self._frozen_warned = False
        self._update_due()
        _MODULES[id(self)] = self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(sorted(i.value for i in self._schedules))})"

    # -- the engine's calls --------------------------------------------------------------

    def pre_process(self, data: Any) -> None:
        """Apply funding due before this data item (and at its time, for its own instrument's bar close)."""
        ts = data.ts_init
        if ts < self._due:
            return
        if ts > self._due:
            self._settle(ts, None, 0.0)
        if ts == self._due:
            instrument_id, price = _instrument_and_price(data)
            if instrument_id is not None and instrument_id in self._schedules:
                self._settle(ts + 1, instrument_id, price)

    def process(self, ts_now: int) -> None:
        """Apply funding whose time has passed without data of this venue."""
        if ts_now > self._due:
            self._settle(ts_now, None, 0.0)

    def log_diagnostics(self, logger: Logger) -> None:
        """Log the funding totals."""
        totals = ", ".join(f"{amount:,.8f} {currency}" for currency, amount in sorted(self._totals.items())) or "none"
        logger.info(f"Funding (totals, + received): {totals} over {len(self._payments)} payments")

    def reset(self) -> None:
        """Forget the payments and start the schedules again."""
        self._cursor = dict.fromkeys(self._schedules, 0)
        self._payments = []
        self._totals = {}
        self._update_due()

    # -- results -------------------------------------------------------------------------

    def payments(self) -> list[FundingPayment]:
        """Return the payments made so far, in time order."""
        return list(self._payments)

    def frame(self) -> pd.DataFrame:
        """Return the payments as a table (columns as FundingPayment's fields)."""
        return pd.DataFrame([[getattr(p, name) for name in FRAME_COLUMNS] for p in self._payments], columns=FRAME_COLUMNS)

    def total(self, currency: str = "USDT") -> float:
        """Return the net funding of one currency (> 0: received)."""
        return self._totals.get(currency, 0.0)

    # -- internals -----------------------------------------------------------------------

    def _update_due(self) -> None:
        due = _NEVER
        for instrument_id, (times, _) in self._schedules.items():
            cursor = self._cursor[instrument_id]
            if cursor < len(times) and times[cursor] < due:
                due = times[cursor]
        self._due = due

    def _settle(self, before: int, only: InstrumentId | None, price: float) -> None:
        """Apply every funding time < `before` (of `only`, when given, at `price`)."""
        for instrument_id, (times, rates) in self._schedules.items():
            if only is not None and instrument_id != only:
                continue
            cursor = self._cursor[instrument_id]
            while cursor < len(times) and times[cursor] < before:
                self._pay(instrument_id, times[cursor], rates[cursor], price if only is not None else 0.0)
                cursor += 1
            self._cursor[instrument_id] = cursor
        self._update_due()

    def _pay(self, instrument_id: InstrumentId, ts: int, rate: float, price: float) -> None:
        exchange = self.exchange
        positions = exchange.cache.positions_open(instrument_id=instrument_id)
        if not positions or rate == 0.0:
            return
        if exchange.is_frozen_account:
            if not self._frozen_warned:
                self.log.warning("Funding not applied: the venue's account is frozen")
                self._frozen_warned = True
            return
        instrument = exchange.instruments.get(instrument_id) or exchange.cache.instrument(instrument_id)
        if not price > 0:
            price = self._book_price(instrument_id)
        if instrument is None or not price > 0:
            self.log.error(f"Funding at {pd.Timestamp(ts, tz='UTC')} for {instrument_id} not applied: no instrument or price")
            return
        multiplier = float(instrument.multiplier)
        currency = instrument.get_settlement_currency()
        xrate = 1.0
        if exchange.base_currency is not None and exchange.base_currency != currency:
            xrate = exchange.cache.get_xrate(instrument_id.venue, currency, exchange.base_currency, PriceType.MID) or 0.0
            if xrate <= 0:
                self.log.error(f"Funding at {pd.Timestamp(ts, tz='UTC')} for {instrument_id} not applied: no {currency}/{exchange.base_currency} rate")
                return
            currency = exchange.base_currency
        for position in positions:
            qty = position.signed_qty
            notional = qty * multiplier / price if instrument.is_inverse else qty * multiplier * price
            money = Money(-notional * rate * xrate, currency)
            exchange.adjust_account(money)
            amount = money.as_double()
            self._totals[currency.code] = self._totals.get(currency.code, 0.0) + amount
            self._payments.append(FundingPayment(ts, instrument_id.value, position.id.value, qty, price, rate, amount, currency.code))

    def _book_price(self, instrument_id: InstrumentId) -> float:
        bid = self.exchange.best_bid_price(instrument_id)
        ask = self.exchange.best_ask_price(instrument_id)
        if bid is not None and ask is not None:
            return (bid.as_double() + ask.as_double()) * 0.5
        last = bid if bid is not None else ask
        return last.as_double() if last is not None else 0.0


def _instrument_and_price(data: Any) -> tuple[InstrumentId | None, float]:
    if isinstance(data, Bar):
        return data.bar_type.instrument_id, data.close.as_double()
    if isinstance(data, TradeTick):
        return data.instrument_id, data.price.as_double()
    if isinstance(data, QuoteTick):
        return data.instrument_id, (data.bid_price.as_double() + data.ask_price.as_double()) * 0.5
    return getattr(data, "instrument_id", None), 0.0


def funding_module_config(
    rates: dict[str, str] | None = None,
    catalog_path: str | None = None,
    catalog_instruments: list[str] | None = None,
    catalog_period_h: int = 8,
) -> ImportableActorConfig:
    """Return the entry for `BacktestVenueConfig(modules=[...])` that adds a FundingModule to a venue."""
    from nautilus_trader.common.config import ImportableActorConfig

    config: dict[str, Any] = {"rates": dict(rates or {}), "catalog_path": catalog_path, "catalog_period_h": catalog_period_h}
    if catalog_instruments is not None:
        config["catalog_instruments"] = list(catalog_instruments)
    return ImportableActorConfig(actor_path=f"{__name__}:FundingModule", config_path=f"{__name__}:FundingModuleConfig", config=config)


def funding_modules(engine: BacktestEngine) -> list[FundingModule]:
    """Return the FundingModules of an engine's venues (a BacktestNode builds them from config)."""
    return [module for module in list(_MODULES.values()) if module.cache is engine.cache]


def funding_frame(engine: BacktestEngine) -> pd.DataFrame:
    """Return every funding payment of an engine's run as one table, in time order (write it as funding.csv)."""
    frames = [module.frame() for module in funding_modules(engine)]
    frames = [frame for frame in frames if not frame.empty]
    if not frames:
        return pd.DataFrame(columns=FRAME_COLUMNS)
    return pd.concat(frames, ignore_index=True).sort_values("ts", kind="stable", ignore_index=True)
