"""Entry confluence filter: each condition on hand-built rows of the real data types, plus real level events and real funding rates.

Hand-built cases state their expected figures in comments; the wick condition is checked
against a from-scratch recomputation over the level events of the bundled OKX sample, and the
funding condition against a direct count over Binance's real BTCUSDT funding history.
"""

from pathlib import Path

import msgspec
import numpy as np
import pandas as pd
import pytest
from nautilus_trader.model.data import Bar, BarType, CustomData, DataType
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price, Quantity

from ravebear.catalog.alt_data.types import Dominance, FundingRate, LongShortRatio, OpenInterest, WhaleTransaction
from ravebear.strategies.entry_filter import EntryFilter, EntryFilterConfig
from ravebear.strategies.levels.engine import LevelEngineConfig
from ravebear.strategies.levels.model import EventKind, Level, LevelEvent, LevelKind, LevelSide
from ravebear.strategies.levels.replay import replay_levels
from ravebear.strategies.levels.wicks import WickConfig
from tests.shared_data import SHARED

H = 3_600_000_000_000  # one hour in ns
BTC = "BTC-USDT-SWAP.OKX"
ETH = "ETH-USDT-SWAP.OKX"
REPO = Path(__file__).resolve().parents[2]
BINANCE_FUNDING = SHARED / "funding_oi" / "binance_usdm_BTCUSDT_funding_8h.parquet"


def make(*conditions: str, **settings) -> EntryFilter:
    return EntryFilter(EntryFilterConfig(conditions=conditions, **settings))


def dominance(hours: float, percent: float, asset: str = "USDT", source: str = "coingecko") -> Dominance:
    ts = int(hours * H)
    return Dominance(asset=asset, percent=percent, source=source, ts_event=ts, ts_init=ts)


def whale(hours: float, usd: float, flow: str, symbol: str = "btc") -> WhaleTransaction:
    ts = int(hours * H)
    return WhaleTransaction(transaction_id=f"{hours}-{usd}", symbol=symbol, amount_usd=usd, flow=flow, ts_event=ts, ts_init=ts)


def open_interest(hours: float, value: float, usd: bool = False, instrument: str = BTC) -> OpenInterest:
    ts = int(hours * H)
    return OpenInterest(instrument_id=InstrumentId.from_str(instrument), open=value, high=value, low=value, close=value,
                        usd=usd, ts_event=ts, ts_init=ts)  # fmt: skip


def funding(hours: float, rate: float, predicted: bool = False, instrument: str = BTC) -> FundingRate:
    ts = int(hours * H)
    return FundingRate(instrument_id=InstrumentId.from_str(instrument), open=rate, high=rate, low=rate, close=rate,
                       predicted=predicted, interval_s=28_800, ts_event=ts, ts_init=ts)  # fmt: skip


def ratio(hours: float, value: float, instrument: str = BTC) -> LongShortRatio:
    ts = int(hours * H)
    return LongShortRatio(instrument_id=InstrumentId.from_str(instrument), ratio=value, ts_event=ts, ts_init=ts)


def sides(entry_filter: EntryFilter, hours: float, instrument: str = BTC, price: float = 100.0) -> tuple[str, str]:
    """The single ON condition's answer for a long and a short: agree / disagree / missing."""

    def state(side: str) -> str:
        verdict = entry_filter.check(int(hours * H), instrument, side, price)
        return "agree" if verdict.agree else "disagree" if verdict.disagree else "missing"

    return state("long"), state("short")


# -- configuration -------------------------------------------------------------------------


def test_a_filter_without_conditions_allows_every_entry():
    verdict = EntryFilter(EntryFilterConfig()).check(0, BTC, "long", 100.0)
    assert (verdict.allowed, verdict.agree, verdict.disagree, verdict.missing, verdict.detail) == (True, (), (), (), "no conditions")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"conditions": ["funding", "moon_phase"]}, "entry_filter.conditions: unknown 'moon_phase'"),
        ({"conditions": ["funding"], "min_agree": 2}, "entry_filter.min_agree must be in [0, 1]"),
        ({"conditions": ["funding"], "missing_data": "ignore"}, "entry_filter.missing_data must be one of pass, block"),
        ({"conditions": ["funding"], "whale_window_h": 0}, "entry_filter.whale_window_h must be > 0 hours"),
        ({"conditions": ["wick_alignment"], "wick_alignment_min": 4}, "entry_filter.wick_alignment_min must be in [1, 3]"),
        ({"conditions": ["funding"], "fundng_max_abs": 0.001}, "unknown field `fundng_max_abs`"),
    ],
)
def test_config_rejects_bad_settings_naming_the_key(raw, message):
    with pytest.raises((ValueError, msgspec.ValidationError), match=message.replace("[", r"\[").replace("]", r"\]")):
        msgspec.convert(raw, EntryFilterConfig)


