"""Write a run's risk report: `risk_report.json` (every number) and a self-contained `risk_report.html`.

The HTML embeds plotly.js once (it opens without a network), then reads top to bottom the way
a trader checks a run: the headline numbers, the equity/drawdown/exposure and per-trade plots,
then the tables (per strategy, per instrument, fees and funding, guard events, every trade).
Everything is rendered from the report dict alone, so `render_html` can redraw a saved JSON.
"""

from __future__ import annotations

import bisect
import html
import json
from pathlib import Path
from typing import Any

from ravebear.reports.tables import Table, num, pct
from ravebear.reports.risk_report import build_risk_report

HTML_NAME = "risk_report.html"
JSON_NAME = "risk_report.json"
GREEN, RED, BLUE = "#2e7d32", "#c62828", "#4c78a8"
GUARD_COLORS = ["#e65100", "#6a1b9a", "#00838f", "#ad1457", "#5d4037"]
PALETTE = ["#f58518", "#54a24b", "#b279a2", "#e45756", "#72b7b2", "#eeca3b", "#9d755d"]  # per-instrument lines
STAT_COLUMNS = [
    "trades", "win rate", "PnL", "fees", "funding", "max DD %", "max DD", "Sharpe", "Sortino",
    "profit factor", "expectancy", "avg R",
]  # fmt: skip


def write_risk_report(run_dir: Path) -> tuple[Path, Path]:
    """Build the risk report of `run_dir` and write `risk_report.html` and `risk_report.json` into it."""
    report = build_risk_report(run_dir)
    json_path = Path(run_dir) / JSON_NAME
    json_path.write_text(json.dumps(report, indent=1, allow_nan=False))
    html_path = Path(run_dir) / HTML_NAME
    html_path.write_text(render_html(report), encoding="utf-8")
    return html_path, json_path


def _money(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+,.2f}" if signed else f"{value:,.2f}"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.2f}"


def _time(iso: str | None) -> str:
    return "" if iso is None else iso.replace("T", " ")[:16]


def _plot_time(iso: str) -> str:
    return iso.replace("T", " ")[:19]  # plotly.js reads naive 'YYYY-MM-DD HH:MM:SS'; all times are UTC


def summary_lines(report: dict[str, Any]) -> list[str]:
    """Return three plain-text lines with the run's headline numbers (for the terminal)."""
    s = report["summary"]
    ccy = s["currency"]
    funding = "not simulated" if s["funding"] is None else f"{s['funding']:+,.2f}"
    guards = "none recorded" if not report["guard_events"]["recorded"] else str(s["guard_events"])
    leverage = "" if s["max_leverage"] is None else f" ({s['max_leverage']:.2f}x equity)"
    return [
        f"trades {s['trades']} (win rate {pct(s['win_rate'])}), PnL {_money(s['pnl'], True)} {ccy}, "
        f"return {_ratio(s['return_pct'])} %, fees {_money(s['fees'])}, funding {funding}",
        f"max drawdown {s['max_drawdown_pct']:.2f} % ({_money(s['max_drawdown'])} {ccy}), Sharpe {_ratio(s['sharpe'])}, "
        f"Sortino {_ratio(s['sortino'])} (daily, 365 d), profit factor {_ratio(s['profit_factor'])}, avg R {_ratio(s['avg_r'])}",
        f"max gross exposure {num(s['max_gross_exposure'], 0)} {ccy}{leverage}, guard events {guards}, "
        f"open positions at the end {s['open_positions']}",
    ]


