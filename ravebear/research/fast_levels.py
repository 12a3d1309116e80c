"""Research's fast level replay: `replay_levels`'s events, from compiled kernels.

`fast_replay_levels(frame, config)` returns exactly what
`ravebear.strategies.levels.replay.replay_levels(frame, config)` returns (the same events in
the same order, scores equal to the last bit in practice, and within 1e-12 by contract), more
than ten times faster (`bench.levels_throughput`). `tests/test_fast_levels.py` proves it on
real series and several configs.

How:
1. The higher timeframes come from `resample_candles`, as in `replay_levels`.
2. Detectors on different timeframes never see each other, so each (timeframe, detector)
   runs alone over its candle arrays in a numba kernel (`fast_kernels`, a line-for-line
   transcription of the pure detector), emitting level and event rows.
3. Each candle gets its place in the node's feed order (replay.py): a higher-timeframe candle
   closing before a 1-minute close comes before that 1-minute candle, one closing with it
   right after it. Events sort by (place, detector order in the config, emission order).
4. The confluence stacks only need the book's changes: the CREATED / ending events in feed
   order, each seen by the first 1-minute candle fed after it. A kernel replays
   `ConfluenceTracker.touches` / `rebuild` over them, as `LevelEngine.on_candle` calls them.
5. `Level` and `LevelEvent` objects are built once, at the end, from the columns.

Configs the kernels do not model (a timeframe or detector listed twice, a wick volume
lookback or max_levels below 1, confluence minimums below 1, fractional counts) and empty
frames go to `replay_levels` itself, which gives the same answer, or the same error, slowly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ravebear.gc_paused import gc_paused
from ravebear.research import fast_kernels as kernels
from ravebear.strategies.levels.boxes import BoxDetector
from ravebear.strategies.levels.engine import LevelEngineConfig
from ravebear.strategies.levels.model import EventKind, Level, LevelEvent, LevelKind, LevelSide
from ravebear.strategies.levels.origins import OriginDetector
from ravebear.strategies.levels.poor_levels import PoorLevelDetector
from ravebear.strategies.levels.replay import replay_levels
from ravebear.strategies.levels.timeframes import ONE_MINUTE_MS, resample_candles, timeframe_minutes
from ravebear.strategies.levels.wicks import UntouchedWickDetector

EVENT_KINDS = (EventKind.CREATED, EventKind.TOUCHED, EventKind.INVALIDATED, EventKind.EXPIRED, EventKind.BREAKOUT)
SIDES = (LevelSide.SUPPORT, LevelSide.RESISTANCE, LevelSide.RANGE)
DETECTOR_KINDS = {"wicks": LevelKind.WICK, "poor": LevelKind.POOR, "boxes": LevelKind.BOX, "origins": LevelKind.ORIGIN}
_CODES = {name: code for code, name in enumerate(DETECTOR_KINDS)}  # a (kind, timeframe) pair's bit: code x timeframes + slot
assert tuple(EVENT_KINDS[k] for k in (kernels.CREATED, kernels.TOUCHED, kernels.INVALIDATED, kernels.EXPIRED, kernels.BREAKOUT)) == EVENT_KINDS
assert tuple(SIDES[s] for s in (kernels.SUPPORT, kernels.RESISTANCE, kernels.RANGE)) == SIDES


class _Unsupported(Exception):
    """A config the kernels do not model: use replay_levels."""


def _int(value: Any) -> int:
    if isinstance(value, bool) or not float(value).is_integer():
        raise _Unsupported(value)
    return int(value)


def _first_capacity(n_candles: int) -> int:
    """Event rows to allocate for a kernel run; real series make well under one event per 8 candles."""
    return n_candles // 4 + 1024


def _run_detector(name: str, config: LevelEngineConfig, o: np.ndarray, h: np.ndarray, l: np.ndarray, c: np.ndarray,  # noqa: E741
                  v: np.ndarray) -> tuple[np.ndarray, ...]:  # fmt: skip
    """Run one detector's kernel: level rows (lv_i, lv_f) and event rows (ev_i, ev_f), see fast_kernels."""
    capacity = _first_capacity(len(o))
    while True:
        ev_i, ev_f = np.empty((capacity, 5), dtype=np.int64), np.empty((capacity, 2), dtype=np.float64)
        lv_i, lv_f, n_levels, n_events = _kernel(name, config, o, h, l, c, v, ev_i, ev_f)
        if n_events <= capacity:
            return lv_i[:n_levels].copy(), lv_f[:n_levels].copy(), ev_i[:n_events], ev_f[:n_events]
        capacity = n_events  # the kernel counted them all: run again with room for every one


