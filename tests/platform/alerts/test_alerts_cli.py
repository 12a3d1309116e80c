"""`ravebear alerts test` and `ravebear alerts pending`, as a user runs them against a local Discord."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.discord_webhook_server import DiscordWebhookServer
from tests.platform.test_backtest import REPO, ravebear


def _run_file(tmp_path: Path, dead_letter: Path) -> Path:
    raw = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    raw["alerts"]["dead_letter"] = str(dead_letter)
    path = tmp_path / "alerts.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_each_channel_gets_a_test_message_or_says_why_not(tmp_path: Path) -> None:
    path = _run_file(tmp_path, tmp_path / "dead.jsonl")
    with DiscordWebhookServer(webhooks={"111": ("tok-btc-secret-aaaa", "c-btc"), "222": ("tok-eth-secret-bbbb", "c-eth")}) as server:
        env = {"DISCORD_WEBHOOK_BTC": server.url_for("111"), "DISCORD_WEBHOOK_ETH": server.url_for("222"),
               "DISCORD_WEBHOOK_SOL": f"{server.url}/api/webhooks/999/tok-deleted-secret-cccc"}
        done = ravebear("alerts", "test", str(path), "--channel", "btc-15m", "--channel", "eth-15m", "--channel", "sol-15m", env=env)
        titles = [r.payload["embeds"][0]["title"] for r in server.received]
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "btc-15m: sent (message 1300000000000000001)",
        "eth-15m: sent (message 1300000000000000002)",
        "sol-15m: not sent: HTTP 404 Unknown Webhook: check the webhook URL in DISCORD_WEBHOOK_SOL",
    ]
    assert done.stderr.strip() == "error: 1 of 3 channels did not get the test message"
    assert titles == ["RaveBear test message for #btc-15m", "RaveBear test message for #eth-15m"]
    assert "tok-" not in done.stdout + done.stderr


def test_a_missing_variable_a_wrong_channel_and_no_section_are_named(tmp_path: Path) -> None:
    path = _run_file(tmp_path, tmp_path / "dead.jsonl")
    missing = ravebear("alerts", "test", str(path), "--channel", "whale", env={"DISCORD_WEBHOOK_WHALE": ""})
    assert missing.returncode == 1
    assert missing.stdout.strip() == "not sent: alerts channel 'whale': DISCORD_WEBHOOK_WHALE is not set (environment or .env), so its alerts are not sent"
    wrong = ravebear("alerts", "test", str(path), "--channel", "btc")
    assert wrong.returncode == 2 and wrong.stderr.strip().startswith("error: unknown channel btc; ")
    raw = yaml.safe_load(path.read_text())
    raw.pop("alerts")
    path.write_text(yaml.safe_dump(raw))
    none = ravebear("alerts", "test", str(path))
    assert none.returncode == 2 and none.stderr.strip() == f"error: {path}: no alerts: section (docs/ALERTS.md shows one)"


def test_pending_counts_what_waits_in_the_dead_letter_file(tmp_path: Path) -> None:
    dead = tmp_path / "dead.jsonl"
    path = _run_file(tmp_path, dead)
    assert ravebear("alerts", "pending", str(path)).stdout.strip() == f"no undelivered alerts ({dead})"
    alert = {"kind": "entry", "symbol": "BTC", "title": "BTC long entry at 65,228.7", "ts_ns": 1785151200000000000, "key": "k", "score": None, "description": "", "fields": []}
    dead.write_text("\n".join([
        json.dumps({"channel": "btc-15m", "reason": "HTTP 500 after 5 attempts", "at": 0, "alerts": [alert, alert]}),
        json.dumps({"channel": "general", "reason": "the node stopped before it was sent", "at": 0, "alerts": [alert]}),
        '{"channel": "btc-15m", "reas',
    ]) + "\n")
    done = ravebear("alerts", "pending", str(path))
    assert done.returncode == 0
    assert done.stdout.splitlines() == [
        f"3 undelivered alerts in {dead} (sent at the next paper or live start):",
        "  btc-15m: 2", "  general: 1",
        "  2 x HTTP 500 after 5 attempts", "  1 x the node stopped before it was sent",
        "  1 unreadable line(s) (kept in dead.jsonl.unreadable at the next start)",
    ]