def test_check_rejects_an_unknown_side():
    with pytest.raises(ValueError, match="side must be 'long' or 'short', got 'buy'"):
        make("funding").check(0, BTC, "buy", 100.0)


# -- usdt_dominance ------------------------------------------------------------------------


def test_usdt_dominance_rising_is_against_longs_falling_for_them_flat_for_both():
    f = make("usdt_dominance")
    for row in (dominance(0, 4.00), dominance(12, 4.10), dominance(24, 4.30), dominance(30, 4.32)):
        f.on_data(row)
    f.on_data(dominance(30, 9.0, asset="BTC"))  # another asset: ignored
    assert sides(f, 20) == ("missing", "missing")  # window start -4 h: nothing that old
    assert sides(f, 30) == ("disagree", "agree")  # 4.32 - 4.00 (row at 0 h) = +0.32 pp: rising
    verdict = f.check(36 * H, BTC, "long", 100.0)
    assert verdict.detail.startswith("blocked long (0/1 agree, need all): USDT dominance rising +0.220 pp in 24 h")  # 4.32 - 4.10
    assert sides(f, 50) == ("agree", "agree")  # 4.32 - 4.30 = +0.02 pp < 0.05: flat
    assert sides(f, 54.5) == ("missing", "missing")  # nothing inside (30.5 h, 54.5 h]: stale

    falling = make("usdt_dominance")
    for row in (dominance(0, 4.50), dominance(24, 4.40)):
        falling.on_data(row)
    assert sides(falling, 24) == ("agree", "disagree")  # -0.10 pp: risk-on


def test_usdt_dominance_can_be_limited_to_one_source():
    f = make("usdt_dominance", dominance_source="coingecko")
    for row in (dominance(0, 4.0), dominance(24, 4.0), dominance(24, 5.0, source="computed")):
        f.on_data(row)
    assert sides(f, 24) == ("agree", "agree")  # the other source's jump is not read


# -- whale_flow ----------------------------------------------------------------------------


def test_whale_flow_nets_exchange_inflows_against_outflows_in_its_window():
    f = make("whale_flow")
    assert sides(f, 0) == ("missing", "missing")  # no whale transaction yet
    f.on_data(whale(0, 8e6, "exchange_inflow"))
    f.on_data(whale(1, 2e6, "exchange_outflow", "eth"))
    f.on_data(whale(2, 3e6, "exchange_inflow", "USDT"))  # a stablecoin to an exchange is buying power: -3M
    f.on_data(whale(3, 50e6, "exchange_internal"))  # neither in nor out
    assert sides(f, 3) == ("agree", "agree")  # 8 - 2 - 3 = +3M: below 5M, neutral
    f.on_data(whale(4, 4e6, "exchange_inflow"))
    assert sides(f, 4) == ("disagree", "agree")  # +7M: sell pressure
    assert "whale net inflow 7.0M USD in 6 h" in f.check(4 * H, BTC, "long", 100.0).detail
    assert sides(f, 6.5) == ("agree", "agree")  # window (0.5 h, 6.5 h]: the 8M at 0 h left: -2 - 3 + 4 = -1M
    f.on_data(whale(7, 6.5e6, "exchange_outflow"))
    assert sides(f, 7.5) == ("agree", "disagree")  # (1.5 h, 7.5 h]: -3 + 4 - 6.5 = -5.5M: coins leave exchanges
    assert sides(f, 31) == ("agree", "agree")  # the last transfer is 24 h old: still fresh, the window is empty
    assert sides(f, 31.5) == ("missing", "missing")  # more than 24 h: the feed is down


def test_whale_flow_can_count_stablecoins_like_any_coin():
    f = make("whale_flow", whale_stablecoins=())
    f.on_data(whale(0, 6e6, "exchange_inflow", "usdt"))
    assert sides(f, 1) == ("disagree", "agree")


