"""Tables and figures of `analyze swarm` results (rendered from the results dict alone)."""

from __future__ import annotations

from typing import Any

from ravebear.reports.tables import Table, num, pct

REGIMES = ("trending", "ranging", "volatile")


def _rate(row: dict | None) -> str:
    if not row or not row["count"]:
        return "-"
    return f"{pct(row['rate'])} ({row['count']:,})"


def _chance(base: dict | None) -> str:
    return "-" if not base else f"{pct(base['up'])} / {pct(base['down'])}"


def _rates(result: dict[str, Any]) -> dict[tuple[str, int, str], dict]:
    return {(r["name"], r["horizon"], r["regime"]): r for r in result["hit_rates"]}


def tables(result: dict[str, Any]) -> list[Table]:
    """Summary, hit rates by horizon and by regime, calibration, confluence events, most-agreeing pairs."""
    rates, summary, horizons = _rates(result), result["summary"], result["horizons"]
    mid = summary["horizon"]
    base = result["baseline"][str(mid)]
    conf = summary["confluence"]
    top = ", ".join(f"{b['name']} {pct(b['rate'])} ({b['count']:,})" for b in summary["top_bots"]) or "none with enough votes"
    rho = "n/a" if summary["spearman"] is None else f"{summary['spearman']:+.3f}, one-sided p {summary['p_value']:.2g}"
    rows = [
        ["regime shares", ", ".join(f"{name} {pct(share)}" for name, share in result["regime_shares"].items())],
        ["consensus candles", f"{result['consensus_candles']:,}"],
        [f"consensus hit rate at {mid} min", f"{_rate(summary['consensus'])}; chance: up {pct(base['up'])}, down {pct(base['down'])}"],
        [f"confluence >= {result['confluence_min']} bots at {mid} min", f"{conf['count']:,} events, hit rate {pct(conf['hit_rate'])}, mean move {num(conf['mean_move_bps'])} bps"],
        ["score calibrated?", f"{'yes' if summary['calibrated'] else 'no'} (Spearman ρ score vs move {rho}, {mid} min)"],
        [f"top bots at {mid} min (hit rate, votes)", top],
    ]
    out = [Table("Swarm summary", ["figure", "value"], rows, f"hit = a move of more than {num(result['min_move_bps'])} bps in the vote's direction")]
    columns = ["bot", "votes", *(f"{h} min" for h in horizons)]
    votes = {**result["votes"], "consensus": result["consensus_candles"]}
    body = [[name, f"{votes[name]:,}", *(_rate(rates.get((name, h, "all"))) for h in horizons)] for name in [*result["bots"], "consensus"]]
    body.append(["chance (up / down)", "", *(f"{pct(result['baseline'][str(h)]['up'])} / {pct(result['baseline'][str(h)]['down'])}" for h in horizons)])
    out.append(Table("Hit rate by bot and horizon (resolved votes)", columns, body, "a bot that never voted shows -; over candles the order-flow bots and WhaleWatch have no input, FundArb needs funding rates in the catalog and CorrBreak --reference"))
    out.append(Table(
        f"Hit rate by regime at {mid} min (regime when the vote was cast)", ["bot", *REGIMES],
        [[name, *(_rate(rates.get((name, mid, regime))) for regime in REGIMES)] for name in [*result["bots"], "consensus"] if result["votes"].get(name, 1)]
        + [["chance (up / down)", *(_chance(result["baseline_by_regime"][str(mid)].get(regime)) for regime in REGIMES)]],
    ))  # fmt: skip
    for entry in result["calibration"]:
        rho = "n/a" if entry["spearman"] is None else f"{entry['spearman']:+.3f}"
        out.append(Table(
            f"Calibration at {entry['horizon']} min: score bucket vs outcome (ρ {rho})", ["score", "votes", "hit rate", "mean move bps"],
            [[f"{b['low']:g}-{b['high']:g}", f"{b['count']:,}", pct(b["hit_rate"]), num(b["mean_move_bps"])] for b in entry["buckets"]],
        ))  # fmt: skip
    out.append(Table(
        f"Confluence events (>= {result['confluence_min']} bots on the consensus side)", ["horizon", "events", "hits", "hit rate", "mean move bps"],
        [[f"{e['horizon']} min", f"{e['count']:,}", f"{e['hits']:,}", pct(e["hit_rate"]), num(e["mean_move_bps"])] for e in result["confluence_events"]],
        "confluence per candle: " + (", ".join(f"{k}: {v:,}" for k, v in result["confluence_counts"].items()) or "none"),
    ))  # fmt: skip
    names, joint, same = result["bots"], result["agreement"]["joint"], result["agreement"]["same_side"]
    pairs = [(same[i][j], joint[i][j], names[i], names[j]) for i in range(len(names)) for j in range(i + 1, len(names)) if joint[i][j] >= 30]
    pairs.sort(key=lambda p: (-p[0], -p[1]))
    out.append(Table(
        "Most agreeing pairs (>= 30 joint votes)", ["bots", "joint votes", "same side"],
        [[f"{a} + {b}", f"{n:,}", pct(s)] for s, n, a, b in pairs[:10]] or [["none", "", ""]],
        "the full matrix is in the figure and results.json (agreement.joint, agreement.same_side)",
    ))  # fmt: skip
    return out


