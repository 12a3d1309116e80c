"""Backtest config validation: every bad key is named, with a suggestion where one is close."""

from pathlib import Path

import pytest
import yaml

from ravebear.platform.nodes.run_file import ConfigError, load_run_file, parse_run_file

DEFAULT = Path(__file__).resolve().parents[2] / "config" / "backtest.yaml"


def with_changes(mutate) -> str:
    raw = yaml.safe_load(DEFAULT.read_text())
    mutate(raw)
    return yaml.safe_dump(raw)


def test_default_config_is_valid():
    config, text = load_run_file(DEFAULT)
    assert config.venue.name == "OKX" and config.venue.taker_fee_bps == 5.0
    assert [d.instrument_id for d in config.data] == ["BTC-USDT-SWAP.OKX", "ETH-USDT-SWAP.OKX", "SOL-USDT-SWAP.OKX"]
    assert config.strategies[0].strategy_path.endswith("untouched_wick:UntouchedWick")


def test_a_yaml_date_stays_iso_text():
    config = parse_run_file(with_changes(lambda raw: raw["data"][0].update(start=__import__("datetime").date(2026, 7, 27))))
    assert config.data[0].start == "2026-07-27"


def test_instruments_map_expands_to_one_strategy_per_instrument_with_merged_overrides():
    config, _ = load_run_file(DEFAULT)
    expanded = config.strategies[0].expanded()
    assert [(c["instrument_id"], c["order_id_tag"]) for c in expanded] == [
        ("BTC-USDT-SWAP.OKX", "001"), ("ETH-USDT-SWAP.OKX", "002"), ("SOL-USDT-SWAP.OKX", "003"),
    ]  # fmt: skip
    btc, sol = expanded[0]["exits"], expanded[2]["exits"]
    assert sol["min_stop_bps"] == 70.0 and btc["min_stop_bps"] == 50.0
    assert {k: v for k, v in sol.items() if k != "min_stop_bps"} == {k: v for k, v in btc.items() if k != "min_stop_bps"}  # deep merge keeps the rest


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda raw: raw["strategies"][0]["config"]["exits"].update(trailing_ofset_bps=3),
         "c.yaml: strategies[0]: config for BTC-USDT-SWAP.OKX: unknown key 'exits.trailing_ofset_bps' (did you mean 'trailing_offset_bps'?) for UntouchedWickConfig"),
        (lambda raw: raw["risk"].update(max_open_position=3),
         "c.yaml: risk: unknown key 'max_open_position' (did you mean 'max_open_positions'?)"),
        (lambda raw: raw["risk"].update(max_drawdown_pct=-1),
         "c.yaml: 'risk.max_drawdown_pct' must be between 0 and 100 % from the equity peak (0 = off), got -1"),
        (lambda raw: raw["strategies"][0]["instruments"]["ETH-USDT-SWAP.OKX"].update(max_touch_depth_bp=3),
         "c.yaml: strategies[0]: unknown key 'instruments.ETH-USDT-SWAP.OKX.max_touch_depth_bp' for UntouchedWickConfig (did you mean 'max_touch_depth_bps'?)"),
        (lambda raw: raw["strategies"][0]["config"].update(sides=["long", "sideways"]),
         "c.yaml: strategies[0]: config for BTC-USDT-SWAP.OKX: sides: unknown ['sideways']; use 'long' and/or 'short'"),
        (lambda raw: raw["strategies"][0]["config"]["levels"].update(wick={"min_wick_bps": 1}),
         "c.yaml: strategies[0]: config for BTC-USDT-SWAP.OKX: unknown level engine key(s): wick; known: timeframes, detectors, wicks, poor, boxes, origins, confluence, pressure, confluence_enabled"),
        (lambda raw: raw["strategies"][0]["instruments"]["SOL-USDT-SWAP.OKX"]["exits"].update(min_stop_bps=500),
         "c.yaml: strategies[0]: config for SOL-USDT-SWAP.OKX: exits.min_stop_bps must not exceed exits.max_stop_bps - at `exits` for UntouchedWickConfig"),
        (lambda raw: raw["strategies"][0]["config"].update(risk_per_trade_pct="lots"),
         "c.yaml: strategies[0]: config for BTC-USDT-SWAP.OKX: Expected `float`, got `str` - at `risk_per_trade_pct` for UntouchedWickConfig"),
        (lambda raw: raw["strategies"][0]["config"].update(entry_filter={"conditions": ["fundng"]}),
         "c.yaml: strategies[0]: config for BTC-USDT-SWAP.OKX: entry_filter.conditions: unknown 'fundng'; known: usdt_dominance, whale_flow, oi_change, funding, crowding, wick_alignment - at `entry_filter` for UntouchedWickConfig"),
    ],
)  # fmt: skip
def test_strategy_risk_and_exit_mistakes_are_named(mutate, message):
    with pytest.raises(ConfigError) as error:
        parse_run_file(with_changes(mutate), "c.yaml")
    assert str(error.value) == message


def test_mistyped_venue_key_is_named_with_a_suggestion():
    text = with_changes(lambda raw: raw["venue"].update(taker_fe_bps=4.0))
    with pytest.raises(ConfigError) as error:
        parse_run_file(text, "my.yaml")
    assert str(error.value) == "my.yaml: unknown key 'venue.taker_fe_bps' (did you mean 'taker_fee_bps'?)"


def test_unknown_top_level_and_nested_keys_are_all_named():
    def mutate(raw):
        raw["risks"] = {"max": 1}
        raw["data"][0]["instrument"] = "BTC-USDT-SWAP.OKX"
        raw["venue"]["fill_model"]["prob_slipage"] = 0.1

    with pytest.raises(ConfigError) as error:
        parse_run_file(with_changes(mutate), "c.yaml")
    message = str(error.value)
    assert "unknown key 'risks'" in message
    assert "unknown key 'data[0].instrument' (did you mean 'instrument_id'?)" in message
    assert "unknown key 'venue.fill_model.prob_slipage' (did you mean 'prob_slippage'?)" in message


def test_unknown_strategy_config_key_is_named_with_the_strategy_config_class():
    text = with_changes(lambda raw: raw["strategies"][0]["config"].update(max_touch_depth=3))
    with pytest.raises(ConfigError, match=r"strategies\[0\]: unknown key 'config.max_touch_depth' for UntouchedWickConfig \(did you mean 'max_touch_depth_bps'\?\)"):
        parse_run_file(text, "c.yaml")


def test_bad_values_and_missing_sections_are_explained():
    text = with_changes(lambda raw: raw["venue"].update(starting_balance="lots"))
    with pytest.raises(ConfigError, match=r"'venue.starting_balance': expected '<amount> <CURRENCY>'"):
        parse_run_file(text)
    text = with_changes(lambda raw: raw.pop("strategies"))
    with pytest.raises(ConfigError, match="nothing to run: add 'strategies' or 'actors'"):
        parse_run_file(text)
    text = with_changes(lambda raw: raw["strategies"][0].update(strategy_path="ravebear.strategies.nope:Nope"))
    with pytest.raises(ConfigError, match="cannot import strategy config 'ravebear.strategies.nope:NopeConfig'"):
        parse_run_file(text)
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_run_file("run: [unclosed")


RUN_FILES = sorted(DEFAULT.parent.glob("*.yaml"))
RUN_FILES += sorted((DEFAULT.parent / "backtests").glob("*.yaml"))


@pytest.mark.parametrize("path", RUN_FILES, ids=lambda p: p.name)
def test_every_shipped_run_file_is_valid(path):
    config, _ = load_run_file(path)
    assert config.strategies and config.data
