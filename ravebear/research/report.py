"""Write analysis results as `results.json` (every number) and a self-contained `report.html`.

The HTML embeds plotly.js once (no network needed to open it), then one section per analysis:
its definitions, its tables and its figures. Everything is rendered from the results dict
alone, so a report can be rebuilt from a saved `results.json` with `render_html`.
The terminal view (`text`) prints the same tables as plain text.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from ravebear.research.runner import analysis_module
from ravebear.reports.tables import Table, num, pct

TRADER = {  # the trader's published findings on ~43k BTC 1-minute candles
    "median_touch_min": "3 min",
    "touched_within_30": "84.4%",
    "volatile_hours": "14:00-16:00 UTC",
    "big_moves": "tend to reverse",
    "volume_spikes": "continue 45.6%",
}


def claims_table(results: dict[str, Any]) -> Table | None:
    """The trader's published figures beside this run's, where this run has the analysis."""
    analyses = results["analyses"]
    rows: list[list[str]] = []
    touch = analyses.get("touch-times", {}).get("timeframes", {}).get("1m")
    if touch:
        rows.append(["median wick touch time (1m)", TRADER["median_touch_min"],
                     f"{num(touch['median_touch_min_touched'], 0)} min touched wicks; {num(touch['median_touch_min_all'])} min all wicks"])  # fmt: skip
        within = touch["within"].get("30")
        if within:
            ci = f" ±{100 * within['ci95']:.1f}" if within.get("ci95") is not None else ""
            rows.append(["wicks touched within 30 min (1m)", TRADER["touched_within_30"], f"{pct(within['share'])}{ci} ({within['touched']:,} of {within['known']:,})"])
    sessions = analyses.get("sessions")
    if sessions and "ranking" in sessions:
        top = ", ".join(f"{h:02d}" for h in sessions["ranking"][:3])
        rows.append(["most volatile hours", TRADER["volatile_hours"], f"{sessions['most_volatile_window']['label']}; top 3 hours {top}"])
    for name, key, what, label in (
        ("big-moves", "big_moves", "reversal", "big moves (1m, N = 1 / 5 / 15 candles)"),
        ("volume-spikes", "volume_spikes", "continuation", "volume spikes (1m, N = 1 / 5 / 15 candles)"),
    ):
        entry = analyses.get(name, {}).get("timeframes", {}).get("1m")
        if entry:
            horizons = entry["outcomes"]["horizons"]
            ours = " / ".join(pct(horizons[n]["events"][what]) for n in ("1", "5", "15") if n in horizons)
            base = " / ".join(pct(horizons[n]["baseline"][what]) for n in ("1", "5", "15") if n in horizons)
            rows.append([label, TRADER[key], f"{what} {ours} (any candle: {base})"])
    if not rows:
        return None
    return Table("The trader's findings vs this data", ["finding", "trader (~43k BTC 1m candles)", "this run"], rows)


def meta_table(results: dict[str, Any]) -> Table:
    """What was analysed."""
    meta = results["meta"]
    if "rows" in meta:  # an analysis of something other than candles says what it read
        rows = [list(row) for row in meta["rows"]]
        timings = results.get("timings_s", {})
        if timings:
            rows.append(["seconds", ", ".join(f"{k} {v:.2f}" for k, v in timings.items())])
        return Table("Data", ["item", "value"], rows)
    rows = [
        ["bar type", meta["bar_type"]],
        ["1-minute candles", f"{meta['candles_1m']:,}"],
        ["first / last open (UTC)", f"{meta['first_open_utc']} / {meta['last_open_utc']}"],
        ["gaps (missing minutes)", f"{meta['gaps']} ({meta['missing_minutes']:,})"],
    ]
    if meta.get("catalog"):
        rows.append(["catalog", meta["catalog"]])
    timings = results.get("timings_s", {})
    if timings:
        rows.append(["seconds", ", ".join(f"{k} {v:.2f}" for k, v in timings.items())])
    return Table("Data", ["item", "value"], rows)


def _title(name: str, result: dict[str, Any]) -> str:
    if "skipped" in result:
        return name
    return analysis_module(name).TITLE


def _definition(name: str, result: dict[str, Any]) -> str:
    if "skipped" in result:
        return ""
    return analysis_module(name).DEFINITION


def section_tables(name: str, result: dict[str, Any]) -> list[Table]:
    """The tables of one analysis (a note when it was skipped)."""
    if "skipped" in result:
        return [Table(name, ["skipped"], [[result["skipped"]]])]
    return analysis_module(name).tables(result)


def text(results: dict[str, Any]) -> str:
    """All tables as plain text for the terminal."""
    blocks = [meta_table(results).text()]
    claims = claims_table(results)
    if claims:
        blocks.append(claims.text())
    for name, result in results["analyses"].items():
        header = f"== {_title(name, result)} ({name}) =="
        blocks.append("\n\n".join([header, *(table.text() for table in section_tables(name, result))]))
    return "\n\n".join(blocks) + "\n"


def definition_html(text: str) -> str:
    """Render a definition docstring: paragraphs, `* ` bullet lists, **bold** and `code`."""
    blocks = []
    for paragraph in text.strip().split("\n\n"):
        items: list[str] = []
        prose: list[str] = []
        for line in paragraph.splitlines():
            stripped = line.strip()
            if stripped.startswith(("* ", "- ")):
                items.append(stripped[2:])
            elif items and line.startswith("  "):
                items[-1] += " " + stripped
            else:
                prose.append(stripped)
        if prose:
            blocks.append(f"<p>{_inline(' '.join(prose))}</p>")
        if items:
            blocks.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in items) + "</ul>")
    return "".join(blocks)


def _inline(text: str) -> str:
    escaped = html.escape(text)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", escaped)
    escaped = re.sub(r"\*([^*\s][^*]*?)\*", r"<i>\1</i>", escaped)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", escaped)


_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0 auto;max-width:1320px;padding:16px 24px;color:#222}
h1{font-size:24px;margin:8px 0}h2{font-size:20px;border-bottom:2px solid #4c78a8;padding-bottom:4px;margin-top:36px}
h4{margin:14px 0 6px 0;font-size:14px}nav a{margin-right:14px;font-size:14px}
table{border-collapse:collapse;font-size:13px;margin-bottom:4px}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}
th{background:#f2f5f9}td.n{text-align:right;font-variant-numeric:tabular-nums}
.note{font-size:12px;color:#555;margin:2px 0 10px 0}.def{font-size:13px;background:#fafafa;border-left:3px solid #ccc;padding:2px 12px;max-width:1100px}.def p{margin:6px 0}.def ul{margin:4px 0}
code{font-size:12px;background:#eef}
.tables{display:flex;flex-wrap:wrap;gap:18px 28px;align-items:flex-start}.fig{margin:10px 0}
"""


