"""`ravebear analyze orderflow`: absorption tiers, level survival by tier and OBI, CVD divergence, whale follow-through.

`run` reads one instrument's trades and book from the catalog (`load.py`), feeds the pure detectors
one event at a time (`compute.py`) and returns the results dict that `research/report.py` renders
(this package is the analysis module of the name "orderflow": TITLE, DEFINITION, tables, figures).
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ravebear.research.orderflow import compute, context
from ravebear.research.orderflow.compute import OrderflowAnalysisConfig
from ravebear.research.orderflow.load import IMPORT_HINT, NoOrderflowData, load, load_trades
from ravebear.research.orderflow.view import figures, tables

if TYPE_CHECKING:
    from ravebear.catalog.store import RaveCatalog

NAME = "orderflow"
TITLE = "Order flow: absorption, level survival, CVD divergence, whales"
DEFINITION = compute.__doc__.split("\n\n", 1)[1].strip()
__all__ = ["NAME", "TITLE", "DEFINITION", "OrderflowAnalysisConfig", "NoOrderflowData", "apply_overrides", "figures", "pair_of", "run", "tables"]


def pair_of(instrument_id: str) -> str | None:
    """The other market of a spot/perp pair by our id convention (BTCUSDT-PERP.BINANCE <-> BTCUSDT.BINANCE); None for others (COIN-M)."""
    symbol, _, venue = instrument_id.rpartition(".")
    if symbol.endswith("-PERP"):
        return f"{symbol.removesuffix('-PERP')}.{venue}"
    return None if "_" in symbol else f"{symbol}-PERP.{venue}"


def _is_perp(store: RaveCatalog, instrument_id: str) -> bool:
    return type(_instrument(store, instrument_id)).__name__ in ("CryptoPerpetual", "PerpetualContract") or instrument_id.split(".")[0].endswith("-PERP")


def _instrument(store: RaveCatalog, instrument_id: str) -> Any:
    found = store.nautilus.instruments(instrument_ids=[instrument_id])
    return found[0] if found else None


def _contracts(store: RaveCatalog, config: OrderflowAnalysisConfig, instrument_id: str, other: str | None) -> OrderflowAnalysisConfig:
    """Inverse contracts (COIN-M: 100 USD each) priced as the catalog's instrument says, unless --set chose otherwise."""
    whales, divergence = config.whales, config.divergence
    mine = _instrument(store, instrument_id)
    if mine is not None and getattr(mine, "is_inverse", False) and not whales.inverse:
        whales = dataclasses.replace(whales, inverse=True, contract_multiplier=float(mine.multiplier))
    for perp_id in (instrument_id, other):
        perp = _instrument(store, perp_id) if perp_id else None
        if perp is not None and getattr(perp, "is_inverse", False) and not divergence.perp_inverse and _is_perp(store, perp_id):
            divergence = dataclasses.replace(divergence, perp_inverse=True, perp_multiplier=float(perp.multiplier))
    return dataclasses.replace(config, whales=whales, divergence=divergence)


def _parse(text: str, current: Any, path: str) -> Any:
    kind = type(current)
    try:
        if isinstance(current, bool):
            if text.lower() not in ("true", "false"):
                raise ValueError
            return text.lower() == "true"
        if isinstance(current, tuple):
            return tuple(type(current[0])(part) for part in text.split(",") if part.strip())
        return kind(text)
    except (TypeError, ValueError, IndexError):
        what = {bool: "true or false", int: "a whole number", float: "a number"}.get(kind, "a comma-separated list" if kind is tuple else "a value")
        raise ValueError(f"--set {path}={text}: expected {what}") from None


def _set(owner: Any, keys: list[str], text: str, path: str) -> Any:
    """`owner` with the field at `keys` (nested dataclasses) set from `text`."""
    names = {f.name for f in dataclasses.fields(owner)} if dataclasses.is_dataclass(owner) else set()
    if keys[0] not in names:
        raise ValueError(f"--set {path}: unknown setting for analyze orderflow (here: {', '.join(sorted(names)) or 'no fields'})")
    current = getattr(owner, keys[0])
    if len(keys) > 1:
        value = _set(current, keys[1:], text, path)
    else:
        value = _parse(text, current, path)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value <= 0 and keys[0] != "obi_band":
            raise ValueError(f"--set {path}={text}: must be above 0")
    return dataclasses.replace(owner, **{keys[0]: value})


def apply_overrides(config: OrderflowAnalysisConfig, overrides: list[str] | tuple[str, ...]) -> OrderflowAnalysisConfig:
    """`field=value` or `section[.sub].field=value` (e.g. whales.min_notional=500000, levels.wicks.min_wick_bps=5); ValueError names a bad one."""
    for override in overrides:
        path, sep, text = override.partition("=")
        if not sep:
            raise ValueError(f"--set {override!r}: expected SECTION.FIELD=VALUE")
        config = _set(config, [key.strip().replace("-", "_") for key in path.split(".")], text.strip(), path.strip())
    return config


def _utc(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S")


def run(store: RaveCatalog, instrument_id: str, start_ms: int | None, end_ms: int | None,
        config: OrderflowAnalysisConfig | None = None, pair: str | None = None) -> dict[str, Any]:  # fmt: skip
    """All order-flow analyses of one instrument; NoOrderflowData when it has no trades in the range."""
    other = pair or pair_of(instrument_id)
    config = _contracts(store, config or OrderflowAnalysisConfig(), instrument_id, other)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    flow = load(store, instrument_id, start_ms, end_ms)
    timings["load"] = time.perf_counter() - started
    trades = flow.trades
    result: dict[str, Any] = {"instrument_id": instrument_id, "trades": len(trades), "book_updates": len(flow.book)}
    step = time.perf_counter()
    result["absorption"], tiers_at = compute.absorption(trades, config.absorption)
    result["levels"] = compute.levels(flow, tiers_at, config)
    result["level_events"] = context.archive(flow, config.levels, config.context)
    result["whales"] = compute.whales(trades, config)
    timings["detectors"] = time.perf_counter() - step
    other_trades = load_trades(store, other, start_ms, end_ms) if other and other != instrument_id else []
    if other is None:
        result["divergence"] = {"skipped": f"CVD divergence needs spot and perp trades: name the other market of {instrument_id} with --pair"}
    elif not other_trades:
        result["divergence"] = {"skipped": f"CVD divergence needs spot and perp trades: {other} has none in the catalog for this range; {IMPORT_HINT}"}
    else:
        perp_first = _is_perp(store, instrument_id)
        spot, perp = (other_trades, trades) if perp_first else (trades, other_trades)
        result["divergence"] = {"spot": other if perp_first else instrument_id, "perp": instrument_id if perp_first else other,
                                **compute.divergence(spot, perp, config)}  # fmt: skip
    timings["total"] = time.perf_counter() - started
    first, last = trades[0].ts_ns, trades[-1].ts_ns
    meta = {
        "bar_type": f"{instrument_id} order flow", "candles_1m": result["levels"]["bars_1m"],
        "first_open_utc": _utc(first), "last_open_utc": _utc(last), "gaps": result["levels"]["gaps"], "missing_minutes": result["levels"]["missing_minutes"],
        "catalog": str(store.path), "minutes": round((last - first) / 6e10, 2),
        "config": dataclasses.asdict(config),
    }
    return {"meta": meta, "analyses": {NAME: result}, "timings_s": {k: round(v, 3) for k, v in timings.items()}}