# -- oi_change -----------------------------------------------------------------------------


def test_oi_surge_with_price_falling_traps_longs_and_with_price_rising_traps_shorts():
    f = make("oi_change")
    for hours, value in ((0, 1000.0), (1, 1020.0), (2, 1040.0), (4, 1060.0), (5, 1080.0)):
        f.on_data(open_interest(hours, value))
    f.on_data(open_interest(5, 9e9, usd=True))  # USD notional rows: ignored by default
    bar_type = BarType.from_str(f"{BTC}-1-MINUTE-LAST-EXTERNAL")
    f.on_data(Bar(bar_type, Price.from_str("100.0"), Price.from_str("100.0"), Price.from_str("100.0"), Price.from_str("100.0"),
                  Quantity.from_int(1), 0, 0))  # fmt: skip
    f.on_price(BTC, 1 * H, 99.0)
    f.on_price(BTC, 3 * H, 97.0)
    assert sides(f, 3, price=97.0) == ("missing", "missing")  # window start -1 h: no OI that old
    # window (1 h, 5 h]: OI 1080 / 1020 - 1 = +5.88 % > 5 %; price vs 99 at 1 h
    assert sides(f, 5, price=98.0) == ("disagree", "agree")  # price -1.01 %
    assert sides(f, 5, price=100.0) == ("agree", "disagree")  # price +1.01 %
    assert "OI +5.88 % in 4 h with price -1.01 %" in f.check(5 * H, BTC, "long", 98.0).detail
    assert sides(f, 6, price=98.0) == ("agree", "agree")  # 1080 / 1040 - 1 = +3.85 %: no surge
    assert sides(f, 6, instrument=ETH) == ("missing", "missing")


def test_oi_without_a_price_from_the_window_start_is_missing():
    f = make("oi_change")
    f.on_data(open_interest(0, 1000.0))
    f.on_data(open_interest(4, 1100.0))
    f.on_price(BTC, 2 * H, 100.0)  # inside the window only
    assert sides(f, 4) == ("missing", "missing")


# -- funding and crowding ------------------------------------------------------------------


def test_funding_blocks_the_side_that_pays_beyond_the_limit():
    f = make("funding")
    assert sides(f, 0) == ("missing", "missing")
    f.on_data(funding(0, 0.0007))
    f.on_data(funding(1, -0.0100, predicted=True))  # predicted rows are not read by default
    assert sides(f, 1) == ("disagree", "agree")
    assert f.check(1 * H, BTC, "long", 100.0).detail == "blocked long (0/1 agree, need all): funding +0.0700 % > +0.0500 %"
    f.on_data(funding(8, -0.0007))
    assert sides(f, 8) == ("agree", "disagree")
    f.on_data(funding(16, 0.0003))
    assert sides(f, 16) == ("agree", "agree")  # within ±0.05 %
    assert sides(f, 16, instrument=ETH) == ("missing", "missing")
    assert sides(f, 40.5) == ("missing", "missing")  # 24.5 h old


def test_funding_can_read_the_predicted_rate():
    f = make("funding", funding_use_predicted=True)
    f.on_data(funding(0, 0.0007))
    f.on_data(funding(1, -0.0100, predicted=True))
    assert sides(f, 1) == ("agree", "disagree")


def test_crowding_blocks_the_crowded_side():
    f = make("crowding")
    f.on_data(ratio(0, 3.0))
    assert sides(f, 0) == ("disagree", "agree")
    f.on_data(ratio(1, 0.3))  # below 1 / 2.5 = 0.4
    assert sides(f, 1) == ("agree", "disagree")
    f.on_data(ratio(2, 1.5))
    assert sides(f, 2) == ("agree", "agree")


def test_wrapped_custom_data_is_unwrapped():
    f = make("funding")
    f.on_data(CustomData(DataType(FundingRate), funding(0, 0.0007)))
    assert sides(f, 0) == ("disagree", "agree")


# -- combining -----------------------------------------------------------------------------


