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
    text = with_changes(lambda raw: (raw.pop("strategies"), raw.pop("actors")))
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


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda raw: raw["strategies"][0]["config"].update(risk_per_trade_pct=-5),
         "'strategies[0].config.risk_per_trade_pct' must be above 0 and at most 10 % of equity lost at the stop, got -5"),
        (lambda raw: raw["strategies"][0]["config"].update(max_leverage=0),
         "'strategies[0].config.max_leverage' must be above 0 and at most 125 x equity, got 0"),
        (lambda raw: raw["strategies"][0]["config"].update(max_touch_depth_bps=-1),
         "'strategies[0].config.max_touch_depth_bps' must be between 0 and 5,000 bps through the level, got -1"),
        (lambda raw: raw["strategies"][0]["config"]["levels"]["wicks"].update(max_age_bars=0),
         "'strategies[0].config.levels.wicks.max_age_bars' must be between 1 and 1,000,000 candles, got 0"),
        (lambda raw: raw["strategies"][0]["instruments"]["SOL-USDT-SWAP.OKX"]["exits"].update(stop_buffer_bps=-6),
         "'strategies[0].instruments.SOL-USDT-SWAP.OKX.exits.stop_buffer_bps' must be between 0 and 1,000 bps, got -6"),
        (lambda raw: raw["risk"].update(daily_loss_limit_pct=150),
         "'risk.daily_loss_limit_pct' must be between 0 and 100 % of the day's first equity (0 = off), got 150"),
        (lambda raw: raw["risk"].update(max_open_positions=-1),
         "'risk.max_open_positions' must be between 0 and 1,000 positions (0 = off), got -1"),
        (lambda raw: raw["venue"].update(taker_fee_bps=-5), "'venue.taker_fee_bps' must be between 0 and 100 bps, got -5"),
        (lambda raw: raw["venue"].update(maker_fee_bps=-20),
         "'venue.maker_fee_bps' must be between -10 and 100 bps (negative = a rebate), got -20"),
        (lambda raw: raw["venue"]["fill_model"].update(prob_slippage=1.5),
         "'venue.fill_model.prob_slippage' must be between 0 and 1 (a probability), got 1.5"),
        (lambda raw: raw["venue"].update(default_leverage=0), "'venue.default_leverage' must be above 0 and at most 125 x, got 0"),
        (lambda raw: raw["venue"].update(leverages={"BTC-USDT-SWAP.OKX": 500}),
         "'venue.leverages.BTC-USDT-SWAP.OKX' must be above 0 and at most 125 x, got 500"),
        (lambda raw: raw["venue"].update(starting_balance="0 USDT"), "'venue.starting_balance' must be above 0, got '0 USDT'"),
        (lambda raw: raw.update(node={"venue_check_s": -1}), "'node.venue_check_s' must be between 0 and 3,600 s (0 = off), got -1"),
        (lambda raw: raw.update(actors=[{"actor_path": "ravebear.strategies.level_actor:LevelActor",
                                         "config": {"instrument_ids": ["BTC-USDT-SWAP.OKX"], "flush_every": 0}}]),
         "'actors[0].config.flush_every' must be between 1 and 10,000,000 events, got 0"),
    ],
)  # fmt: skip
def test_numbers_with_units_outside_their_range_are_named_with_the_range(mutate, message):
    with pytest.raises(ConfigError) as error:
        parse_run_file(with_changes(mutate), "c.yaml")
    assert str(error.value) == f"c.yaml: {message}"


def test_a_sweep_range_upside_down_is_named():
    raw = yaml.safe_load((DEFAULT.parent / "backtests" / "poor-level-reversal.yaml").read_text())
    raw["strategies"][0]["config"]["min_sweep_bps"] = 50
    with pytest.raises(ConfigError) as error:
        parse_run_file(yaml.safe_dump(raw), "p.yaml")
    assert str(error.value) == "p.yaml: strategies[0]: config for BTC-USDT-SWAP.OKX: min_sweep_bps 50 must not exceed max_sweep_bps 40 for PoorLevelReversalConfig"


def test_a_rebate_and_zero_fees_are_allowed():
    config = parse_run_file(with_changes(lambda raw: raw["venue"].update(maker_fee_bps=-0.5, taker_fee_bps=0)))
    assert (config.venue.maker_fee_bps, config.venue.taker_fee_bps) == (-0.5, 0)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda raw: raw["data"][0].update(start="yesterday"),
         "'data[0].start': expected an ISO date or date/time in UTC such as 2026-07-27 or 2026-07-27T12:00, got 'yesterday'"),
        (lambda raw: raw["data"][1].update(start="2026-08-02", end="2026-08-01"),
         "'data[1].start' 2026-08-02 is not before 'data[1].end' 2026-08-01"),
        (lambda raw: raw["data"][1].update(start="2026-08-01T00:00:00Z", end="2026-08-01 00:00"),
         "'data[1].start' 2026-08-01T00:00:00Z is not before 'data[1].end' 2026-08-01 00:00"),
        (lambda raw: raw["strategies"][0]["instruments"].update({"BTC-USDT-SWAP.OKXX": {}}),  # safe_dump sorts: 2nd
         "'strategies[0].instruments[1]' BTC-USDT-SWAP.OKXX is not under data: (did you mean 'BTC-USDT-SWAP.OKX'?); "
         "data: has BTC-USDT-SWAP.OKX, ETH-USDT-SWAP.OKX, SOL-USDT-SWAP.OKX"),
        (lambda raw: raw.update(actors=[{"actor_path": "ravebear.strategies.level_actor:LevelActor", "config": {"instrument_ids": ["DOGE-USDT-SWAP.OKX"]}}]),
         "'actors[0].config.instrument_ids[0]' DOGE-USDT-SWAP.OKX is not under data: (add a data: entry for it); "
         "data: has BTC-USDT-SWAP.OKX, ETH-USDT-SWAP.OKX, SOL-USDT-SWAP.OKX"),
    ],
)  # fmt: skip
def test_data_dates_and_instruments_are_checked_against_data(mutate, message):
    with pytest.raises(ConfigError) as error:
        parse_run_file(with_changes(mutate), "c.yaml")
    assert str(error.value) == f"c.yaml: {message}"


def test_an_actor_without_instrument_ids_watches_every_instrument_under_data():
    full = parse_run_file(DEFAULT.read_text())
    assert full.actors[0].config["instrument_ids"] == [data.instrument_id for data in full.data] == ["BTC-USDT-SWAP.OKX", "ETH-USDT-SWAP.OKX", "SOL-USDT-SWAP.OKX"]

    def only_eth(raw):
        raw["data"] = [{"instrument_id": "ETH-USDT-SWAP.OKX"}]
        raw["strategies"][0]["instruments"] = {"ETH-USDT-SWAP.OKX": {}}

    assert parse_run_file(with_changes(only_eth)).actors[0].config["instrument_ids"] == ["ETH-USDT-SWAP.OKX"]
