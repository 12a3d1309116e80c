"""Fixed-fractional sizing as a table of cases."""

from decimal import Decimal as D

import pytest

from ravebear.risk.sizing import fixed_fractional_contracts

BTC = {"contract_value": D("0.01"), "lot_size": D("0.01"), "min_size": D("0.01")}


@pytest.mark.parametrize(
    ("equity", "risk", "entry", "stop", "leverage", "expected", "reason"),
    [
        # 10k equity, 0.5 % risk = 50 USDT; stop 325 USDT/BTC away = 3.25 USDT per contract -> 15.38 contracts
        (D(10_000), D("0.005"), D(65_000), D(64_675), D(3), D("15.38"), ""),
        # leverage cap: 3 x 10k / (65k x 0.01) = 46.15 contracts, below the 500 the risk would allow
        (D(10_000), D("0.005"), D(65_000), D(64_990), D(3), D("46.15"), ""),
        # below the minimum size: skipped with the reason
        (D(1), D("0.005"), D(65_000), D(64_000), D(3), D(0), "below the minimum 0.01"),
        (D(0), D("0.005"), D(65_000), D(64_000), D(3), D(0), "no equity"),
        (D(10_000), D("0.005"), D(65_000), D(65_000), D(3), D(0), "stop equals entry"),
    ],
)
def test_fixed_fractional_contracts(equity, risk, entry, stop, leverage, expected, reason):
    decision = fixed_fractional_contracts(equity, risk, entry, stop, max_leverage=leverage, **BTC)
    assert decision.contracts == expected
    assert reason in decision.reason
    if expected:
        loss_at_stop = decision.contracts * abs(entry - stop) * BTC["contract_value"]
        assert loss_at_stop <= equity * risk
        assert decision.contracts * entry * BTC["contract_value"] <= equity * leverage