def _kernel(name: str, config: LevelEngineConfig, o: np.ndarray, h: np.ndarray, l: np.ndarray, c: np.ndarray,  # noqa: E741
            v: np.ndarray, ev_i: np.ndarray, ev_f: np.ndarray) -> tuple:  # fmt: skip
    """Call one detector's kernel; its thresholds are read from a pure detector built from the config."""
    if name == "wicks":
        d = UntouchedWickDetector(config.wicks)
        if _int(d._lookback) < 1 or _int(config.wicks.max_levels) < 1:
            raise _Unsupported(name)
        return kernels.wick_kernel(o, h, l, c, v, float(d._min_wick), float(d._min_ratio), float(d._min_relative_volume),
                                   _int(d._lookback), _int(d._max_age), _int(config.wicks.max_levels), float(d._through),
                                   float(d._half_life), ev_i, ev_f)  # fmt: skip
    if name == "poor":
        p = PoorLevelDetector(config.poor)
        return kernels.poor_kernel(o, h, l, c, v, float(p._abs_tol), float(p._rel_tol), _int(p._swing), _int(p._tap_lookback),
                                   _int(p._walk), float(p._alpha), _int(p._max_age), _int(config.poor.max_levels),
                                   float(p._through), float(p._half_life), ev_i, ev_f)  # fmt: skip
    if name == "boxes":
        b = BoxDetector(config.boxes)
        return kernels.box_kernel(o, h, l, c, _int(b._min_bars), float(b._fit), float(b._max_height), float(b._breakout_frac),
                                  _int(b._max_age), _int(config.boxes.max_levels), float(b._through), float(b._half_life), ev_i, ev_f)  # fmt: skip
    if name == "origins":
        g, cfg = OriginDetector(config.origins), config.origins
        return kernels.origin_kernel(o, h, l, c, v, _int(g._lookback), float(cfg.min_range_multiple), float(g._min_move),
                                     float(cfg.min_relative_volume), float(cfg.min_body_fraction), _int(g._max_run),
                                     float(g._multiple), _int(g._max_age), _int(cfg.max_levels), float(g._through),
                                     float(g._half_life), ev_i, ev_f)  # fmt: skip
    raise _Unsupported(name)


def candle_columns(frame: pd.DataFrame, minutes: int) -> tuple[np.ndarray, ...]:
    """Close times (ns) and OHLCV arrays of one timeframe, as replay_levels builds them."""
    candles = frame if minutes == 1 else resample_candles(frame, minutes)
    close_ns = (candles["ts"].to_numpy(dtype=np.int64) + minutes * ONE_MINUTE_MS) * 1_000_000
    return (close_ns, *(_read_only(candles[name].to_numpy(dtype=np.float64)) for name in ("open", "high", "low", "close", "volume")))


def _read_only(values: np.ndarray) -> np.ndarray:
    """A contiguous read-only view: the kernels then always get the same array type (one compiled version, not two)."""
    view = np.ascontiguousarray(values).view()
    view.flags.writeable = False
    return view


def _build(cls: type, columns: list[list]) -> list:
    """Instances of `cls` (Level, LevelEvent) from field columns.

    The cyclic garbage collector is paused meanwhile: these objects hold no cycles, and its
    passes over hundreds of thousands of new objects would cost more than building them.
    """
    with gc_paused():
        return list(map(cls, *columns))


def _stacks(config: LevelEngineConfig, base_high: np.ndarray, base_low: np.ndarray, ch_step: np.ndarray, ch_level: np.ndarray,
            ch_add: np.ndarray, g_low: np.ndarray, g_high: np.ndarray, g_pair: np.ndarray, g_side: np.ndarray) -> tuple[np.ndarray, ...]:  # fmt: skip
    """Run the confluence kernel: stack rows (st_i, st_f) and stack event rows (base candle, kind, stack, age)."""
    cfg = config.confluence
    args = (len(base_high), base_high, base_low, np.ascontiguousarray(ch_step), np.ascontiguousarray(ch_level),
            np.ascontiguousarray(ch_add), g_low, g_high, g_pair, g_side, float(1.0 + cfg.band_bps * 1e-4),
            _int(cfg.min_levels), _int(cfg.min_diversity))  # fmt: skip
    stacks = events = _first_capacity(len(base_high))
    while True:
        st_i, st_f = np.empty((stacks, 2), dtype=np.int64), np.empty((stacks, 3), dtype=np.float64)
        ev = np.empty((events, 4), dtype=np.int64)
        n_stacks, n_events = kernels.confluence_kernel(*args, st_i, st_f, ev)
        if n_stacks <= stacks and n_events <= events:
            return st_i[:n_stacks], st_f[:n_stacks], ev[:n_events]
        stacks, events = max(stacks, n_stacks), max(events, n_events)


