"""report.html of an optimisation: one self-contained page (plotly.js embedded once, as research/report.py does)
with the chosen and best sets, DSR and PBO, parameter importance, slices, a heatmap, the trials table, the
walk-forward out-of-sample equity and parameter stability across folds."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

_STYLE = ("body{font-family:sans-serif;margin:20px;max-width:1200px}table{border-collapse:collapse;font-size:12px;margin:6px 0}"
          "td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}th{background:#f4f4f4}h2{margin-top:28px}"
          ".note{font-size:12px;color:#555}")  # fmt: skip


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, dict)):
        return html.escape(json.dumps(value, default=str))
    return html.escape(str(value))


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _figure(fig: Any) -> str:
    fig.update_layout(template="plotly_white", height=360, margin={"l": 50, "r": 20, "t": 40, "b": 40})
    return fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True})


def _fold_section(entry: dict[str, Any], params: list[str], objective: str) -> list[str]:
    import plotly.graph_objects as go

    parts = [f"<h2>{html.escape(entry['study'])}: in-sample {entry['window'][0]} .. {entry['window'][1]}</h2>"]
    if "error" in entry:
        return [*parts, f"<p>{html.escape(entry['error'])}</p>"]
    chosen, best, plateau = entry["chosen"], entry["best"], entry["plateau"]
    parts.append(_table(["", "trial", *params, objective], [
        ["chosen (" + chosen["rule"] + ")", chosen["number"], *[chosen["params"].get(k) for k in params], (chosen["values"] or [None])[0]],
        ["best point", best["number"], *[best["params"].get(k) for k in params], best["values"][0]],
        [f"plateau (median of {plateau['neighbours']})", plateau["number"], *[plateau["params"].get(k) for k in params], plateau["median"]],
    ]))  # fmt: skip
    dsr, pbo = entry.get("dsr"), entry.get("pbo")
    if dsr:
        parts.append(f"<p>Deflated Sharpe ratio {dsr['dsr']:.3f} (per-{dsr['freq']} SR {dsr['sharpe']:.4f} vs SR0 {dsr['sr0']:.4f} "
                     f"expected from {dsr['trials']} trials with SR variance {dsr['sharpe_variance']:.3g}; {dsr['observations']} returns, "
                     f"skew {dsr['skew']:.2f}, kurtosis {dsr['kurtosis']:.2f}).</p>")  # fmt: skip
    if pbo and pbo.get("pbo") is not None:
        parts.append(f"<p>PBO {pbo['pbo']:.3f} by CSCV ({pbo['groups']} blocks, {pbo['splits']} splits, {pbo['strategies']} feasible trials).</p>")
        parts.append(_figure(go.Figure(go.Histogram(x=pbo["logits"], nbinsx=20), layout={"title": "CSCV logits of the in-sample best's out-of-sample rank (<= 0: overfit)"})))
    elif pbo:
        parts.append(f"<p>PBO not computed: {html.escape(pbo['why'])}</p>")
    if entry.get("importance"):
        names = list(entry["importance"])
        parts.append(_figure(go.Figure(go.Bar(x=[entry["importance"][n] for n in names], y=names, orientation="h"), layout={"title": "parameter importance (Optuna fANOVA)"})))
    complete = [row for row in entry["trials"] if row["state"] == "complete" and row["values"]]
    for key in params:
        xs = [row["params"].get(key) for row in complete]
        ys = [row["values"][0] for row in complete]
        parts.append(_figure(go.Figure(go.Scatter(x=xs, y=ys, mode="markers", text=[f"trial {r['number']}" for r in complete]), layout={"title": f"slice: {key}", "xaxis_title": key, "yaxis_title": objective})))
    if len(params) >= 2 and complete:
        order = sorted(params, key=lambda k: -(entry.get("importance") or {}).get(k, 0))[:2]
        cells: dict[tuple[Any, Any], list[float]] = {}
        for row in complete:
            cells.setdefault((row["params"].get(order[0]), row["params"].get(order[1])), []).append(row["values"][0])
        xs, ys = sorted({k[0] for k in cells}, key=str), sorted({k[1] for k in cells}, key=str)
        import statistics

        z = [[statistics.median(cells[(x, y)]) if (x, y) in cells else None for x in xs] for y in ys]
        parts.append(_figure(go.Figure(go.Heatmap(x=[str(x) for x in xs], y=[str(y) for y in ys], z=z, colorbar={"title": objective}),
                                       layout={"title": f"heatmap: median {objective}", "xaxis_title": order[0], "yaxis_title": order[1]})))  # fmt: skip
    rows = [[r["number"], r["status"], *[r["params"].get(k) for k in params], *(r["values"] or [None]),
             (r["metrics"] or {}).get("trades"), (r["metrics"] or {}).get("return_pct"), r["duration_s"]] for r in entry["trials"]]  # fmt: skip
    parts.append("<details><summary>trials table</summary>" + _table(["trial", "status", *params, objective, "trades", "return %", "seconds"], rows) + "</details>")
    if entry.get("oos"):
        parts.append(f"<p>Out-of-sample {entry['fold']['oos_start']} .. {entry['fold']['oos_end']}: " + _fmt(entry["oos"]["metrics"]) + "</p>")
    return parts


def write_report(results: dict[str, Any], path: Path) -> Path:
    """Write the page; return its path."""
    import plotly.graph_objects as go
    from plotly.offline import get_plotlyjs

    params, objective = results["params"], results["settings"]["objectives"][0]
    note = (
        f"<p class='note'>space {html.escape(results['space_file'])}; study {html.escape(results['study'])} on {html.escape(results['storage'])}; "
        f"data {results['window'][0]} .. {results['window'][1]}; objectives {', '.join(results['settings']['objectives'])}; "
        f"sampler {results['settings']['sampler']}, seed {results['settings']['seed']}; {results['elapsed_s']:.0f} s.</p>"
    )
    body = [f"<h1>Optimisation of {html.escape(results['run_file'])}</h1>", note]
    if results.get("chosen"):
        body.append("<h2>Chosen set</h2>" + _table(["param", "value"], [[k, v] for k, v in results["chosen"]["params"].items()]))
        body.append(f"<p>Written as the run file {html.escape(results['chosen']['run_file'])} (found on {results['chosen']['found_on'][0]} .. {results['chosen']['found_on'][1]}).</p>")
    if results.get("oos_equity"):
        xs = [row[0] for row in results["oos_equity"]]
        ys = [row[1] for row in results["oos_equity"]]
        body.append("<h2>Walk-forward out-of-sample equity</h2>")
        body.append(_figure(go.Figure(go.Scatter(x=xs, y=ys, mode="lines"), layout={"title": f"stitched out-of-sample equity ({results['oos_return_pct']:+.2f} %)"})))
        folds = [f for f in results["folds"] if f.get("oos")]
        body.append(_table(["fold", "in-sample", "out-of-sample", *params, "OOS trades", "OOS return %", "OOS sharpe"], [
            [f["fold"]["fold"], f"{f['fold']['is_start']} .. {f['fold']['is_end']}", f"{f['fold']['oos_start']} .. {f['fold']['oos_end']}",
             *[f["chosen"]["params"].get(k) for k in params], f["oos"]["metrics"].get("trades"), f["oos"]["metrics"].get("return_pct"), f["oos"]["metrics"].get("sharpe")]
            for f in folds]))  # fmt: skip
        body.append("<h3>Parameter stability across folds</h3>" + _table(["param", "chosen per fold", "std / span or distinct"], [
            [k, row["values"], row.get("std_of_span", row.get("distinct"))] for k, row in results["stability"].items()]))  # fmt: skip
    for entry in results["folds"]:
        body.extend(_fold_section(entry, params, objective))
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>optimisation {html.escape(results['study'])}</title><style>{_STYLE}</style>"
            f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>{''.join(body)}</body></html>")  # fmt: skip
    path.write_text(page)
    return path
