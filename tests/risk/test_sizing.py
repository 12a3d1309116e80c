"""Fixed-fractional sizing as a table of hand-computed cases."""

from decimal import Decimal as D

import pandas as pd
import pytest

from ravebear.risk.sizing import fixed_fractional_contracts

# OKX BTC-USDT-SWAP: 1 contract = 0.01 BTC, lot 0.01, minimum 0.01 contracts
BTC = {"contract_value": D("0.01"), "lot_size": D("0.01"), "min_size": D("0.01")}
# a whole-contract swap (lot 1, minimum 1), 1 contract = 1 coin
WHOLE = {"contract_value": D(1), "lot_size": D(1), "min_size": D(1)}


@pytest.mark.parametrize(
    ("spec", "equity", "risk", "entry", "stop", "leverage", "max_notional", "expected", "capped_by", "reason"),
    [
        # 10k equity, 0.5 % risk = 50 USDT; stop 325 USDT/BTC away = 3.25 USDT per contract -> 15.38 contracts
        (BTC, D(10_000), D("0.005"), D(65_000), D(64_675), D(3), None, D("15.38"), "risk", ""),
        # a short: the stop 325 above the entry sizes the same
        (BTC, D(10_000), D("0.005"), D(65_000), D(65_325), D(3), None, D("15.38"), "risk", ""),
        # leverage cap: 3 x 10k / (65k x 0.01) = 46.15 contracts, below the 500 the risk would allow
        (BTC, D(10_000), D("0.005"), D(65_000), D(64_990), D(3), None, D("46.15"), "leverage", ""),
        # notional cap: 500 USDT / 650 USDT per contract = 0.769 -> 0.76 contracts
        (BTC, D(10_000), D("0.005"), D(65_000), D(64_675), D(3), D(500), D("0.76"), "notional", ""),
        # a notional cap above the risk size does not bind
        (BTC, D(10_000), D("0.005"), D(65_000), D(64_675), D(3), D(50_000), D("15.38"), "risk", ""),
        # notional cap below the minimum: 5 / 650 = 0.007692 contracts
        (BTC, D(10_000), D("0.005"), D(65_000), D(64_675), D(3), D(5), D(0), "notional",
         "size 0.007692 contracts is below the minimum 0.01 (capped by max notional 5)"),
        # risk below the minimum: 0.005 USDT to lose / 10 USDT per contract = 0.0005 contracts
        (BTC, D(1), D("0.005"), D(65_000), D(64_000), D(3), None, D(0), "risk",
         "size 0.0005 contracts is below the minimum 0.01 (capped by risk 0.5 % of equity 1)"),
        # leverage below the minimum: 0.01 x 10 / 650 = 0.000153 contracts
        (BTC, D(10), D("0.005"), D(65_000), D(64_999), D("0.01"), None, D(0), "leverage",
         "size 0.000153 contracts is below the minimum 0.01 (capped by max leverage 0.01x on equity 10)"),
        # lot 1: 100 USDT / 3 USDT per contract = 33.3 -> 33 contracts (leverage allows 200)
        (WHOLE, D(10_000), D("0.01"), D(150), D(147), D(3), None, D(33), "risk", ""),
        # lot 1, leverage: 2 x 1,000 / 150 = 13.3 -> 13 contracts (risk allows 200)
        (WHOLE, D(1_000), D("0.02"), D(150), D("149.9"), D(2), None, D(13), "leverage", ""),
        # lot 1, notional: 1,000 / 150 = 6.67 -> 6 contracts
        (WHOLE, D(10_000), D("0.01"), D(150), D(147), D(3), D(1_000), D(6), "notional", ""),
        # lot 1 below the minimum: 1 USDT / 3 USDT per contract = 0.33 contracts
        (WHOLE, D(100), D("0.01"), D(150), D(147), D(3), None, D(0), "risk",
         "size 0.333333 contracts is below the minimum 1 (capped by risk 1 % of equity 100)"),
        (BTC, D(0), D("0.005"), D(65_000), D(64_000), D(3), None, D(0), "", "no equity (0)"),
        (BTC, D(-250), D("0.005"), D(65_000), D(64_000), D(3), None, D(0), "", "no equity (-250)"),
        (BTC, D(10_000), D("0.005"), D(65_000), D(65_000), D(3), None, D(0), "", "stop equals entry"),
        (BTC, D(10_000), D("0.005"), D(0), D(-100), D(3), None, D(0), "", "entry 0 is not a positive price"),
        (BTC, D(10_000), D("0.005"), D(-5), D(-6), D(3), None, D(0), "", "entry -5 is not a positive price"),
        (BTC, D(10_000), D("0.005"), D("NaN"), D(64_000), D(3), None, D(0), "", "entry is NaN, not a finite number"),
        (BTC, D("NaN"), D("0.005"), D(65_000), D(64_000), D(3), None, D(0), "", "equity is NaN, not a finite number"),
        (BTC, D(10_000), D("0.005"), D(65_000), D("Infinity"), D(3), None, D(0), "", "stop is Infinity, not a finite number"),
        (BTC, D(10_000), D(0), D(65_000), D(64_000), D(3), None, D(0), "", "risk fraction 0 is not positive"),
        (BTC, D(10_000), D("0.005"), D(65_000), D(64_000), D(3), D(0), D(0), "", "max notional 0 is not positive"),
    ],
)  # fmt: skip
def test_fixed_fractional_contracts(spec, equity, risk, entry, stop, leverage, max_notional, expected, capped_by, reason):
    decision = fixed_fractional_contracts(
        equity, risk, entry, stop, max_leverage=leverage, max_notional=max_notional, **spec
    )
    assert decision.contracts == expected
    assert decision.capped_by == capped_by
    assert decision.reason == reason
    if expected:
        contract_value = spec["contract_value"]
        assert decision.contracts % spec["lot_size"] == 0
        assert decision.contracts * abs(entry - stop) * contract_value <= equity * risk
        assert decision.contracts * entry * contract_value <= equity * leverage
        if max_notional is not None:
            assert decision.contracts * entry * contract_value <= max_notional
        # one more lot would break the bound that capped the size
        bigger = decision.contracts + spec["lot_size"]
        broken = {
            "risk": bigger * abs(entry - stop) * contract_value > equity * risk,
            "leverage": bigger * entry * contract_value > equity * leverage,
            "notional": max_notional is not None and bigger * entry * contract_value > max_notional,
        }
        assert broken[capped_by]


