"""One Optuna study over one data window, worked by local processes and by any host that joins its storage.

Storage: PostgreSQL (or any SQLAlchemy URL) through Optuna's RDBStorage with heartbeats, so a killed worker's trial
is failed and retried; without a URL, a journal file in the output folder (local processes only). The same study
name continues after a kill. Grid points are enqueued once by the process that creates the study; workers pop
them atomically (a waiting trial becomes running in one guarded update), so no grid point runs twice.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ravebear.optimize.space import Space, run_file_with
from ravebear.optimize.trial_run import period_returns, run_trial

PASSWORD_ENV = "RAVEBEAR_STUDY_PASSWORD"  # a storage URL without a password takes it from here
HEARTBEAT_S = 20  # a running trial's heartbeat; silent for GRACE_S: failed and retried
GRACE_S = 60
SCHEMA_RETRIES = 5  # tries to open an RDB storage whose tables another host is creating


def storage_url(url: str) -> str:
    """The URL with the password from $RAVEBEAR_STUDY_PASSWORD when it has none."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    password = os.environ.get(PASSWORD_ENV)
    if parsed.password is None and password:
        parsed = parsed.set(password=password)
    return parsed.render_as_string(hide_password=False)


def shown_url(url: str) -> str:
    """The URL as printed: never its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown by its scheme only
        return url.split(":", 1)[0] + "://..."


def open_storage(storage: str) -> Any:
    """Optuna storage: an SQLAlchemy URL (RDB with heartbeats) or the path of a journal file."""
    import optuna

    if "://" in storage:
        import warnings

        from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
        from sqlalchemy.exc import IntegrityError, ProgrammingError

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            for attempt in range(SCHEMA_RETRIES):
                try:
                    return RDBStorage(
                        storage_url(storage), engine_kwargs={"pool_pre_ping": True}, heartbeat_interval=HEARTBEAT_S,
                        grace_period=GRACE_S, heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=2),
                    )  # fmt: skip
                except (IntegrityError, ProgrammingError):
                    # two hosts creating Optuna's tables in a fresh database at once: one wins, the other retries
                    if attempt == SCHEMA_RETRIES - 1:
                        raise
                    time.sleep(0.5 * (attempt + 1))
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    return JournalStorage(JournalFileBackend(str(storage)))


@dataclass
class StudyJob:
    """Everything a worker process needs (picklable): the space, the run file, the window and the storage."""

    name: str
    storage: str
    space: Space
    run_raw: dict[str, Any]
    catalog_path: Path
    start: pd.Timestamp
    end: pd.Timestamp
    trials: int
    starting_balance: float
    fold: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def directions(self) -> list[str]:
        """Every objective is maximised (max_drawdown is a negative %)."""
        return ["maximize"] * len(self.space.settings.objectives)

    @property
    def prunes(self) -> bool:
        """Pruning runs on single-objective studies (Optuna cannot prune a multi-objective trial)."""
        return len(self.space.settings.objectives) == 1 and self.space.settings.prune_segment > 0


def _sampler(job: StudyJob, worker: int) -> Any:
    import optuna

    seed = job.space.settings.seed + 1000 * job.fold + worker  # workers must not all propose the same point
    kind = job.space.settings.sampler
    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=min(10, max(job.trials // 5, 2)))
    return optuna.samplers.RandomSampler(seed=seed)  # grid: every trial is an enqueued grid point


def _pruner(job: StudyJob) -> Any:
    import optuna

    if not job.prunes:
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=job.space.settings.prune_startup, n_warmup_steps=0)


def create_or_load(job: StudyJob) -> Any:
    """Create the study (enqueueing the grid) or load it when it exists; a local journal's stale trials are retried."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(job.storage)
    try:
        study = optuna.create_study(study_name=job.name, storage=storage, directions=job.directions, sampler=_sampler(job, 0), pruner=_pruner(job))
        created = True
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=job.name, storage=storage, sampler=_sampler(job, 0), pruner=_pruner(job))
        created = False
        if [d.name.lower() for d in study.directions] != job.directions:
            raise ValueError(f"study '{job.name}' exists with {len(study.directions)} objective(s); the space has {len(job.directions)}: use another --study name")
    if created:
        study.set_user_attr("space", [param.key for param in job.space.params])
        study.set_user_attr("objectives", job.space.settings.objectives)
        study.set_user_attr("window", [job.start.isoformat(), job.end.isoformat()])
        if job.space.settings.sampler == "grid":
            for point in job.space.grid_points():
                study.enqueue_trial(point, skip_if_exists=False)
    elif "://" not in job.storage:
        _retry_stale_local(study, job)
    return study


