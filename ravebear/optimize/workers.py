"""Run a study with local worker processes and show its progress (trials, rate, ETA, best so far)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from ravebear.optimize.study import StudyJob, create_or_load, finished_count, work

POLL_S = 1.0  # how often the progress line is refreshed


def best_so_far(study: Any, job: StudyJob) -> str:
    """'best sharpe 1.23' of the complete trials (the first objective), or 'no feasible trial yet'."""
    from optuna.trial import TrialState

    values = [t.values[0] for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.values]
    return f"best {job.space.settings.objectives[0]} {max(values):.4g}" if values else "no feasible trial yet"


def progress_line(label: str, done: int, total: int, elapsed_s: float, best: str, since: int = 0) -> str:
    """'fold 1/3: 12/50 trials, 48.0/min, ETA 47s, best sharpe 1.2'; the rate counts the trials after `since` (a
    resumed study's earlier ones are not this run's)."""
    rate = max(done - since, 0) / elapsed_s if elapsed_s > 0 else 0.0
    eta = f"{(total - done) / rate:.0f}s" if rate > 0 and done < total else "-"
    return f"{label}: {done}/{total} trials, {rate * 60:.1f}/min, ETA {eta}, {best}"


def worker_pool(workers: int) -> ProcessPoolExecutor | None:
    """The local worker processes (spawned: nautilus and Optuna hold threads, so no fork), kept for every fold so a
    worker starts once and keeps its catalog reads; None for one worker (it runs in this process)."""
    if workers <= 1:
        return None
    import multiprocessing

    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


def run_study(job: StudyJob, workers: int, label: str, show: Callable[[str], None], pool: ProcessPoolExecutor | None = None) -> tuple[Any, list[dict[str, Any]]]:
    """Create or load the study, work it with `workers` local processes (`pool`; none: this process), wait for other
    hosts' running trials, and return the study and each worker's count and peak memory."""
    from optuna.trial import TrialState

    study = create_or_load(job)
    total = len(job.space.grid_points()) if job.space.settings.sampler == "grid" else job.trials
    before = len([t for t in study.get_trials(deepcopy=False) if t.state.is_finished()])
    started = time.perf_counter()
    if pool is None:
        def each(study_now: Any) -> None:
            done = len([t for t in study_now.get_trials(deepcopy=False) if t.state.is_finished()]) - before
            show(progress_line(label, before + done, total, time.perf_counter() - started, best_so_far(study_now, job), before))

        stats = [work(job, 0, each)]
    else:
        futures = [pool.submit(work, job, index) for index in range(workers)]
        shown = -1
        while not all(f.done() for f in futures):
            done = finished_count(study) - len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
            if done != shown:
                show(progress_line(label, done, total, time.perf_counter() - started, best_so_far(study, job), before))
                shown = done
            time.sleep(POLL_S)
        stats = [f.result() for f in futures]
    while study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):  # another host's trials: wait for them
        time.sleep(POLL_S)
    finished = len([t for t in study.get_trials(deepcopy=False) if t.state.is_finished()])
    elapsed = time.perf_counter() - started
    show(progress_line(label, min(finished, total), total, elapsed, best_so_far(study, job), before) + f" ({finished - before} run here)")
    return study, stats
