"""`ravebear record` over a replayed one-hour session: memory over the run and the rate it keeps up with.

The session is the shared captures as OKX BTC-USDT-SWAP `trades` + `books` and Kraken BTC/USD `trade`
messages (`tests.orderflow_feeds`), repeated end to end until they span `--minutes` of exchange time
(trade ids offset per repeat; each OKX repeat opens with a book snapshot), played by the local replay
servers (`tests.orderflow_ws_servers`) as fast as the recorder takes them (`--rate 0`) or at `--rate`
messages/s. The recorder is the real command in a subprocess with its default batches.

Figures: the recorder's RSS (VmRSS, sampled every `--sample-s`) at 10 % of the session (after start-up
and the first batches), at the end and at its peak, and the slope of a least-squares line through the
samples from 10 % on, in MB per hour of session time (reference: flat, ~0); messages/s from the first
message played to the last (TCP back-pressure keeps the servers within a socket buffer of the recorder),
beside the reference: 10 x the shared captures' message rate (trades + depth events + bookTicker of the
three Binance captures, which ran at the same time); and the writer's own rate (objects / time writing).

    .venv/bin/python -m bench.recorder                 # 60 minutes, as fast as possible
    .venv/bin/python -m bench.recorder --minutes 10 --json var/recorder.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import REPO_ROOT

SAMPLE_S = 0.5


def rss_mb(pid: int) -> float | None:
    """Resident set size of a process in MB (None when it is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"VmRSS:\s+(\d+) kB", text)
    return int(match.group(1)) / 1024 if match else None


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (session minutes, MB) in MB per session hour."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    return 60.0 * sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0