def test_existing_callers_keyword_arguments_still_work():
    decision = fixed_fractional_contracts(
        equity=D(10_000), risk_fraction=D("0.005"), entry=D(65_000), stop=D(64_675),
        contract_value=D("0.01"), lot_size=D("0.01"), min_size=D("0.01"), max_leverage=D(3),
    )  # fmt: skip
    assert decision == fixed_fractional_contracts(D(10_000), D("0.005"), D(65_000), D(64_675), max_leverage=D(3), **BTC)
    assert decision.contracts == D("15.38")


@pytest.mark.parametrize(
    ("max_notional", "expected", "capped_by"),
    [
        # 1 % of 10,000 = 100 USDT at risk; stop 1 % below 65,240.0 -> 652.4 USDT/BTC = 6.524 USDT per contract
        # -> 15.328 -> 15.32 contracts (3x leverage would allow 45.98)
        (None, D("15.32"), "risk"),
        # 5,000 USDT / (65,240.0 x 0.01) = 7.664 -> 7.66 contracts
        (D(5_000), D("7.66"), "notional"),
    ],
)
def test_btc_swap_sized_at_a_real_okx_price(okx_btc_raw: pd.DataFrame, max_notional, expected, capped_by):
    entry = D(str(okx_btc_raw["close"].iloc[0]))  # the sample's first 1-minute close, 2026-07-27 11:20 UTC
    assert entry == D("65240.0")
    stop = entry - entry / 100  # 64,587.6: on the 0.1 tick
    decision = fixed_fractional_contracts(
        equity=D(10_000), risk_fraction=D("0.01"), entry=entry, stop=stop,
        max_leverage=D(3), max_notional=max_notional, **BTC,
    )  # fmt: skip
    assert stop == D("64587.6")
    assert (decision.contracts, decision.capped_by, decision.reason) == (expected, capped_by, "")