def _cards(report: dict[str, Any]) -> str:
    s = report["summary"]
    ccy = s["currency"]

    def tone(value: float | None) -> str:
        return "" if value is None or value == 0 else ("pos" if value > 0 else "neg")

    funding = "not simulated" if s["funding"] is None else f"{_money(s['funding'], True)} {ccy}"
    guards = str(s["guard_events"]) if report["guard_events"]["recorded"] else "none recorded"
    leverage = "" if s["max_leverage"] is None else f"{s['max_leverage']:.2f}x equity"
    cards = [
        ("PnL (after fees)", f"{_money(s['pnl'], True)} {ccy}", f"return {_ratio(s['return_pct'])} %", tone(s["pnl"])),
        ("Max drawdown", f"{s['max_drawdown_pct']:.2f} %", f"{_money(s['max_drawdown'])} {ccy}", "neg" if s["max_drawdown_pct"] < 0 else ""),
        ("Trades", str(s["trades"]), f"win rate {pct(s['win_rate'])}", ""),
        ("Profit factor", _ratio(s["profit_factor"]), f"expectancy {_money(s['expectancy'], True)} {ccy}/trade", ""),
        ("Average R", _ratio(s["avg_r"]), f"over {s['r_trades']} of {s['trades']} trades", tone(s["avg_r"])),
        ("Sharpe / Sortino", f"{_ratio(s['sharpe'])} / {_ratio(s['sortino'])}", "daily returns, 365 days a year", tone(s["sharpe"])),
        ("Fees", f"{_money(s['fees'])} {ccy}", f"funding {funding}", ""),
        ("Max gross exposure", f"{num(s['max_gross_exposure'], 0)} {ccy}", leverage, ""),
        ("Guard events", guards, f"open positions at the end: {s['open_positions']}", "warn" if s["guard_events"] else ""),
    ]
    body = "".join(
        f"<div class='card {cls}'><div class='label'>{html.escape(label)}</div><div class='value'>{html.escape(value)}</div>"
        f"<div class='sub'>{html.escape(sub)}</div></div>"
        for label, value, sub, cls in cards
    )
    return f"<div class='cards'>{body}</div>"


def _figures(report: dict[str, Any]) -> list[Any]:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    s = report["summary"]
    ccy = s["currency"]
    fig = make_subplots(
        rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.05, row_heights=[0.45, 0.2, 0.35],
        subplot_titles=(f"Equity (account balance, {ccy})", "Drawdown (% below the running peak)", f"Exposure (notional, {ccy}; short < 0)"),
    )  # fmt: skip
    equity = report["equity"]
    fig.add_trace(
        go.Scatter(x=[_plot_time(p["ts"]) for p in equity], y=[p["balance"] for p in equity], mode="lines", line={"shape": "hv", "color": BLUE}, name="equity"),
        row=1, col=1,
    )  # fmt: skip
    events = [e for e in report["guard_events"]["events"] if e["ts"] is not None]  # the report notes events without a usable time
    balance_at = _step_lookup([(p["ts"], p["balance"]) for p in equity])
    for index, guard in enumerate(sorted({e["guard"] for e in events})):
        own = [e for e in events if e["guard"] == guard]
        fig.add_trace(
            go.Scatter(
                x=[_plot_time(e["ts"]) for e in own], y=[balance_at(e["ts"]) for e in own], mode="markers", name=f"guard: {guard}",
                marker={"symbol": "x", "size": 9, "color": GUARD_COLORS[index % len(GUARD_COLORS)]},
                text=[f"{e['guard']} {e['action']} {e['instrument_id'] or ''}<br>{e['detail'] or ''}" for e in own], hoverinfo="text+x",
            ),
            row=1, col=1,
        )  # fmt: skip
    falls = report["drawdown"]
    fig.add_trace(
        go.Scatter(x=[_plot_time(p["ts"]) for p in falls], y=[p["pct"] for p in falls], mode="lines", fill="tozeroy", line={"shape": "hv", "color": RED}, name="drawdown %"),
        row=2, col=1,
    )  # fmt: skip
    gross = report["exposure"]["gross"]
    fig.add_trace(
        go.Scatter(
            x=[_plot_time(p["ts"]) for p in gross], y=[p["notional"] for p in gross], mode="lines", fill="tozeroy", name="gross exposure",
            line={"shape": "hv", "color": "#9e9e9e", "width": 1}, fillcolor="rgba(158,158,158,0.35)",
            text=[f"leverage {_ratio(p['leverage'])}x" for p in gross], hoverinfo="text+x+y",
        ),
        row=3, col=1,
    )  # fmt: skip
    for index, (instrument_id, points) in enumerate(report["exposure"]["by_instrument"].items()):
        fig.add_trace(
            go.Scatter(
                x=[_plot_time(p["ts"]) for p in points], y=[p["notional"] for p in points], mode="lines", name=instrument_id,
                line={"shape": "hv", "width": 1.2, "color": PALETTE[index % len(PALETTE)]},
            ),
            row=3, col=1,
        )  # fmt: skip
    fig.update_layout(
        height=840, margin={"t": 60, "b": 40, "l": 80, "r": 20}, hovermode="x",
        legend={"orientation": "h", "y": 1.06, "x": 0, "xanchor": "left"},  # left of the mode bar
    )  # fmt: skip
    fig.update_yaxes(tickformat=",.0f", row=1, col=1)
    fig.update_yaxes(tickformat=",.0f", row=3, col=1)
    fig.update_yaxes(ticksuffix=" %", row=2, col=1)
    fig.update_xaxes(title_text="UTC", row=3, col=1)

    trades = report["trades"]
    numbers = list(range(1, len(trades) + 1))
    bars = go.Figure(
        go.Bar(
            x=numbers, y=[t["pnl"] for t in trades], marker_color=[GREEN if t["pnl"] > 0 else RED for t in trades], name="trade PnL",
            text=[f"#{i} {_time(t['exit_ts'])} {t['instrument_id']} {t['side']} {t['exit_reason']}, R {_ratio(t['r_multiple'])}" for i, t in zip(numbers, trades, strict=True)],
            hoverinfo="text+y", textposition="none",
        ),
    )  # fmt: skip
    bars.update_layout(title=f"PnL per trade in exit order ({ccy}, after fees)", height=320, margin={"t": 40, "b": 40, "l": 80, "r": 20}, bargap=0.1)
    bars.update_xaxes(title_text="trade #")
    return [fig, bars]