def test_min_agree_counts_agreeing_conditions():
    rows = (funding(0, 0.0007), ratio(0, 0.3), whale(0, 1e6, "exchange_inflow"))  # long: funding no, crowding yes, whale neutral
    verdicts = {}
    for min_agree in (0, 1, 2, 3):
        f = make("funding", "crowding", "whale_flow", min_agree=min_agree)
        for row in rows:
            f.on_data(row)
        verdicts[min_agree] = f.check(0, BTC, "long", 100.0)
    assert [v.allowed for v in verdicts.values()] == [False, True, True, False]
    assert (verdicts[2].agree, verdicts[2].disagree, verdicts[2].missing) == (("crowding", "whale_flow"), ("funding",), ())
    assert verdicts[3].detail == "blocked long (2/3 agree, need 3): funding +0.0700 % > +0.0500 %"
    assert verdicts[2].detail.startswith("allowed long (2/3 agree, need 2): funding +0.0700 % > +0.0500 %; long/short 0.30 < 0.40; whale")


def test_missing_data_passes_or_blocks():
    def verdict(missing_data: str, min_agree: int = 0):
        f = make("funding", "crowding", missing_data=missing_data, min_agree=min_agree)
        f.on_data(funding(0, 0.0001))  # neutral; no long/short ratio at all
        return f.check(0, BTC, "long", 100.0)

    passed, blocked, one_of_two = verdict("pass"), verdict("block"), verdict("block", min_agree=1)
    assert (passed.allowed, passed.agree, passed.missing) == (True, ("funding",), ("crowding",))
    assert (blocked.allowed, blocked.detail) == (False, "blocked long (1/2 agree, need all): long/short ratio: no data for BTC-USDT-SWAP.OKX")
    assert one_of_two.allowed  # funding agrees, one is enough


# -- wick_alignment ------------------------------------------------------------------------


def wick(side: LevelSide, price: float, timeframe: str, created: int = 1) -> Level:
    return Level(LevelKind.WICK, side, price, price, timeframe, created, created, 1.0)


def test_wick_alignment_counts_timeframes_with_a_live_wick_near_the_entry():
    f = make("wick_alignment")
    assert sides(f, 0) == ("missing", "missing")
    one_hour, fifteen, five = wick(LevelSide.SUPPORT, 99.5, "1h"), wick(LevelSide.SUPPORT, 99.2, "15m"), wick(LevelSide.SUPPORT, 98.0, "5m")
    for level in (one_hour, fifteen, five, wick(LevelSide.SUPPORT, 99.9, "1m"), wick(LevelSide.RESISTANCE, 100.5, "1h")):
        f.on_level_event(BTC, LevelEvent(EventKind.CREATED, level, 1))
    box = Level(LevelKind.BOX, LevelSide.RANGE, 99.0, 99.8, "5m", 1, 1, 1.0)
    f.on_level_event(BTC, LevelEvent(EventKind.CREATED, box, 1))  # not a wick
    # long at 100: 1h at 50 bps and 15m at 80 bps count; 5m at 200 bps is too far; 1m is not a configured timeframe
    assert sides(f, 0) == ("agree", "disagree")  # shorts: one resistance timeframe (1h) of the 2 needed
    assert "untouched support wicks within 100 bps on 2/3 timeframes (1h, 15m), need 2" in f.check(0, BTC, "long", 100.0).detail
    f.on_level_event(BTC, LevelEvent(EventKind.TOUCHED, fifteen, 2))
    assert sides(f, 0) == ("disagree", "disagree")
    f.on_level_event(BTC, LevelEvent(EventKind.CREATED, wick(LevelSide.SUPPORT, 99.1, "5m", created=3), 3))
    assert sides(f, 0) == ("agree", "disagree")
    assert sides(f, 0, price=99.3) == ("disagree", "disagree")  # the 1h wick at 99.5 is above a long at 99.3
    assert sides(f, 0, instrument=ETH) == ("missing", "missing")