def run_session(okx_messages: list, kraken_messages: list, okx_rate: float, kraken_rate: float, minutes: float, sample_s: float, batch_seconds: float) -> dict:
    """Play the session to a recorder subprocess; sample its RSS; Ctrl-C it at the end; return the figures."""
    from tests.orderflow_ws_servers import KrakenReplayServer, OkxReplayServer

    total = len(okx_messages) + len(kraken_messages)
    with tempfile.TemporaryDirectory() as tmp, OkxReplayServer(messages=okx_messages, rate=okx_rate) as okx, \
            KrakenReplayServer(messages=kraken_messages, rate=kraken_rate) as kraken:  # fmt: skip
        command = [
            sys.executable, "-m", "ravebear.platform.cli", "record", "--catalog", str(Path(tmp) / "catalog"), "--log-seconds", "30", "--batch-seconds", str(batch_seconds),
            "--okx", "BTC-USDT-SWAP", "--okx-http", okx.url, "--okx-ws", f"ws://127.0.0.1:{okx.port}/ws/v5/public",
            "--kraken", "BTC/USD", "--kraken-http", kraken.url, "--kraken-ws", f"ws://127.0.0.1:{kraken.port}/v2",
        ]  # fmt: skip
        proc = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        samples: list[tuple[float, float]] = []  # (played fraction, MB)
        first_played = None
        while not (okx.finished.is_set() and kraken.finished.is_set()):
            if proc.poll() is not None:
                raise SystemExit(f"the recorder exited early: {proc.communicate()}")
            played = okx.played + kraken.played
            if played and first_played is None:
                first_played = time.monotonic()
            mb = rss_mb(proc.pid)
            if mb is not None:
                samples.append((played / total, mb))
            time.sleep(sample_s)
        finished = time.monotonic()
        sent = {"okx trades": sum(len(m["data"]) for c, m in okx.sent if c == "trades"), "kraken trades": sum(len(m["data"]) for c, m in kraken.sent if c == "trade")}
        # the recorder may still be working through what the sockets delivered: wait until its RSS stops moving, at most 120 s
        settle_until = time.monotonic() + 120
        while time.monotonic() < settle_until:
            before = rss_mb(proc.pid)
            time.sleep(2.0)
            after = rss_mb(proc.pid)
            samples.append((1.0, after or before or samples[-1][1]))
            if before is not None and after is not None and abs(after - before) < 1.0:
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=300)
    if proc.returncode != 0:
        raise SystemExit(f"the recorder failed ({proc.returncode}): {err[-2000:]}")
    received = {f"{m.group(1)} {m.group(2)}": int(m.group(3).replace(",", "")) for m in re.finditer(r"^(\S+) (trades|book): ([\d,]+)", out, re.MULTILINE)}
    written = re.search(r"written \(([\d,]+) objects.*writer busy ([\d.]+) s", out)
    handled = re.search(r"^([\d,]+) updates .* handled in ([\d.]+) s", out, re.MULTILINE)
    objects, busy = int(written.group(1).replace(",", "")), float(written.group(2))
    updates, span = int(handled.group(1).replace(",", "")), float(handled.group(2))
    warm = [(fraction * minutes, mb) for fraction, mb in samples if fraction >= 0.10]
    return {
        "rss_start_mb": warm[0][1], "rss_end_mb": samples[-1][1], "rss_peak_mb": max(mb for _, mb in samples), "rss_slope_mb_per_hour": slope_per_hour(warm),
        "rss_slope_second_half_mb_per_hour": slope_per_hour([(m, mb) for m, mb in warm if m >= minutes / 2]), "rss_samples": samples[:: max(1, len(samples) // 200)],
        "play_s": finished - (first_played or finished), "offered_messages_per_s": total / (finished - (first_played or finished)),
        "handled_updates": updates, "handled_s": span, "handled_per_s": updates / span if span else 0.0, "all_received": updates == total,
        "writer_objects_per_s": objects / busy if busy else 0.0, "objects_written": objects, "received": received, "sent": sent,
    }  # fmt: skip


def main() -> None:  # noqa: D103
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="session length in exchange time (default 60)")
    parser.add_argument("--sample-s", type=float, default=SAMPLE_S, help="RSS sampling interval (s)")
    parser.add_argument("--batch-seconds", type=float, default=1.0,
                        help="the recorder's --batch-seconds (default 1: the session plays ~50x faster than real time, so 1 s of wall is ~60 s of session)")
    parser.add_argument("--only", choices=("paced", "fastest"), default=None, help="run one of the two sessions")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO_ROOT))
    from tests.orderflow_feeds import captures_message_rate, kraken_trade_messages, okx_feed, session

    okx_messages = session(okx_feed().messages, args.minutes)
    kraken_messages = session(kraken_trade_messages(), args.minutes)
    total = len(okx_messages) + len(kraken_messages)
    captures = captures_message_rate()
    reference = 10 * sum(captures.values())
    print(f"session: {args.minutes:g} min of exchange time, {len(okx_messages):,} OKX + {len(kraken_messages):,} Kraken messages = {total:,}")
    print(f"reference: 10 x the captures' {reference / 10:,.1f} messages/s = {reference:,.0f} messages/s ({', '.join(f'{k}: {v:,.1f}' for k, v in captures.items())})")
    share = len(okx_messages) / total
    skipped = dict.fromkeys(("rss_start_mb", "rss_end_mb", "rss_peak_mb", "rss_slope_mb_per_hour", "rss_slope_second_half_mb_per_hour", "offered_messages_per_s", "handled_per_s", "all_received", "writer_objects_per_s"), float("nan"))
    paced = run_session(okx_messages, kraken_messages, reference * share, reference * (1 - share), args.minutes, args.sample_s, args.batch_seconds) if args.only != "fastest" else skipped
    fastest = run_session(okx_messages, kraken_messages, 0, 0, args.minutes, args.sample_s, args.batch_seconds) if args.only != "paced" else skipped
    print(f"{'figure':<52} {'paced at 10x':>14} {'as fast as it goes':>20}  reference")
    rows = [
        ("RSS at 10 % of the session (MB)", "rss_start_mb", "{:.1f}", ""), ("RSS at the end (MB)", "rss_end_mb", "{:.1f}", ""),
        ("RSS peak (MB)", "rss_peak_mb", "{:.1f}", ""), ("RSS slope from 10 % (MB per session hour)", "rss_slope_mb_per_hour", "{:.1f}", "flat (~0)"),
        ("RSS slope, second half (MB per session hour)", "rss_slope_second_half_mb_per_hour", "{:.1f}", "flat (~0)"),
        ("messages/s offered by the servers", "offered_messages_per_s", "{:,.0f}", f"{reference:,.0f}"),
        ("updates/s handled by the recorder (first to last)", "handled_per_s", "{:,.0f}", f">= {reference:,.0f}"),
        ("every message handled", "all_received", "{}", "True"), ("writer objects/s (objects / time writing)", "writer_objects_per_s", "{:,.0f}", ""),
    ]  # fmt: skip
    for label, key, form, ref in rows:
        print(f"{label:<52} {form.format(paced[key]):>14} {form.format(fastest[key]):>20}  {ref}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"minutes": args.minutes, "messages": total, "reference": reference, "captures": captures, "paced": paced, "fastest": fastest}, indent=2))


if __name__ == "__main__":
    main()
