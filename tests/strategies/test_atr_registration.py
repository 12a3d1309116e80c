"""The strategy's ATR is fed bars only when an ATR-multiple trailing exit reads it (it costs ~2.8 us a bar otherwise)."""

import pytest

from tests.strategies.shipped_runs import btc_catalog, run_shipped

ROWS = 3_000


@pytest.fixture(scope="module")
def catalog(tmp_path_factory, okx_btc):
    return btc_catalog(tmp_path_factory.mktemp("atr"), okx_btc, ROWS)


def run_atr(catalog, exits: dict):
    """Run the shipped strategy alone on BTC with `exits` overrides; return its ATR after the run."""

    def edit(raw: dict) -> None:
        for key in ("ledger", "alerts", "actors"):
            raw.pop(key)
        raw["strategies"][0]["config"]["exits"].update(exits)

    return run_shipped(catalog, edit, lambda engine: engine.trader.strategies()[0].position_manager.atr)


def test_an_atr_trailing_exit_gets_nautiluss_atr_of_every_bar(catalog, okx_btc):
    from nautilus_trader.indicators import AverageTrueRange

    atr = run_atr(catalog, {"trailing_offset_bps": 0.0, "trailing_atr_multiple": 2.0, "atr_period": 20})
    expected = AverageTrueRange(20)
    for row in okx_btc.iloc[:ROWS].itertuples():
        expected.update_raw(float(row.high), float(row.low), float(row.close))
    assert atr.initialized
    assert atr.value == pytest.approx(expected.value, rel=1e-12)
    assert atr.value > 0


def test_a_bps_trailing_exit_leaves_the_atr_unfed(catalog):
    atr = run_atr(catalog, {})  # the shipped exits: trailing_offset_bps 60, no ATR multiple
    assert not atr.initialized
    assert atr.value == 0.0