def render_html(results: dict[str, Any]) -> str:
    """Return the whole report as one self-contained HTML document."""
    from plotly.offline import get_plotlyjs

    meta = results["meta"]
    title = f"RaveBear analysis: {meta['bar_type']} {meta['first_open_utc']} to {meta['last_open_utc']} UTC"
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style>",
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    nav = "".join(f"<a href='#{name}'>{html.escape(_title(name, result))}</a>" for name, result in results["analyses"].items())
    parts.append(f"<nav>{nav}</nav>")
    top = [meta_table(results)]
    claims = claims_table(results)
    if claims:
        top.append(claims)
    parts.append("<div class='tables'>" + "".join(t.html() for t in top) + "</div>")
    for name, result in results["analyses"].items():
        parts.append(f"<section id='{name}'><h2>{html.escape(_title(name, result))}</h2>")
        if _definition(name, result):
            parts.append(f"<div class='def'>{definition_html(_definition(name, result))}</div>")
        parts.append("<div class='tables'>" + "".join(t.html() for t in section_tables(name, result)) + "</div>")
        if "skipped" not in result:
            for fig in analysis_module(name).figures(result):
                fig.update_layout(template="plotly_white", autosize=True)
                body = fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True})
                parts.append(f"<div class='fig'>{body}</div>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write(results: dict[str, Any], out_dir: str | Path) -> tuple[Path, Path]:
    """Write `results.json` and `report.html` into `out_dir`; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "results.json"
    json_path.write_text(json.dumps(results, indent=1, allow_nan=False))
    html_path = out / "report.html"
    html_path.write_text(render_html(results), encoding="utf-8")
    return html_path, json_path