def _step_lookup(points: list[tuple[str, float]]):  # noqa: ANN202
    stamps = [stamp for stamp, _ in points]  # ISO UTC strings in time order sort as times

    def value_at(ts: str) -> float | None:
        if not points:
            return None
        return points[max(bisect.bisect_right(stamps, ts) - 1, 0)][1]

    return value_at


def _exits(trade: dict[str, Any]) -> str:
    # the exit reason, or each partial exit's reason in order
    if len(trade["exits"]) > 1:
        return " + ".join(exit_["reason"] for exit_ in trade["exits"])
    return trade["exit_reason"]


def _stats_row(name: str, g: dict[str, Any]) -> list[str]:
    return [
        name, str(g["trades"]), pct(g["win_rate"]), _money(g["pnl"], True), _money(g["fees"]),
        "n/a" if g.get("funding") is None else _money(g["funding"], True), f"{g['max_drawdown_pct']:.2f}",
        _money(g["max_drawdown"]), _ratio(g["sharpe"]), _ratio(g["sortino"]), _ratio(g["profit_factor"]),
        _money(g["expectancy"], True), _ratio(g["avg_r"]),
    ]  # fmt: skip


def _tables(report: dict[str, Any]) -> list[tuple[str, Table]]:
    s = report["summary"]
    ccy = s["currency"]
    total = _stats_row("all", s)
    group_note = (
        "Per group: drawdown, Sharpe and Sortino from the starting balance plus that group's closed-trade PnL; "
        "the 'all' row uses the account balance."
    )
    tables = []
    for key, title in (("by_strategy", "strategy"), ("by_instrument", "instrument")):
        rows = [_stats_row(name, group) for name, group in report[key].items()]
        tables.append((key.replace("_", "-"), Table(f"Per {title} ({ccy})", [title, *STAT_COLUMNS], [*rows, total], group_note)))

    alerts = report.get("alerts") or {}
    if alerts.get("recorded"):
        rows = [[c["channel"], f"{c['total']:,}", f"{c['per_day']:,.1f}", f"{c['max_day']:,}", c["busiest_day"]] for c in alerts["channels"]]
        note = (f"Counted in shadow mode over {alerts['days']} UTC days: what a paper or live node with this config would send "
                "(after the cooldown; digests may merge bursts into fewer messages). Discord allows 30 messages a minute per channel.")
        tables.append(("alert-load", Table("Alert load per Discord channel", ["channel", "alerts", "per day", "busiest day", "on"], rows, note)))
    funding = report["funding"]
    fee_rows = []
    for instrument_id in sorted(set(report["fees"]["by_instrument"]) | set(funding["by_instrument"])):
        paid = funding["by_instrument"].get(instrument_id, {"events": 0, "paid": 0.0, "received": 0.0, "net": 0.0} if funding["simulated"] else None)
        fee = report["fees"]["by_instrument"].get(instrument_id, 0.0)
        fee_rows.append([
            instrument_id, _money(fee), str(paid["events"]) if paid else "n/a", _money(paid["paid"], True) if paid else "n/a",
            _money(paid["received"], True) if paid else "n/a", _money(paid["net"], True) if paid else "n/a",
            _money(-fee + (paid["net"] if paid else 0.0), True),
        ])  # fmt: skip
    fee_rows.append(["all", _money(report["fees"]["total"]), str(len(funding["events"])) if funding["simulated"] else "n/a", "", "",
                     _money(funding["total"], True), _money(-report["fees"]["total"] + (funding["total"] or 0.0), True)])  # fmt: skip
    fee_note = "" if funding["simulated"] else "funding: not simulated for this run"
    tables.append(("fees-funding", Table(f"Fees and funding by instrument ({ccy}; negative = paid)",
                   ["instrument", "fees", "funding events", "funding paid", "funding received", "funding net", "fees + funding"], fee_rows, fee_note)))  # fmt: skip

    guards = report["guard_events"]
    if guards["recorded"]:
        counts = [[c["guard"], c["action"], str(c["events"])] for c in guards["counts"]]
        tables.append(("guard-counts", Table("Guard events by guard and action", ["guard", "action", "events"], counts)))
        rows = [
            [_time(g["first"]), _time(g["last"]) if g["events"] > 1 else "", g["guard"], g["action"], g["strategy_id"] or "", g["instrument_id"] or "", str(g["events"]), g["detail"] or ""]
            for g in guards["groups"]
        ]  # fmt: skip
        note = (
            "events of one guard, action, strategy and instrument whose reasons differ only in their figures are one row "
            "(the first event's figures); every event is in guard_events.csv and risk_report.json"
            if rows else "the run recorded no guard events"
        )  # fmt: skip
        columns = ["first (UTC)", "last (UTC)", "guard", "action", "strategy", "instrument", "events", "detail (first event)"]
        tables.append(("guard-events", Table(f"Guard events ({len(guards['events'])} in {len(rows)} groups)", columns, rows, note)))
    else:
        tables.append(("guard-events", Table("Guard events", [], [], "no guard events recorded (guard_events.csv missing)")))

    trade_rows = [
        [
            str(i), _time(t["entry_ts"]), _time(t["exit_ts"]), t["strategy_id"], t["instrument_id"], t["side"],
            f"{t['entry_price']:.8g}", f"{t['exit_price']:.8g}", f"{t['quantity']:g}", _money(t["pnl"], True),
            _money(t["fees"]), _ratio(t["r_multiple"]), _exits(t), f"{t['duration_min']:,.0f}",
        ]
        for i, t in enumerate(report["trades"], start=1)
    ]  # fmt: skip
    tables.append(("trade-list", Table(
        f"Trades ({len(trade_rows)} closed; PnL after fees, {ccy})",
        ["#", "entry (UTC)", "exit (UTC)", "strategy", "instrument", "side", "entry price", "exit price", "qty", "PnL", "fees", "R", "exit", "minutes"],
        trade_rows, "R = PnL / risk, from the entry order's risk= tag (or its stop= tag x qty x multiplier); "
        "exit lists each partial exit in order; prices are averages over the fills",
    )))  # fmt: skip
    if funding["simulated"] and funding["events"]:
        rows = [[_time(e["ts"]), e["instrument_id"], f"{e['position_qty']:g}", f"{e['price']:.8g}", f"{e['rate']:.6%}", _money(e["amount"], True)] for e in funding["events"]]
        tables.append(("funding-events", Table("Funding payments", ["time (UTC)", "instrument", "position qty", "price", "rate", "amount"], rows)))
    return tables