def test_wick_alignment_on_real_level_events_matches_a_recomputation(okx_btc):
    config = EntryFilterConfig(conditions=("wick_alignment",), wick_alignment_max_distance_bps=60.0)
    engine_config = LevelEngineConfig(wicks=WickConfig(min_wick_bps=5.0))
    events = replay_levels(okx_btc, engine_config)
    close_by_ns = dict(zip(((okx_btc["ts"].to_numpy() + 60_000) * 1_000_000).tolist(), okx_btc["close"].tolist(), strict=True))
    checkpoints = sorted(close_by_ns)[500::250]

    def recompute(upto: int, side: str, price: float) -> int:
        live: dict[tuple, Level] = {}
        for _, event in events[:upto]:
            key = (event.level.kind, event.level.side, event.level.timeframe, event.level.created_ts, event.level.low)
            if event.kind is EventKind.CREATED:
                live[key] = event.level
            elif event.kind in (EventKind.TOUCHED, EventKind.INVALIDATED, EventKind.EXPIRED):
                live.pop(key, None)
        wanted = LevelSide.SUPPORT if side == "long" else LevelSide.RESISTANCE
        timeframes = set()
        for level in live.values():
            if level.kind is LevelKind.WICK and level.side is wanted and level.timeframe in config.wick_alignment_timeframes:
                distance = (price - level.low) / price * 1e4 if side == "long" else (level.low - price) / price * 1e4
                if 0.0 <= distance <= config.wick_alignment_max_distance_bps:
                    timeframes.add(level.timeframe)
        return len(timeframes)

    f = EntryFilter(config)
    fed = 0
    outcomes = {"long": [], "short": []}
    for ts in checkpoints:
        while fed < len(events) and events[fed][1].ts <= ts:
            f.on_level_event(BTC, events[fed][1])
            fed += 1
        price = close_by_ns[ts]
        for side in ("long", "short"):
            verdict = f.check(ts, BTC, side, price)
            expected = recompute(fed, side, price) >= config.wick_alignment_min
            assert verdict.allowed == expected, (ts, side, verdict.detail)
            outcomes[side].append(expected)
    assert len(checkpoints) > 100  # 104 checks a side
    for side, seen in outcomes.items():  # the sample exercises both answers on both sides
        assert True in seen and False in seen, side


# -- funding on real Binance rates ---------------------------------------------------------


@pytest.mark.skipif(not BINANCE_FUNDING.exists(), reason=f"shared data not found: {BINANCE_FUNDING}")
def test_funding_blocks_as_often_as_the_real_rates_exceed_the_limit():
    limit = 0.00006
    rates = pd.read_parquet(BINANCE_FUNDING).sort_values("ts", kind="stable")
    instrument_id = InstrumentId.from_str("BTCUSDT-PERP.BINANCE")
    rows = [
        FundingRate(instrument_id=instrument_id, open=rate, high=rate, low=rate, close=rate, interval_s=28_800,
                    ts_event=ts * 1_000_000, ts_init=ts * 1_000_000)
        for ts, rate in zip(rates["ts"].tolist(), rates["funding_rate"].tolist(), strict=True)
    ]  # fmt: skip
    first_hour = rates["ts"].iloc[0] // 3_600_000 * 3_600_000
    checks = np.arange(first_hour, rates["ts"].iloc[-1] + 48 * 3_600_000, 3_600_000, dtype=np.int64) * 1_000_000  # hourly, ns

    f = EntryFilter(EntryFilterConfig(conditions=("funding",), funding_max_abs=limit))
    blocked = {"long": 0, "short": 0}
    missing = 0
    row = 0
    for ts in checks.tolist():
        while row < len(rows) and rows[row].ts_event <= ts:
            f.on_data(rows[row])
            row += 1
        for side in blocked:
            verdict = f.check(ts, "BTCUSDT-PERP.BINANCE", side, 60_000.0)
            blocked[side] += not verdict.allowed
        missing += bool(verdict.missing)

    # directly: the last rate at or before each check, unless it is more than 24 h old
    fund_ns = rates["ts"].to_numpy() * 1_000_000
    last = np.searchsorted(fund_ns, checks, side="right") - 1
    known = (last >= 0) & (checks - fund_ns[np.maximum(last, 0)] <= 24 * 3_600_000_000_000)
    current = pd.Series(rates["funding_rate"].to_numpy()[np.maximum(last, 0)])[known]
    assert blocked == {"long": int((current > limit).sum()), "short": int((current < -limit).sum())}
    assert missing == int((~known).sum())
    assert blocked["long"] > 100 and blocked["short"] > 10 and missing > 100  # the history has both signs and gaps


def test_the_filter_config_names_the_alt_data_types_its_conditions_read():
    from ravebear.catalog.alt_data import types

    config = EntryFilterConfig(conditions=("wick_alignment", "funding", "whale_flow", "crowding"))
    assert config.required_data_types() == ("FundingRate", "LongShortRatio", "WhaleTransaction")
    assert all(isinstance(getattr(types, name), type) for name in config.required_data_types())
    assert EntryFilterConfig().required_data_types() == ()