def _retry_stale_local(study: Any, job: StudyJob) -> None:
    """A journal study is this output folder's alone: trials left running by a killed run are failed and re-queued."""
    from optuna.trial import TrialState

    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study._storage.set_trial_user_attr(trial._trial_id, "status", "failed: left running by a killed run, retried")
        study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
        study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number}, skip_if_exists=False)


def _pop_waiting(study: Any) -> Any:
    """A grid point nobody runs yet, as a trial, or None: the storage's guarded WAITING -> RUNNING update decides."""
    import optuna
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    storage = study._storage
    for frozen in storage.get_all_trials(study._study_id, deepcopy=False, states=(TrialState.WAITING,)):
        try:
            if storage.set_trial_state_values(frozen._trial_id, state=TrialState.RUNNING):
                return optuna.Trial(study, frozen._trial_id)
        except UpdateFinishedTrialError:
            continue
    return None


def metric_values(job: StudyJob, metrics: dict[str, Any]) -> list[float] | None:
    """The objectives' values, or None when one is undefined (no trades, no drawdown...)."""
    values = [metrics.get(name) for name in job.space.settings.objectives]
    return None if any(value is None for value in values) else [float(value) for value in values]


def objective(job: StudyJob, trial: Any) -> list[float]:
    """Run one trial: suggest, maybe prune on the first part of the window, run the window, check feasibility."""
    import optuna

    settings = job.space.settings
    params = {param.key: param.suggest(trial) for param in job.space.params}
    if job.prunes:
        cut = job.start + (job.end - job.start) * settings.prune_segment
        early = run_trial(run_file_with(job.run_raw, params, job.start.isoformat(), cut.isoformat()), job.catalog_path)
        values = metric_values(job, early.metrics)
        if values is not None:
            trial.report(values[0], 0)
            if trial.should_prune():
                trial.set_user_attr("status", f"pruned: {settings.objectives[0]} {values[0]:.3g} on the first {settings.prune_segment:.0%} of the window")
                raise optuna.TrialPruned
    run = run_trial(run_file_with(job.run_raw, params, job.start.isoformat(), job.end.isoformat()), job.catalog_path)
    trial.set_user_attr("metrics", run.metrics)
    trial.set_user_attr("returns", [round(v, 10) for v in period_returns(run, job.starting_balance, settings.returns_freq).tolist()])
    trades = int(run.metrics.get("trades") or 0)
    values = metric_values(job, run.metrics)
    if trades < settings.min_trades or values is None:
        why = f"{trades} trades < min_trades {settings.min_trades}" if trades < settings.min_trades else "objective undefined"
        trial.set_user_attr("status", f"infeasible: {why}")
        raise optuna.TrialPruned
    trial.set_user_attr("status", "complete")
    return values


def finished_count(study: Any) -> int:
    """Trials that are done (complete, pruned/infeasible, failed) or running; a failed trial that was retried (cut
    by a kill: its retry carries its number) does not count, its retry does."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs.get("retry_of", t.system_attrs.get("failed_trial")) for t in trials} - {None}
    counted = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING)
    return len([t for t in trials if t.state in counted and not (t.state == TrialState.FAIL and t.number in retried)])


def work(job: StudyJob, worker: int, on_trial: Any = None) -> dict[str, Any]:
    """A worker: take trials until the study has `trials` (grid: until no point waits); return its count and peak memory."""
    import logging

    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("optuna").setLevel(logging.WARNING)
    study = optuna.load_study(study_name=job.name, storage=open_storage(job.storage), sampler=_sampler(job, worker), pruner=_pruner(job))
    grid = job.space.settings.sampler == "grid"
    done, started, cpu_before = 0, time.perf_counter(), _cpu_s()
    while True:
        if grid:
            trial = _pop_waiting(study)
            if trial is None:
                break
        else:
            if finished_count(study) >= job.trials:
                break
            trial = study.ask()
        try:
            study.tell(trial, objective(job, trial))
        except optuna.TrialPruned:
            study.tell(trial, state=TrialState.PRUNED)
        except Exception as exc:  # noqa: BLE001 - a failing trial is recorded as failed; the search goes on
            study._storage.set_trial_user_attr(trial._trial_id, "status", f"failed: {type(exc).__name__}: {exc}"[:500])
            study.tell(trial, state=TrialState.FAIL)
        done += 1
        if on_trial is not None:
            on_trial(study)
    return {"worker": worker, "pid": os.getpid(), "trials": done, "elapsed_s": round(time.perf_counter() - started, 3),
            "cpu_s": round(_cpu_s() - cpu_before, 3), "peak_rss_mb": peak_rss_mb()}  # fmt: skip


def _cpu_s() -> float:
    """CPU seconds (user + system) this process has used: with the wall time, how much of a core a worker got."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """This process's peak resident memory, MB (Linux reports KB)."""
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale, 1)
