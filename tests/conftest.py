"""Shared fixtures: real OKX candles from the bundled sample, temporary catalogs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ravebear.catalog.candles import read_ohlcv_file
from ravebear.catalog.store import RaveCatalog

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
OKX_BTC = SAMPLE / "okx_swap_BTC-USDT-SWAP_1m_20260727_20260822_gappy.parquet"


@pytest.fixture(scope="session", autouse=True)
def _ledger_outside_the_repo(tmp_path_factory):
    """Runs of the shipped configs (which have a ledger: section) record into a ledger of this test session, never
    into the repo's var/ledger.sqlite; subprocesses inherit it. A test that sets its own URL wins."""
    import os

    if "RAVEBEAR_LEDGER_URL" not in os.environ:
        os.environ["RAVEBEAR_LEDGER_URL"] = f"sqlite:///{tmp_path_factory.mktemp('ledger') / 'ledger.sqlite'}"
    yield


@pytest.fixture(scope="session")
def okx_btc_raw() -> pd.DataFrame:
    """The real OKX BTC-USDT-SWAP 1-minute series as stored in the sample file."""
    return pd.read_parquet(OKX_BTC)


@pytest.fixture(scope="session")
def okx_btc() -> pd.DataFrame:
    """The same series as a normalized candle frame."""
    return read_ohlcv_file(OKX_BTC)


def sample_catalog(folder: Path) -> RaveCatalog:
    """A catalog at `folder` holding the bundled OKX sample (BTC, ETH, SOL swaps)."""
    from ravebear.catalog.instruments import instrument_for

    store = RaveCatalog(folder)
    for path in sorted(SAMPLE.glob("okx_swap_*.parquet")):
        store.import_file(path, instrument_for(path.name.split("_")[2]))
    return store


@pytest.fixture
def catalog(tmp_path: Path) -> RaveCatalog:
    """An empty catalog in a temporary folder."""
    return RaveCatalog(tmp_path / "catalog")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A real redis-server on a free 127.0.0.1 port for the whole session."""
    from tests.redis_server import RedisServer

    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server (the pgserver wheel's binaries) on a free 127.0.0.1 port, one per xdist worker."""
    from tests.postgres_server import PostgresServer

    server = PostgresServer()
    yield server
    server.close()