def fast_replay_levels(frame: pd.DataFrame, config: LevelEngineConfig | None = None,
                       columns: dict[int, tuple[np.ndarray, ...]] | None = None) -> list[tuple[str, LevelEvent]]:  # fmt: skip
    """Return `replay_levels(frame, config)`: (timeframe, event) in feed order, from the compiled kernels.

    `columns`: `candle_columns(frame, minutes)` by minutes, where the caller has them already (not computed twice)."""
    config = config or LevelEngineConfig()
    timeframes, detectors = tuple(config.timeframes), tuple(config.detectors)
    minutes = [timeframe_minutes(tf) for tf in timeframes]
    if len(frame) == 0 or minutes[0] != 1 or len(set(timeframes)) != len(timeframes) or len(set(detectors)) != len(detectors):
        return replay_levels(frame, config)
    try:
        return _fast_replay(frame, config, timeframes, detectors, minutes, columns or {})
    except _Unsupported:
        return replay_levels(frame, config)


def _fast_replay(frame: pd.DataFrame, config: LevelEngineConfig, timeframes: tuple[str, ...], detectors: tuple[str, ...],
                 minutes: list[int], columns: dict[int, tuple[np.ndarray, ...]]) -> list[tuple[str, LevelEvent]]:  # fmt: skip
    if config.confluence_enabled and (_int(config.confluence.min_levels) < 1 or _int(config.confluence.min_diversity) < 1):
        raise _Unsupported("confluence")
    n_slots = len(timeframes)
    base_close = None
    # per detector run: level and event blocks
    lv_side, lv_index, lv_low, lv_high, lv_quality, lv_ts, lv_kind, lv_tf, lv_pair = [], [], [], [], [], [], [], [], []
    ev_place, ev_phase, ev_slot, ev_cand, ev_det, ev_seq, ev_kind, ev_level, ev_age, ev_dir, ev_depth, ev_score, ev_ts, ev_step = (
        [] for _ in range(14))  # fmt: skip
    n_levels = 0
    for slot, (tf, mins) in enumerate(zip(timeframes, minutes, strict=True)):
        close_ns, o, h, l, c, v = columns[mins] if mins in columns else candle_columns(frame, mins)  # noqa: E741
        n = len(close_ns)
        if slot == 0:
            base_close = close_ns
            base_high, base_low = h, l
            place = np.arange(n, dtype=np.int64)
            phase = np.ones(n, dtype=np.int64)
            step = place
        else:
            place = np.searchsorted(base_close, close_ns, side="left")
            at = np.minimum(place, len(base_close) - 1)
            phase = np.where((place < len(base_close)) & (base_close[at] == close_ns), 2, 0)
            step = np.searchsorted(base_close, close_ns, side="right")
        for rank, name in enumerate(detectors):
            li, lf, ei, ef = _run_detector(name, config, o, h, l, c, v)
            nlv, nev = len(li), len(ei)
            lv_side.append(li[:, 0])
            lv_index.append(li[:, 1])
            lv_low.append(lf[:, 0])
            lv_high.append(lf[:, 1])
            lv_quality.append(lf[:, 2])
            lv_ts.append(close_ns[li[:, 1] - 1])
            lv_kind.append(np.full(nlv, _CODES[name], dtype=np.int64))
            lv_tf.append(np.full(nlv, slot, dtype=np.int64))
            lv_pair.append(np.full(nlv, _CODES[name] * n_slots + slot, dtype=np.int64))
            cand = ei[:, 0]
            ev_place.append(place[cand])
            ev_phase.append(phase[cand])
            ev_step.append(step[cand])
            ev_slot.append(np.full(nev, slot, dtype=np.int64))
            ev_cand.append(cand)
            ev_det.append(np.full(nev, rank, dtype=np.int64))
            ev_seq.append(np.arange(nev, dtype=np.int64))
            ev_kind.append(ei[:, 1])
            ev_level.append(ei[:, 2] + n_levels)
            ev_age.append(ei[:, 3])
            ev_dir.append(ei[:, 4])
            ev_depth.append(ef[:, 0])
            ev_score.append(ef[:, 1])
            ev_ts.append(close_ns[cand])
            n_levels += nlv
    assert base_close is not None

    def cat(parts: list[np.ndarray], dtype: Any = np.int64) -> np.ndarray:
        return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)

    place, phase, slot_col, cand, det, seq = (cat(p) for p in (ev_place, ev_phase, ev_slot, ev_cand, ev_det, ev_seq))
    kind, level, age, direction, ts, step = (cat(p) for p in (ev_kind, ev_level, ev_age, ev_dir, ev_ts, ev_step))
    depth, score = cat(ev_depth, np.float64), cat(ev_score, np.float64)
    order = np.lexsort((seq, det, cand, slot_col, phase, place))
    g_side, g_index, g_ts, g_kind, g_tf, g_pair = (cat(p) for p in (lv_side, lv_index, lv_ts, lv_kind, lv_tf, lv_pair))
    g_low, g_high, g_quality = cat(lv_low, np.float64), cat(lv_high, np.float64), cat(lv_quality, np.float64)

    if config.confluence_enabled:
        changes = order[kind[order] != kernels.BREAKOUT]
        st_i, st_f, st_ev = _stacks(config, base_high, base_low, step[changes], level[changes], kind[changes] == kernels.CREATED,
                                    g_low, g_high, g_pair, g_side)  # fmt: skip
        n_st, m = len(st_i), len(st_ev)
        stack_cand = st_ev[:, 0]
        place = np.concatenate((place, stack_cand))
        phase = np.concatenate((phase, np.ones(m, dtype=np.int64)))
        slot_col = np.concatenate((slot_col, np.zeros(m, dtype=np.int64)))
        cand = np.concatenate((cand, stack_cand))
        det = np.concatenate((det, np.full(m, len(detectors), dtype=np.int64)))
        seq = np.concatenate((seq, np.arange(m, dtype=np.int64)))
        kind = np.concatenate((kind, st_ev[:, 1]))
        level = np.concatenate((level, st_ev[:, 2] + n_levels))
        age = np.concatenate((age, st_ev[:, 3]))
        direction = np.concatenate((direction, np.zeros(m, dtype=np.int64)))
        ts = np.concatenate((ts, base_close[stack_cand]))
        depth = np.concatenate((depth, np.zeros(m)))
        score = np.concatenate((score, st_f[st_ev[:, 2], 2]))
        order = np.lexsort((seq, det, cand, slot_col, phase, place))
        g_side = np.concatenate((g_side, st_i[:, 0]))
        g_index = np.concatenate((g_index, st_i[:, 1]))
        g_ts = np.concatenate((g_ts, base_close[st_i[:, 1] - 1]))
        g_kind = np.concatenate((g_kind, np.full(n_st, len(DETECTOR_KINDS), dtype=np.int64)))
        g_tf = np.concatenate((g_tf, np.zeros(n_st, dtype=np.int64)))
        g_low, g_high, g_quality = (np.concatenate((a, st_f[:, k])) for k, a in enumerate((g_low, g_high, g_quality)))

    # objects, once: every level (all have a CREATED event), then the events in feed order
    level_kinds = np.array([*DETECTOR_KINDS.values(), LevelKind.CONFLUENCE], dtype=object)
    levels = _build(Level, [
        level_kinds[g_kind].tolist(), np.array(SIDES, dtype=object)[g_side].tolist(), g_low.tolist(), g_high.tolist(),
        np.array(timeframes, dtype=object)[g_tf].tolist(), g_ts.tolist(), g_index.tolist(), g_quality.tolist(),
    ])  # fmt: skip
    level_objects = np.empty(len(levels), dtype=object)
    level_objects[:] = levels
    events = _build(LevelEvent, [
        np.array(EVENT_KINDS, dtype=object)[kind[order]].tolist(), level_objects[level[order]].tolist(), ts[order].tolist(),
        depth[order].tolist(), age[order].tolist(), score[order].tolist(), direction[order].tolist(),
    ])  # fmt: skip
    labels = np.array(timeframes, dtype=object)[slot_col[order]].tolist()
    return list(zip(labels, events, strict=True))
