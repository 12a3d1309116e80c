"""Tables and a heatmap of `analyze correlations` results (rendered from the results dict alone)."""

from __future__ import annotations

from typing import Any

from ravebear.reports.tables import Table, num, pct


def _rho(cell: dict) -> str:
    if cell["rho"] is None:
        return f"n={cell['n']}"
    mark = " *" if cell.get("significant") else ""
    return f"{cell['rho']:+.3f} [{cell['low']:+.2f}, {cell['high']:+.2f}]{mark}"


def _q(cell: dict) -> str:
    return "n/a" if cell.get("q") is None else (f"{cell['q']:.3f}" if cell["q"] >= 0.001 else f"{cell['q']:.1e}")


def tables(result: dict[str, Any]) -> list[Table]:
    """Groups, significant findings, every feature against held and against each markout (all touches)."""
    conf = f"{result['confidence'] * 100:.0f} %"
    out = [Table("Touches analysed", ["split", "group", "touches"], [[g["split"], g["group"], f"{g['touches']:,}"] for g in result["groups"]],
                 (f"features not in the ledger (left out): {', '.join(result['missing_features'])}" if result["missing_features"] else ""))]
    found = sorted((c for c in result["cells"] if c.get("significant")), key=lambda c: c["q"])
    out.append(Table(
        f"Significant at a false discovery rate of {result['fdr']:g} ({len(found)} of {result['tests']} tests)",
        ["group", "feature", "outcome", "n", f"ρ [{conf} CI]", "p", "q (BH)"],
        [[f"{c['split']}={c['group']}" if c["split"] != "all" else "all", c["feature"], c["outcome"], f"{c['n']:,}", _rho(c), f"{c['p']:.2g}", _q(c)] for c in found]
        or [["none", "", "", "", "", "", ""]],
        "Spearman's ρ with a bootstrap interval; q: Benjamini-Hochberg over every test of the run (all features, outcomes and groups)",
    ))
    overall = [c for c in result["cells"] if c["split"] == "all"]
    held = [c for c in overall if c["outcome"] == "held"]
    if held:
        out.append(Table(
            "Held vs broken, all touches", ["feature", "n", f"ρ [{conf} CI]", "q", "held, bottom third", "held, top third", "difference"],
            [[c["feature"], f"{c['n']:,}", _rho(c), _q(c), pct(c.get("held_bottom")), pct(c.get("held_top")),
              "n/a" if c.get("held_diff") is None else f"{c['held_diff'] * 100:+.1f} pts"] for c in held],
            "held = 1, broken = 0 (undecided touches left out); * significant at the run's false discovery rate",
        ))
    markouts = [o for o in result["outcomes"] if o != "held"]
    if markouts:
        rows = []
        for feature in result["features"]:
            cells = {c["outcome"]: c for c in overall if c["feature"] == feature}
            rows.append([feature, *(_rho(cells[o]) for o in markouts)])
        out.append(Table(f"Markouts, all touches: ρ [{conf} CI]", ["feature", *markouts], rows, "markouts in bps, signed in the level's direction"))
    splits = sorted({c["split"] for c in result["cells"]} - {"all"})
    for split in splits:
        groups = [g["group"] for g in result["groups"] if g["split"] == split]
        outcome = "held" if held else (markouts[0] if markouts else None)
        if outcome is None:
            continue
        rows = []
        for feature in result["features"]:
            cells = {c["group"]: c for c in result["cells"] if c["split"] == split and c["feature"] == feature and c["outcome"] == outcome}
            rows.append([feature, *(_rho(cells[g]) if g in cells else "" for g in groups)])
        out.append(Table(f"By {split}: ρ with {outcome}", ["feature", *groups], rows))
    return out


def figures(result: dict[str, Any]) -> list:
    """ρ of every feature with every outcome over all touches; cells not significant are faded."""
    import plotly.graph_objects as go

    overall = {(c["feature"], c["outcome"]): c for c in result["cells"] if c["split"] == "all"}
    features, outcomes = result["features"], result["outcomes"]
    if not features or not outcomes:
        return []
    z = [[(overall[(f, o)]["rho"] if overall[(f, o)]["rho"] is not None else None) for o in outcomes] for f in features]
    text = [[(f"{overall[(f, o)]['rho']:+.2f}{' *' if overall[(f, o)].get('significant') else ''}" if overall[(f, o)]["rho"] is not None else "") for o in outcomes] for f in features]
    heat = go.Figure(go.Heatmap(z=z, x=list(outcomes), y=list(features), zmid=0, zmin=-0.5, zmax=0.5, colorscale="RdBu", text=text,
                                texttemplate="%{text}", hovertemplate="%{y} vs %{x}: ρ %{z:.3f}<extra></extra>"))
    heat.update_layout(title=f"Spearman's ρ, all touches (* q <= {result['fdr']:g})", height=120 + 28 * len(features))
    return [heat]


def describe(result: dict[str, Any]) -> str:
    """One line for the terminal."""
    return f"{result['touches']:,} touches, {result['tests']} tests, {result['significant']} significant at q <= {num(result['fdr'], 2)}"
