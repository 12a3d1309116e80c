"""A bad space file fails before any trial: one line, exit 2, naming the key (did-you-mean) or the config's Range."""

from __future__ import annotations

import pytest

from tests.optimize.conftest import ravebear, write_run_file

TRAIL = "strategies[0].config.exits.trailing_offset_bps"


@pytest.mark.parametrize(("space", "expected"), [
    ("strategies[0].config.exits.trailing_offest_bps: {low: 30, high: 120}",
     "unknown key 'exits.trailing_offest_bps' (did you mean 'trailing_offset_bps'?) for UntouchedWickConfig"),
    (f"{TRAIL}: {{low: -10, high: 120, step: 10}}",
     "'strategies[0].config.exits.trailing_offset_bps' must be between 0 and 5,000 bps (0 = the ATR multiple, or no trailing exit), got -10"),
    ("venue.fill_model.random_sed: {choices: [1, 2]}", "unknown key 'venue.fill_model.random_sed' (did you mean 'random_seed'?)"),
    ("strategies[3].config.exits.trailing_offset_bps: {low: 30, high: 120}", "the run file has no strategies[3] (it has 1)"),
    (f"optimize: {{objectives: [sharp]}}\n{TRAIL}: {{low: 30, high: 120}}", "unknown objective 'sharp' (did you mean 'sharpe'?)"),
    (f"optimize: {{trails: 5}}\n{TRAIL}: {{low: 30, high: 120}}", "unknown key 'optimize.trails' (did you mean 'trials'?)"),
    (f"optimize: {{sampler: grid}}\n{TRAIL}: {{low: 30, high: 120}}", "the grid sampler needs a step or choices"),
    (f"{TRAIL}: {{low: 30, hihg: 120}}", "unknown setting 'hihg' (did you mean 'high'?)"),
    (f"{TRAIL}: {{low: 30, high: 120, log: true, step: 5}}", "a log range needs low above 0 and no step"),
])  # fmt: skip
def test_a_bad_space_is_one_line_and_exit_2(tmp_path, opt_catalog, space, expected):
    run = write_run_file(tmp_path, "2026-07-28", "2026-07-30")
    (tmp_path / "space.yaml").write_text(space + "\n")
    done = ravebear("optimize", str(run), str(tmp_path / "space.yaml"), "--catalog", str(opt_catalog), "--out", str(tmp_path / "out"), timeout=120)
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "study.journal").exists()  # nothing ran


def test_missing_files_are_named(tmp_path, opt_catalog):
    run = write_run_file(tmp_path, "2026-07-28", "2026-07-30")
    done = ravebear("optimize", str(run), str(tmp_path / "nope.yaml"), "--catalog", str(opt_catalog), timeout=120)
    assert done.returncode == 2 and f"{tmp_path / 'nope.yaml'}: no such space file" in done.stderr


def test_an_unreachable_study_storage_is_one_line_exit_1_without_its_password(tmp_path, opt_catalog):
    from tests.redis_server import free_port

    run = write_run_file(tmp_path, "2026-07-28", "2026-07-30")
    (tmp_path / "space.yaml").write_text(f"{TRAIL}: {{low: 30, high: 120, step: 10}}\n")
    url = f"postgresql+psycopg://opt:Very-S3cret@127.0.0.1:{free_port()}/studies"
    done = ravebear("optimize", str(run), str(tmp_path / "space.yaml"), "--catalog", str(opt_catalog), "--out", str(tmp_path / "out"), "--storage", url, timeout=120)
    assert done.returncode == 1
    assert "Very-S3cret" not in done.stdout + done.stderr
    assert "study on postgresql+psycopg://opt:***@127.0.0.1" in done.stdout
    assert done.stderr.startswith("error: optimize untouched-wick-okx-space: OperationalError:") and "Connection refused" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
