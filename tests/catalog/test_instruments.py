"""OKX swap definitions: contract terms, and the real sample fits their tick and lot grids."""

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from ravebear.catalog.instruments import okx_swap
from tests.conftest import SAMPLE


@pytest.mark.parametrize(
    ("symbol", "contract_value", "tick", "lot", "min_size", "max_leverage"),
    [
        ("BTC-USDT-SWAP", "0.01", "0.1", "0.01", "0.01", 100),
        ("ETH-USDT-SWAP", "0.1", "0.01", "0.01", "0.01", 100),
        ("SOL-USDT-SWAP", "1", "0.01", "0.01", "0.01", 50),
    ],
)
def test_okx_swap_has_okx_contract_terms(symbol, contract_value, tick, lot, min_size, max_leverage):
    instrument = okx_swap(symbol)
    assert instrument.id.value == f"{symbol}.OKX"
    assert instrument.multiplier.as_decimal() == Decimal(contract_value)
    assert instrument.price_increment.as_decimal() == Decimal(tick)
    assert instrument.size_increment.as_decimal() == Decimal(lot)
    assert instrument.min_quantity.as_decimal() == Decimal(min_size)
    assert instrument.maker_fee == Decimal("0.0002")
    assert instrument.taker_fee == Decimal("0.0005")
    assert instrument.margin_init == Decimal(1) / max_leverage
    assert instrument.quote_currency.code == "USDT" and instrument.settlement_currency.code == "USDT"
    assert not instrument.is_inverse


@pytest.mark.parametrize("base", ["BTC", "ETH", "SOL"])
def test_real_okx_candles_sit_on_the_instrument_grids(base):
    instrument = okx_swap(f"{base}-USDT-SWAP")
    frame = pd.read_parquet(next(SAMPLE.glob(f"okx_swap_{base}-USDT-SWAP_*.parquet")))
    tick = float(instrument.price_increment)
    prices = frame[["open", "high", "low", "close"]].to_numpy() / tick
    assert np.allclose(prices, np.round(prices), atol=1e-6)
    # OKX `vol` (contracts) x contract value = `volCcy` (base units)
    contracts = frame["volume_contracts"].to_numpy()
    assert np.allclose(contracts * float(instrument.multiplier), frame["volume"].to_numpy(), rtol=1e-9, atol=1e-9)
    lots = contracts / float(instrument.size_increment)
    assert np.allclose(lots, np.round(lots), atol=1e-6)


def test_unknown_instrument_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown instrument 'DOGE-USDT-SWAP'; known: BTC-USDT-SWAP"):
        okx_swap("DOGE-USDT-SWAP")
