"""`ravebear live` refuses to start unless armed, keyed and guarded, and says exactly why; secrets never show."""

import os
import subprocess
import sys
from pathlib import Path

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
