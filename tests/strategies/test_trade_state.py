"""TradeState's stored JSON is the format the previous version wrote under "ravebear": a restarted node loads it."""

import math

import msgspec
from nautilus_trader.model.identifiers import ClientOrderId

from ravebear.risk.exits import ExitPlan
from ravebear.strategies.trade_state import TradeState, decode_state, encode_state

# what LevelStrategy.on_save stored before the split: a dict encoded field by field
PREVIOUS = {
    "plan": [-1, 3012.5, 3030.8, [[2994.2, 0.5], [2939.3, 1.0]], 2990.54, 3008.885, None],
    "entry_id": "O-20260727-060500-001-000-1",
    "entry_filled": True,
    "bars_held": 17,
    "breakeven_done": False,
    "cooldown": 0,
    "guards": {"halted": False, "_peak": 10012.5, "_peak_ts": 1785132300000000000, "_last_equity": 9990.25,
               "_last_ts": 1785132360000000000, "_day": 20661, "_day_start_equity": math.nan, "_day_start_ts": 0,
               "_halt_detail": "", "_daily_detail": ""},
}  # fmt: skip


def test_the_previous_versions_state_loads_and_is_written_back_byte_for_byte():
    raw = msgspec.json.encode(PREVIOUS)
    state, guards = decode_state(raw)
    assert state.plan == ExitPlan(-1, 3012.5, 3030.8, ((2994.2, 0.5), (2939.3, 1.0)), 2990.54, 3008.885, None)
    assert state.entry_id == ClientOrderId("O-20260727-060500-001-000-1")
    assert (state.entry_filled, state.bars_held, state.breakeven_done, state.cooldown) == (True, 17, False, 0)
    assert guards["_peak"] == 10012.5 and guards["_day_start_equity"] is None  # NaN is stored as null
    assert encode_state(state, guards) == raw


def test_a_flat_state_stores_nulls_and_missing_fields_take_their_defaults():
    assert encode_state(TradeState(cooldown=3), {}) == (
        b'{"plan":null,"entry_id":null,"entry_filled":false,"bars_held":0,"breakeven_done":false,"cooldown":3,"guards":{}}'
    )
    state, guards = decode_state(b'{"cooldown":2,"future_field":1}')
    assert state == TradeState(cooldown=2) and guards == {}
