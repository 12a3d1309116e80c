"""Allowed ranges of the order-flow detectors' numbers (an `orderflow:` run-file section, research settings), with units."""

from __future__ import annotations

from typing import Any

from ravebear.ranges import Range, check_ranges

_SECONDS = Range(0, 86_400, "seconds", low_open=True)
_BPS = Range(0, 5_000, "bps")
_QUOTE = Range(0, None, "quote currency")
_TIER_MULTIPLE = Range(0, 1_000, "x the mean |delta|")
_TIER_MOVE = Range(-5_000, 5_000, "bps")

ORDERFLOW_RANGES: dict[str, dict[str, Range]] = {
    "cvd": {"window_s": _SECONDS},
    "divergence": {
        "window_s": _SECONDS, "min_quote": Range(0, None, "quote currency", low_open=True), "spot_multiplier": Range(0, None, "quote per price x size", low_open=True),
        "perp_multiplier": Range(0, None, "per contract", low_open=True),
    },
    "book": {"levels": Range(1, 1_000, "levels"), "half_distance_bps": Range(0, 5_000, "bps", low_open=True), "depth_bps": _BPS},
    "absorption": {"bucket_s": _SECONDS, "lookback_buckets": Range(1, 100_000, "buckets")},
    "whales": {
        "min_notional": Range(0, None, "quote currency", low_open=True), "contract_multiplier": Range(0, None, "per contract", low_open=True),
        "cluster_window_s": _SECONDS, "cluster_min_trades": Range(1, 1_000, "trades"),
    },
    "zone_defense": {
        "touch_window_s": _SECONDS, "depth_band_bps": _BPS, "break_bps": _BPS, "min_refill": Range(0, 100, "x the depth before"),
        "min_absorbed_quote": _QUOTE,
    },
}  # fmt: skip


def check_orderflow_ranges(section: str, config: Any) -> None:
    """Raise ValueError naming `orderflow.<section>.<key>` for a number outside its range (absorption tiers included)."""
    prefix = f"orderflow.{section}."
    check_ranges(config, ORDERFLOW_RANGES.get(section, {}), prefix)
    if section == "absorption":
        for k, (multiple, move) in enumerate(zip(config.tier_multiples, config.tier_max_move_bps), start=1):
            if not _TIER_MULTIPLE.allows(multiple):
                raise ValueError(_TIER_MULTIPLE.message(f"{prefix}tier_multiples[{k}]", multiple))
            if not _TIER_MOVE.allows(move):
                raise ValueError(_TIER_MOVE.message(f"{prefix}tier_max_move_bps[{k}]", move))
        if list(config.tier_multiples) != sorted(config.tier_multiples):
            raise ValueError(f"{prefix}tier_multiples must rise from tier 1 to 3, got {list(config.tier_multiples)}")
