"""Backtest config validation: every bad key is named, with a suggestion where one is close."""

from pathlib import Path

import pytest
import yaml

from ravebear.platform.config import ConfigError, load_backtest_config, parse_backtest_config

DEFAULT = Path(__file__).resolve().parents[1] / "config" / "backtest.yaml"


def with_changes(mutate) -> str:
    raw = yaml.safe_load(DEFAULT.read_text())
    mutate(raw)
    return yaml.safe_dump(raw)


def test_default_config_is_valid():
    config, text = load_backtest_config(DEFAULT)
    assert config.venue.name == "OKX" and config.venue.taker_fee_bps == 5.0
    assert config.data[0].start == "2026-07-27"  # a YAML date stays ISO text
    assert "untouched_wick_long" in config.strategies[0].strategy_path


def test_mistyped_venue_key_is_named_with_a_suggestion():
    text = with_changes(lambda raw: raw["venue"].update(taker_fe_bps=4.0))
    with pytest.raises(ConfigError) as error:
        parse_backtest_config(text, "my.yaml")
    assert str(error.value) == "my.yaml: unknown key 'venue.taker_fe_bps' (did you mean 'taker_fee_bps'?)"


def test_unknown_top_level_and_nested_keys_are_all_named():
    def mutate(raw):
        raw["risk"] = {"max": 1}
        raw["data"][0]["instrument"] = "BTC-USDT-SWAP.OKX"
        raw["venue"]["fill_model"]["prob_slipage"] = 0.1

    with pytest.raises(ConfigError) as error:
        parse_backtest_config(with_changes(mutate), "c.yaml")
    message = str(error.value)
    assert "unknown key 'risk'" in message
    assert "unknown key 'data[0].instrument' (did you mean 'instrument_id'?)" in message
    assert "unknown key 'venue.fill_model.prob_slipage' (did you mean 'prob_slippage'?)" in message


def test_unknown_strategy_config_key_is_named_with_the_strategy_config_class():
    text = with_changes(lambda raw: raw["strategies"][0]["config"].update(take_profit_rr=3))
    with pytest.raises(ConfigError, match=r"strategies\[0\]: unknown key 'config.take_profit_rr' for UntouchedWickLongConfig \(did you mean 'take_profit_r'\?\)"):
        parse_backtest_config(text, "c.yaml")


def test_bad_values_and_missing_sections_are_explained():
    text = with_changes(lambda raw: raw["venue"].update(starting_balance="lots"))
    with pytest.raises(ConfigError, match=r"'venue.starting_balance': Value error, expected '<amount> <CURRENCY>'"):
        parse_backtest_config(text)
    text = with_changes(lambda raw: raw.pop("strategies"))
    with pytest.raises(ConfigError, match="nothing to run: add 'strategies' or 'actors'"):
        parse_backtest_config(text)
    text = with_changes(lambda raw: raw["strategies"][0].update(strategy_path="ravebear.strategies.nope:Nope"))
    with pytest.raises(ConfigError, match="cannot import strategy config 'ravebear.strategies.nope:NopeConfig'"):
        parse_backtest_config(text)
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_backtest_config("run: [unclosed")