_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0 auto;max-width:1360px;padding:16px 24px;color:#222}
h1{font-size:24px;margin:8px 0 2px 0}.meta{font-size:13px;color:#555;margin-bottom:12px}
h2{font-size:19px;border-bottom:2px solid #4c78a8;padding-bottom:4px;margin-top:30px}h4{margin:14px 0 6px 0;font-size:14px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:10px;margin:10px 0}
.card{border:1px solid #dde3ea;border-radius:6px;padding:8px 12px;background:#fbfcfe}
.card .label{font-size:12px;color:#555;text-transform:uppercase;letter-spacing:.03em}.card .value{font-size:22px;font-weight:600;margin:2px 0}
.card .sub{font-size:12px;color:#666}.card.pos .value{color:#2e7d32}.card.neg .value{color:#c62828}.card.warn .value{color:#e65100}
ul.notes{font-size:13px;color:#444;margin:6px 0}
table{border-collapse:collapse;font-size:13px;margin-bottom:4px}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;white-space:nowrap}
th{background:#f2f5f9;position:sticky;top:0}td.n{text-align:right;font-variant-numeric:tabular-nums}
#by-strategy tbody tr:last-child td,#by-instrument tbody tr:last-child td,#fees-funding tbody tr:last-child td{font-weight:600;background:#f7f7f7}
.note{font-size:12px;color:#555;margin:2px 0 10px 0}.scroll{max-height:640px;overflow:auto;border:1px solid #eee;display:inline-block}
.fig{margin:10px 0}.defs{font-size:12px;color:#555;max-width:1100px}
#guard-events td:last-child{white-space:normal;min-width:360px;max-width:560px}
"""


def render_html(report: dict[str, Any]) -> str:
    """Return the risk report as one self-contained HTML document (plotly.js inlined once)."""
    from plotly.offline import get_plotlyjs

    s = report["summary"]
    name = report["run"]["name"]
    title = f"Risk report: {name}"
    period = f"{_time(s['start'])} to {_time(s['end'])} UTC ({s['days']} days)" if s["start"] else "period unknown (no account, fill or funding event)"
    meta = (
        f"{period} &middot; strategies: {html.escape(', '.join(s['strategies']) or 'none')} "
        f"&middot; instruments: {html.escape(', '.join(s['instruments']) or 'none')} &middot; starting balance {_money(s['starting_balance'])} "
        f"{html.escape(s['currency'])} &middot; run folder {html.escape(report['run']['run_dir'])}"
    )
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style>",
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>",
        f"<h1>{html.escape(title)}</h1><div class='meta'>{meta}</div>",
        _cards(report),
        "<ul class='notes'>" + "".join(f"<li>{html.escape(note)}</li>" for note in report["notes"]) + "</ul>",
        "<h2>Equity, drawdown and exposure</h2>",
    ]
    if not report["equity"] and not report["trades"]:
        parts.append("<p class='note'>nothing to plot: the run recorded no balance change and no trade</p>")
    for fig in _figures(report) if report["equity"] or report["trades"] else []:
        fig.update_layout(template="plotly_white", autosize=True)
        body = fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True})
        parts.append(f"<div class='fig'>{body}</div>")
    parts.append("<h2>Statistics</h2>")
    for table_id, table in _tables(report):
        if table_id == "trade-list":
            parts.append("<h2>Trade list</h2>")
        if table.rows:
            body = table.html() if len(table.rows) <= 25 else f"<div class='scroll'>{table.html()}</div>"
        else:  # nothing to list: the title and why
            body = f"<div class='table'><h4>{html.escape(table.title)}</h4><p class='note'>{html.escape(table.note or 'none')}</p></div>"
        parts.append(f"<section id='{table_id}'>{body}</section>")
    parts.append(
        "<h2>Definitions</h2><div class='defs'><p>Equity is the account balance after each account event: realized PnL after fees "
        "(and funding if the run booked it); open positions are not marked to market. Drawdown is the fall below the running peak. "
        "Sharpe and Sortino use daily returns of the equity (UTC days, 0 on days without events), annualised with 365 days "
        "since crypto trades every day; risk-free rate 0; Sharpe is the mean daily return over its standard deviation (n-1), Sortino the mean over the downside deviation (root mean square of min(return, 0) over all days). summary.json, the terminal and the tearsheet show these same figures (nautilus's own 252-day Sharpe and Sortino are left out of the tearsheet). Exposure is |position qty| x last fill price x "
        "contract multiplier, per instrument after each fill time; gross is their sum; leverage is gross over equity. "
        "Profit factor is gross profit over gross loss of the closed trades' PnL (nautilus's own, from daily returns, is left out of the tearsheet); expectancy is PnL per trade.</p></div>",
    )
    parts.append("</body></html>")
    return "\n".join(parts)
