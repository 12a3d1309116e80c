"""Tables and plotly figures of `analyze orderflow` results (rendered from the results dict alone)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ravebear.reports.tables import Table, num, pct

OUTCOMES = ("held", "broken", "open")


def _moves_rows(horizons: dict[str, Any], groups: tuple[str, ...]) -> list[list[str]]:
    rows = []
    for minutes, by_group in horizons.items():
        for group in groups:
            s = by_group[group]
            rows.append([f"{minutes} min", group, s["n"], num(s["mean_bps"], 2), num(s["median_bps"], 2), pct(s["share_positive"])])
    return rows


def _survival(title: str, table: dict[str, dict[str, int]], label: str, note: str) -> Table:
    rows = []
    for key, counts in table.items():
        decided = counts["held"] + counts["broken"]
        rows.append([key, *(counts[o] for o in OUTCOMES), pct(counts["held"] / decided) if decided else "n/a"])
    return Table(title, [label, *OUTCOMES, "held share (decided)"], rows or [["no touches", 0, 0, 0, "n/a"]], note)


def tables(result: dict[str, Any]) -> list[Table]:
    """Data, absorption tiers, level survival by tier and by OBI, whales, divergence."""
    a, lv, w, d = result["absorption"], result["levels"], result["whales"], result["divergence"]
    out = [Table("Order flow analysed", ["item", "value"], [
        ["instrument", result["instrument_id"]], ["trades", f"{result['trades']:,}"], ["book updates", f"{result['book_updates']:,}"],
    ])]  # fmt: skip
    out.append(Table(
        f"Absorption tiers ({num(a['bucket_s'], 0)} s buckets)", ["tier", "buckets", "buyers absorbed", "sellers absorbed"],
        [[k, v["all"], v["buy"], v["sell"]] for k, v in a["tiers"].items()],
        f"{a['counted_buckets']:,} buckets counted; {a['warm_up_buckets']:,} warm-up buckets (the first {a['lookback_buckets']}) left out",
    ))  # fmt: skip
    note = (f"{lv['levels_created']} levels from {lv['bars_1m']} 1-minute bars, {lv['touched']} touched; held = not broken by "
            f"{num(lv['break_bps'], 1)} bps within {lv['hold_minutes']} min, open = data ends first")  # fmt: skip
    out.append(_survival("Level survival by absorption tier at touch", lv["by_tier"], "tier", note))
    out.append(_survival(f"Level survival by OBI at touch (toward the level, band ±{lv['obi_band']})", lv["by_obi"], "OBI", ""))
    out.append(_level_events(result.get("level_events") or []))
    out.append(Table(
        f"Whale trades (>= {w['min_notional']:,.0f} quote) and the move after (bps, signed by the whale's side)",
        ["after", "side", "n", "mean", "median", "went whale's way"], _moves_rows(w["horizons"], ("buy", "sell", "all")),
        f"{w['count']['buy']} buy and {w['count']['sell']} sell whales, {w['clustered']} in clusters; n counts those the data covers",
    ))  # fmt: skip
    if "skipped" in d:
        out.append(Table("CVD divergence (spot vs perp)", ["skipped"], [[d["skipped"]]]))
    else:
        out.append(Table(
            f"CVD divergence {d['spot']} vs {d['perp']} (perp move after, bps, signed by spot's side)",
            ["after", "episode", "n", "mean", "median", "followed spot"], _moves_rows(d["horizons"], ("spot buying", "spot selling", "all")),
            f"{d['count']} episodes (rolling {num(d['window_s'], 0)} s, each side >= {d['min_quote']:,.0f} quote)",
        ))  # fmt: skip
    return out


SHOWN_EVENTS = 30  # level events listed in the terminal; results.json keeps them all


def _level_events(events: list[dict[str, Any]]) -> Table:
    rows = [[_t(e["ts_ns"]).strftime("%H:%M"), e["event"], f"{e['timeframe']} {e['kind']} {e['side']}", f"{e['low']:g}-{e['high']:g}" if e["low"] != e["high"] else f"{e['low']:g}",
             num(e["obi"], 2) if e["has_book"] else "n/a", num(e["delta"], 3), e["absorption_tier"],
             f"{e['whale_age_s']:.0f} s" if e["whale_age_s"] >= 0 else "none", e["zone_state"] or "-"] for e in events[:SHOWN_EVENTS]]  # fmt: skip
    more = f"; {len(events) - SHOWN_EVENTS} more in results.json" if len(events) > SHOWN_EVENTS else ""
    return Table("Level events with their order-flow context", ["time", "event", "level", "price", "OBI", "delta", "tier", "last whale", "zone"],
                 rows or [["no level events", "", "", "", "", "", "", "", ""]], f"{len(events)} created/touched events{more}")  # fmt: skip


def _t(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)


def figures(result: dict[str, Any]) -> list:
    """Tier distribution, whale moves, and the touches on a timeline with their outcome."""
    import plotly.graph_objects as go

    a, lv, w = result["absorption"], result["levels"], result["whales"]
    tiers = go.Figure([go.Bar(x=[f"tier {k}" for k in a["tiers"]], y=[v[side] for v in a["tiers"].values()], name=label)
                       for side, label in (("buy", "buyers absorbed"), ("sell", "sellers absorbed"))])  # fmt: skip
    tiers.update_layout(title="Absorption tier distribution (buckets after warm-up)", barmode="group", height=360, yaxis={"title": "buckets"})
    whale = go.Figure([go.Bar(x=[f"{m} min" for m in w["horizons"]], y=[h[side]["mean_bps"] for h in w["horizons"].values()], name=side,
                              text=[f"n={h[side]['n']}" for h in w["horizons"].values()]) for side in ("buy", "sell")])  # fmt: skip
    whale.update_layout(title="Whale trades: mean move after, bps in the whale's direction", barmode="group", height=360, yaxis={"title": "bps"})
    touches = go.Figure()
    path = lv["path"]
    touches.add_trace(go.Scatter(x=[_t(ns) for ns in path["ts_ns"]], y=path["price"], mode="lines", name="last trade price", line={"color": "#4c78a8", "width": 1}))
    for t in lv["touches"]:
        touches.add_shape(type="line", x0=_t(t["created_ns"]), x1=_t(t["touch_ns"]), y0=t["low"], y1=t["low"], line={"color": "#888", "dash": "dot"})
    colors = {"held": "#2ca02c", "broken": "#d62728", "open": "#999"}
    for outcome in ("held", "broken", "open"):
        rows = [t for t in lv["touches"] if t["outcome"] == outcome]
        touches.add_trace(go.Scatter(
            x=[_t(t["touch_ns"]) for t in rows], y=[t["touch_price"] for t in rows], mode="markers", name=outcome,
            marker={"color": colors[outcome], "size": 10, "symbol": ["triangle-up" if t["sign"] > 0 else "triangle-down" for t in rows]},
            text=[f"{t['kind']} {t['side']} tier {t['tier']} OBI {t['obi']}" for t in rows],
        ))  # fmt: skip
    touches.update_layout(title="Price, touched levels (dotted, from creation to touch) and touches (▲ support, ▼ resistance) by outcome", height=380, yaxis={"title": "price"})
    return [tiers, whale, touches]
