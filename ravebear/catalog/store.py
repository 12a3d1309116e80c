"""The RaveBear catalog: a thin layer over nautilus's ParquetDataCatalog.

Adds what nautilus leaves to the user: validated, idempotent candle imports (re-importing
a file changes nothing, a later range appends, a range that fills a hole is merged), and a
summary of what is stored (time ranges, row counts, gaps).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow.dataset as pads
from loguru import logger

from ravebear.catalog.atomic_write import STAGING_DIR, check_writable, recover, write_data
from ravebear.catalog.damaged import DamagedFile, quarantine_damaged
from ravebear.catalog.instruments import okx_swap
from ravebear.catalog.validation import ONE_MINUTE_MS, Gap, ValidationReport, find_gaps, validate_candles

if TYPE_CHECKING:
    from nautilus_trader.model.data import Bar
    from nautilus_trader.model.instruments import Instrument
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

CATALOG_ENV = "RAVEBEAR_CATALOG"
DEFAULT_CATALOG = Path("var") / "catalog"


def one_minute_bar_type(instrument_id: str) -> str:
    """Return the bar type string of an instrument's external 1-minute last-price bars."""
    return f"{instrument_id}-1-MINUTE-LAST-EXTERNAL"


def default_catalog_path() -> Path:
    """Return `$RAVEBEAR_CATALOG`, or `var/catalog` under the working directory."""
    return Path(os.environ.get(CATALOG_ENV) or DEFAULT_CATALOG)


@dataclass
class ImportResult:
    """The outcome of one import: validation report plus what reached the catalog."""

    bar_type: str
    report: ValidationReport
    written: int = 0  # bars new to the catalog
    already_stored: int = 0  # valid bars the catalog already had (same open time)
    conflicts: list[int] = field(default_factory=list)  # open times (ms) stored with other values; kept as stored


@dataclass(frozen=True)
class SeriesSummary:
    """One stored bar series."""

    bar_type: str
    rows: int
    first_open: int  # ms
    last_open: int  # ms
    gaps: list[Gap]


