"""`ravebear live` refuses to start unless armed, keyed and guarded, and says exactly why; secrets never show."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
KEYS = {"OKX_API_KEY": "test-key-1234", "OKX_API_SECRET": "s3cr3t-do-not-print", "OKX_API_PASSPHRASE": "pass-phrase-9"}


def live_config(tmp_path: Path, **node) -> Path:
    raw = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    raw["node"] = {"data": "okx", "dashboard": False, **node}
    path = tmp_path / "live.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def ravebear(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OKX_", "RAVEBEAR_LIVE"))}
    return subprocess.run([sys.executable, "-m", "ravebear.platform.cli", *args], capture_output=True, text=True, cwd=cwd, env={**clean, **env}, timeout=120)


def test_unarmed_without_keys_lists_every_reason_and_exits_2(tmp_path):
    done = ravebear("live", str(live_config(tmp_path)), env={}, cwd=tmp_path)
    assert done.returncode == 2
    assert "refusing to start a live node:" in done.stderr
    assert "live trading is not armed: pass --arm (or set RAVEBEAR_LIVE_ARMED=yes)" in done.stderr
    assert "OKX keys missing: set OKX_API_KEY, OKX_API_SECRET, OKX_API_PASSPHRASE in the environment or .env" in done.stderr
    assert "paper node" not in done.stdout and "live node" not in done.stdout  # nothing was built


def test_keys_without_arming_still_refuse_and_never_print_the_secret(tmp_path):
    done = ravebear("live", str(live_config(tmp_path)), env=KEYS, cwd=tmp_path)
    assert done.returncode == 2
    assert "not armed" in done.stderr and "OKX keys missing" not in done.stderr
    assert all(value not in done.stdout + done.stderr for value in KEYS.values())


def test_keys_from_dotenv_count_as_set(tmp_path):
    (tmp_path / ".env").write_text("".join(f'{k}="{v}"\n' for k, v in KEYS.items()))
    done = ravebear("live", str(live_config(tmp_path)), env={}, cwd=tmp_path)
    assert "OKX keys missing" not in done.stderr and "not armed" in done.stderr


def test_armed_but_unguarded_or_on_a_replay_is_refused(tmp_path):
    raw = yaml.safe_load(live_config(tmp_path).read_text())
    raw["risk"] = {"max_open_positions": 2}
    raw["node"]["data"] = "replay"
    path = tmp_path / "unguarded.yaml"
    path.write_text(yaml.safe_dump(raw))
    done = ravebear("live", str(path), "--arm", env=KEYS, cwd=tmp_path)
    assert done.returncode == 2
    assert "risk guards not configured: set risk.max_drawdown_pct, risk.daily_loss_limit_pct (> 0) in the config" in done.stderr
    assert "node.data must be 'okx' for a live node" in done.stderr
    assert "not armed" not in done.stderr


def test_the_plan_is_described_before_a_start(tmp_path):
    from ravebear.platform.cli.nodes import describe, live_refusals
    from ravebear.platform.nodes.run_file import load_run_file

    config, _ = load_run_file(live_config(tmp_path, stop_action="keep"))
    assert live_refusals(config, armed=True, environ=KEYS) == []
    lines = describe(config, "live")
    assert lines[1] == "execution: OKX DEMO account, cross margin"
    assert "instruments: BTC-USDT-SWAP.OKX, ETH-USDT-SWAP.OKX, SOL-USDT-SWAP.OKX" in lines
    assert any(line.startswith("guards: ") and "max_drawdown_pct 10" in line for line in lines)
    assert lines[-1] == "on stop (Ctrl-C): keep"


def test_the_shipped_live_config_is_ready_once_armed_and_keyed():
    from ravebear.platform.cli.nodes import live_refusals
    from ravebear.platform.nodes.run_file import load_run_file

    config, _ = load_run_file(REPO / "config" / "live.yaml")
    assert live_refusals(config, armed=True, environ=KEYS) == []
    assert live_refusals(config, armed=False, environ={})[0].startswith("live trading is not armed")


def test_paper_on_an_empty_catalog_says_what_is_missing(tmp_path):
    raw = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    raw["node"] = {"dashboard": False}
    path = tmp_path / "paper.yaml"
    path.write_text(yaml.safe_dump(raw))
    done = ravebear("paper", str(path), "--catalog", str(tmp_path / "empty"), env={}, cwd=tmp_path)
    assert done.returncode == 2
    assert "error: no bars for BTC-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL in the catalog at" in done.stderr
    assert "ravebear catalog import" in done.stderr


def test_paper_with_an_unreachable_redis_fails_at_once_naming_the_address(tmp_path):
    from tests.redis_server import free_port

    port = free_port()  # nothing listens there
    done = ravebear("paper", str(REPO / "config" / "backtest.yaml"), "--redis-port", str(port), "--no-dashboard", env={}, cwd=tmp_path)
    assert done.returncode == 2
    assert f"error: node.redis: cannot reach Redis at 127.0.0.1:{port} (Connection refused)" in done.stderr


def test_paper_options_are_validated_like_the_file(tmp_path):
    done = ravebear("paper", str(REPO / "config" / "backtest.yaml"), "--trader-id", "PAPER1", "--speed", "-2", env={}, cwd=tmp_path)
    assert done.returncode == 2
    assert "error: --trader-id: Value error, expected NAME-NNN such as 'RAVEBEAR-001', got 'PAPER1'; --speed: Input should be greater than or equal to 0" in done.stderr


def test_okx_clients_load_the_files_instruments_and_get_their_own_websocket_paths():
    from ravebear.platform.nodes.run_file import load_run_file
    from ravebear.platform.nodes.composer import okx_data_config, okx_exec_config

    config, _ = load_run_file(REPO / "config" / "live.yaml")
    node = config.node.model_copy(update={"okx": config.node.okx.model_copy(update={"base_url_http": "http://127.0.0.1:9", "base_url_ws": "ws://127.0.0.1:9/ws/v5/public"})})
    config = config.model_copy(update={"node": node})
    data, execution = okx_data_config(config), okx_exec_config(config)
    expected = {"BTC-USDT-SWAP.OKX", "ETH-USDT-SWAP.OKX"}
    assert {str(i) for i in data.instrument_provider.load_ids} == expected == {str(i) for i in execution.instrument_provider.load_ids}
    assert data.base_url_ws == "ws://127.0.0.1:9/ws/v5/public" and execution.base_url_ws == "ws://127.0.0.1:9/ws/v5/private"


# -- what `live` says when it cannot start, is stopped or cannot connect (issue 13, item 16) ------


def test_live_with_node_redis_and_no_redis_names_the_file_setting_not_a_live_option(tmp_path):
    from tests.redis_server import free_port

    port = free_port()  # nothing listens there
    done = ravebear("live", str(live_config(tmp_path, redis={"host": "127.0.0.1", "port": port})), "--arm", env=KEYS, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: node.redis: cannot reach Redis at 127.0.0.1:{port} (Connection refused); "
        "start redis-server there or fix node.redis in the run file (`ravebear paper` also takes --redis-port)"
    )
    assert "--redis-port" not in ravebear("live", "--help", env={}, cwd=tmp_path).stdout  # so the message must not offer it for live


def unreachable_okx(tmp_path: Path) -> Path:
    from tests.redis_server import free_port

    port = free_port()  # nothing listens: every connect is refused
    return live_config(tmp_path, okx={"environment": "live", "base_url_http": f"http://127.0.0.1:{port}", "base_url_ws": f"ws://127.0.0.1:{port}/ws/v5/public"})


def test_a_connect_timeout_stops_with_one_reason_and_leaves_no_pending_task(tmp_path):
    done = ravebear("live", str(unreachable_okx(tmp_path)), "--arm", env=KEYS, cwd=tmp_path)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: the market data and execution clients did not connect within 20 s; stopping")
    assert "Task was destroyed but it is pending" not in done.stdout + done.stderr  # nautilus's disconnect task was awaited
    assert "run folder:" in done.stdout


def test_ctrl_c_while_the_node_is_built_is_one_line(tmp_path):
    import signal

    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OKX_", "RAVEBEAR_LIVE"))}
    config = unreachable_okx(tmp_path)
    for _attempt in range(6):  # on a loaded machine the build can finish before the signal lands: then try again
        proc = subprocess.Popen([sys.executable, "-m", "ravebear.platform.cli", "live", str(config), "--arm"],
                                cwd=tmp_path, env={**clean, **KEYS}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        first = proc.stdout.readline()  # the description is printed, then the node is built (nautilus loads: > 1 s)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert first.startswith("live node RAVEBEAR-001")
        if re.search(r"^\d{4}-\d\d-\d\dT", err, re.MULTILINE):  # nautilus logged: the node was built and running already
            continue
        assert (proc.returncode, err.strip()) == (130, "error: interrupted (Ctrl-C)")
        assert "Aborted!" not in err and "Traceback" not in out + err
        return
    pytest.fail("the node was built before SIGINT arrived in all six attempts")


def test_live_at_the_local_venue_runs_quietly_and_ctrl_c_stops_it_cleanly(tmp_path):
    import signal
    import time

    from tests.platform.live.harness import KEYS_ENV, start_venue, wait_for, write_config

    venue = start_venue(minutes=60)
    try:
        config = write_config(tmp_path, venue)  # run.log_level INFO: the most the node says
        raw = yaml.safe_load(config.read_text())
        raw["run"]["name"] = "live-rehearsal"  # a name that already says live
        config.write_text(yaml.safe_dump(raw, sort_keys=False))
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("OKX_", "RAVEBEAR_LIVE"))}
        proc = subprocess.Popen([sys.executable, "-m", "ravebear.platform.cli", "live", str(config), "--arm", "--no-dashboard"],
                                cwd=tmp_path, env={**clean, **KEYS_ENV, "PYTHONPATH": str(REPO)},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        assert wait_for(venue, lambda v: v.path.position >= 10, timeout_s=60, proc=proc)  # the node subscribed: the venue plays
        time.sleep(12)  # more than two of VenueSync's 5 s position checks
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=90)
    finally:
        venue.stop()
    assert proc.returncode == 0, err[-3000:]
    receipts = [line for line in out.splitlines() if "Received" in line and "PositionReport" in line]
    assert len(receipts) == 1  # the start's reconciliation; the 5 s checks' "Received 0 PositionReports" went to DEBUG
    assert err.strip() == "stopping on Ctrl-C: closing positions and canceling orders (node.stop_action: flatten)"  # one line
    assert "Traceback" not in out and "[ERROR]" not in out
    ended = [line for line in out.splitlines() if line.startswith("live session ended after ")]
    assert len(ended) == 1
    folder = Path(out.split("run folder:")[1].split()[0])
    assert folder.name.endswith("Z-live-rehearsal") and (folder / "summary.json").exists()  # not ...-live-live-rehearsal


def test_the_description_gives_each_guard_limit_its_unit():
    from ravebear.platform.cli.nodes import describe
    from ravebear.platform.nodes.run_file import load_run_file

    config, _ = load_run_file(REPO / "config" / "live.yaml")
    guards = next(line for line in describe(config, "live") if line.startswith("guards: "))
    risk = config.risk
    assert f"max_drawdown_pct {risk['max_drawdown_pct']} %" in guards and f"daily_loss_limit_pct {risk['daily_loss_limit_pct']} %" in guards
    assert f"max_notional_per_order {risk['max_notional_per_order']:,} USDT" in guards and "," in f"{risk['max_notional_per_order']:,}"
    assert f"max_open_positions {risk['max_open_positions']}," in guards