def figures(result: dict[str, Any]) -> list:
    """Hit rate by bot and horizon, the calibration buckets, and the agreement matrix."""
    import plotly.graph_objects as go

    rates, horizons = _rates(result), result["horizons"]
    names = [n for n in [*result["bots"], "consensus"] if result["votes"].get(n, 1)]
    z = [[rates[(n, h, "all")]["rate"] for h in horizons] for n in names]
    text = [[_rate(rates[(n, h, "all")]) for h in horizons] for n in names]
    hits = go.Figure(go.Heatmap(z=z, x=[f"{h} min" for h in horizons], y=names, zmin=0, zmax=0.6, colorscale="Blues", text=text, colorbar={"tickformat": ".0%"},
                                texttemplate="%{text}", hovertemplate="%{y} at %{x}: %{z:.1%}<extra></extra>"))
    hits.update_layout(title="Hit rate by bot and horizon (votes)", height=140 + 26 * len(names), yaxis={"autorange": "reversed"})
    calib = go.Figure()
    for entry in result["calibration"]:
        labels = [f"{b['low']:g}-{b['high']:g}" for b in entry["buckets"]]
        calib.add_bar(x=labels, y=[b["hit_rate"] for b in entry["buckets"]], name=f"{entry['horizon']} min",
                      customdata=[b["count"] for b in entry["buckets"]], hovertemplate="score %{x}: %{y:.1%} of %{customdata} votes<extra></extra>")
    calib.update_layout(title="Consensus hit rate by score bucket", xaxis_title="consensus score", yaxis={"title": "hit rate", "tickformat": ".0%"}, height=380, barmode="group")
    voted = [i for i, n in enumerate(result["bots"]) if result["votes"][n]]
    labels = [result["bots"][i] for i in voted]
    same = result["agreement"]["same_side"]
    joint = result["agreement"]["joint"]
    zz = [[None if i == j else same[i][j] for j in voted] for i in voted]
    tt = [["" if i == j or same[i][j] is None else f"{same[i][j]:.0%}" for j in voted] for i in voted]
    cd = [[joint[i][j] for j in voted] for i in voted]
    agree = go.Figure(go.Heatmap(z=zz, x=labels, y=labels, zmin=0, zmax=1, zmid=0.5, colorscale="RdBu", text=tt, texttemplate="%{text}", customdata=cd,
                                 hovertemplate="%{y} + %{x}: same side %{z:.0%} of %{customdata} joint votes<extra></extra>"))
    agree.update_layout(title="Agreement matrix: share of joint votes on the same side", height=180 + 30 * len(labels), yaxis={"autorange": "reversed"})
    return [hits, calib, agree]


def describe(result: dict[str, Any]) -> str:
    """One line for the terminal."""
    s = result["summary"]
    return f"{result['consensus_candles']:,} consensus candles; consensus hit rate {pct(s['consensus']['rate'])} at {s['horizon']} min; calibrated: {'yes' if s['calibrated'] else 'no'}"