class RaveCatalog:
    """Validated, idempotent access to a nautilus Parquet catalog.

    Every write is atomic (`atomic_write`). Opening a catalog finishes or drops the writes a killed
    process left, and sets aside damaged files (`damaged`), naming each in a warning.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_catalog_path()
        self._catalog: ParquetDataCatalog | None = None
        self._instruments: dict[str, Instrument] = {}
        self.damaged: list[DamagedFile] = []
        if self.path.is_dir():
            try:
                recover(self.path)
            except OSError as exc:  # e.g. a read-only catalog: its readers still never see a staged file
                logger.warning("could not finish or clean up an interrupted write in {} ({})", self.path / STAGING_DIR, exc.strerror or exc)
            self.damaged = quarantine_damaged(self.path)

    def check_writable(self) -> None:
        """Create the catalog folder if needed and prove it is writable; raises CatalogNotWritable (one line) if not."""
        check_writable(self.path)

    @property
    def nautilus(self) -> ParquetDataCatalog:
        """Return the underlying nautilus catalog (created on first use)."""
        if self._catalog is None:
            from nautilus_trader.persistence.catalog import ParquetDataCatalog

            self.path.mkdir(parents=True, exist_ok=True)
            self._catalog = ParquetDataCatalog(str(self.path))
        return self._catalog

    def _bar_dir(self, bar_type: str) -> Path:
        return self.path / "data" / "bar" / bar_type

    def ensure_instrument(self, instrument: Instrument | str) -> Instrument:
        """Write an instrument (or an OKX swap by symbol) unless the catalog already holds it."""
        if isinstance(instrument, str):
            instrument = okx_swap(instrument)
        if not self.nautilus.instruments(instrument_ids=[instrument.id.value]):
            write_data(self.nautilus, [instrument])
        return instrument

    def instrument(self, instrument_id: str) -> Instrument:
        """Return a stored instrument by id."""
        found = self.nautilus.instruments(instrument_ids=[instrument_id]) if (self.path / "data").exists() else []
        if not found:
            raise KeyError(f"instrument {instrument_id} is not in the catalog at {self.path}")
        return found[0]

    def stored_open_times(self, bar_type: str) -> np.ndarray:
        """Return the sorted open times (ms) of every stored bar of a series."""
        directory = self._bar_dir(bar_type)
        if not directory.exists() or not any(directory.glob("*.parquet")):
            return np.empty(0, dtype=np.int64)
        table = pads.dataset(str(directory), format="parquet").to_table(columns=["ts_event"])
        close_ns = np.sort(table.column("ts_event").to_numpy().astype(np.int64))
        return close_ns // 1_000_000 - ONE_MINUTE_MS

    def import_candles(self, frame: pd.DataFrame, instrument: Instrument | str) -> ImportResult:
        """Validate a normalized candle frame and store its valid rows as 1-minute bars.

        `instrument` is a nautilus instrument or an OKX swap symbol. Bar volume is stored in the
        instrument's quantity unit (contracts for swaps): `volume_contracts` when the source has
        it, else base volume divided by the contract multiplier.
        """
        if isinstance(instrument, str):
            instrument = okx_swap(instrument)
        bar_type = one_minute_bar_type(instrument.id.value)
        valid, report = validate_candles(frame)
        result = ImportResult(bar_type=bar_type, report=report)
        if valid.empty:
            return result
        self.ensure_instrument(instrument)
        self._instruments[bar_type] = instrument

        if "volume_contracts" in valid.columns and valid["volume_contracts"].notna().all():
            contracts = valid["volume_contracts"].to_numpy(dtype=np.float64)
        else:
            contracts = valid["volume"].to_numpy(dtype=np.float64) / float(instrument.multiplier)
        valid = valid.assign(contracts=contracts)

        stored = self.stored_open_times(bar_type)
        first, last = int(valid["ts"].iloc[0]), int(valid["ts"].iloc[-1])
        overlapping = stored[(stored >= first) & (stored <= last)]
        is_new = ~valid["ts"].isin(overlapping).to_numpy()
        result.already_stored = int((~is_new).sum())
        if result.already_stored:
            result.conflicts = self._conflicts(bar_type, valid[~is_new])
        new = valid[is_new]
        if new.empty:
            return result
        result.written = len(new)
        if len(overlapping) or self._overlaps_files(bar_type, first, last):
            self._merge_write(bar_type, new)
        else:
            write_data(self.nautilus, self._bars(bar_type, new))
        return result

    def import_file(self, path: str | Path, instrument: Instrument | str) -> ImportResult:
        """Read a candle file (parquet, CSV or OKX JSON) and import it."""
        from ravebear.catalog.candles import read_ohlcv_file

        return self.import_candles(read_ohlcv_file(path), instrument)

    def bars(self, bar_type: str, start: int | None = None, end: int | None = None) -> list[Bar]:
        """Return stored bars of a series with close time in [start, end] (ns), oldest first."""
        return self.nautilus.bars(bar_types=[bar_type], start=start, end=end)

    def summary(self) -> list[SeriesSummary]:
        """Describe every stored bar series."""
        root = self.path / "data" / "bar"
        if not root.exists():
            return []
        out = []
        for directory in sorted(p for p in root.iterdir() if p.is_dir()):
            times = self.stored_open_times(directory.name)
            if len(times) == 0:
                continue
            out.append(
                SeriesSummary(
                    bar_type=directory.name,
                    rows=len(times),
                    first_open=int(times[0]),
                    last_open=int(times[-1]),
                    gaps=find_gaps(times),
                ),
            )
        return out

    def instrument_ids(self) -> list[str]:
        """Return the ids of the stored instruments."""
        if not (self.path / "data").exists():
            return []
        return sorted(instrument.id.value for instrument in self.nautilus.instruments())

    # -- internals -----------------------------------------------------------------------

    def _bars(self, bar_type: str, frame: pd.DataFrame) -> list[Bar]:
        from nautilus_trader.model.data import Bar, BarType

        instrument = self._instruments.get(bar_type) or self.instrument(bar_type.split("-1-MINUTE")[0])
        # Bars are stamped at their close so no strategy sees a candle before it ends.
        close_ns = (frame["ts"].to_numpy(dtype=np.int64) + ONE_MINUTE_MS) * 1_000_000

        def column(name: str) -> np.ndarray:
            return np.array(frame[name].to_numpy(dtype=np.float64), copy=True)

        ts = np.array(close_ns.astype(np.uint64), copy=True)
        return Bar.from_raw_arrays_to_list(
            BarType.from_str(bar_type),
            instrument.price_precision,
            instrument.size_precision,
            column("open"),
            column("high"),
            column("low"),
            column("close"),
            column("contracts"),
            ts,
            ts.copy(),
        )

    def _files(self, bar_type: str) -> list[tuple[Path, tuple[int, int]]]:
        """The stored files of a series with their (first, last) close times in ns, from their names."""
        from nautilus_trader.persistence.catalog.parquet import _parse_filename_timestamps

        directory = self._bar_dir(bar_type)
        found = [(path, _parse_filename_timestamps(str(path))) for path in directory.glob("*.parquet")] if directory.is_dir() else []
        return sorted(((path, interval) for path, interval in found if interval is not None), key=lambda item: item[1])

    def _overlaps_files(self, bar_type: str, first_open: int, last_open: int) -> bool:
        start_ns = (first_open + ONE_MINUTE_MS) * 1_000_000
        end_ns = (last_open + ONE_MINUTE_MS) * 1_000_000
        return any(lo <= end_ns and start_ns <= hi for _, (lo, hi) in self._files(bar_type))

    def _merge_write(self, bar_type: str, new: pd.DataFrame) -> None:
        """Merge new bars into the files they overlap: one new file replaces them in a single atomic commit."""
        start_ns = (int(new["ts"].iloc[0]) + ONE_MINUTE_MS) * 1_000_000
        end_ns = (int(new["ts"].iloc[-1]) + ONE_MINUTE_MS) * 1_000_000
        touched = [(path, interval) for path, interval in self._files(bar_type) if interval[0] <= end_ns and start_ns <= interval[1]]
        lo = min([start_ns, *(interval[0] for _, interval in touched)])
        hi = max([end_ns, *(interval[1] for _, interval in touched)])
        existing = self.nautilus.bars(bar_types=[bar_type], start=lo, end=hi)
        merged = sorted([*existing, *self._bars(bar_type, new)], key=lambda bar: bar.ts_init)
        write_data(self.nautilus, merged, replaces=[path for path, _ in touched])

    def _conflicts(self, bar_type: str, rows: pd.DataFrame) -> list[int]:
        start_ns = (int(rows["ts"].iloc[0]) + ONE_MINUTE_MS) * 1_000_000
        end_ns = (int(rows["ts"].iloc[-1]) + ONE_MINUTE_MS) * 1_000_000
        stored = {bar.ts_event // 1_000_000 - ONE_MINUTE_MS: bar for bar in self.bars(bar_type, start_ns, end_ns)}
        conflicts = []
        for row in rows.itertuples(index=False):
            bar = stored.get(int(row.ts))
            if bar is None:
                continue
            tolerance = 10 ** -bar.close.precision / 2
            prices = (bar.open, bar.high, bar.low, bar.close)
            if any(abs(price.as_double() - value) > tolerance for price, value in zip(prices, (row.open, row.high, row.low, row.close), strict=True)):
                conflicts.append(int(row.ts))
        return conflicts
