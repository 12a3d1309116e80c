"""What a finished study says: the trials table, the best point, the plateau choice, the Pareto front, parameter
importance, and the DSR and PBO of its trials."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from ravebear.optimize.overfit import (
    deflated_sharpe,
    pbo_cscv,
    per_period_sharpe,
    plateau_choice,
    plateau_scores,
)
from ravebear.optimize.study import StudyJob, finished_count


def trial_rows(study: Any) -> list[dict[str, Any]]:
    """One row per trial: number, state, status, params, objective values and the run's metrics."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        rows.append({
            "number": trial.number, "state": trial.state.name.lower(), "status": trial.user_attrs.get("status", trial.state.name.lower()),
            "params": dict(trial.params), "values": list(trial.values) if trial.values else None,
            "metrics": trial.user_attrs.get("metrics"), "intermediate": {str(k): v for k, v in trial.intermediate_values.items()},
            "duration_s": trial.duration.total_seconds() if trial.duration else None,
        })  # fmt: skip
    return rows


def _importance(study: Any, keys: list[str]) -> dict[str, float] | None:
    """Optuna's fANOVA importance of each param for the first objective (None with too few complete trials)."""
    import optuna
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < 3 or not keys:
        return None
    import warnings

    try:
        # optuna 5's default evaluator (PED-ANOVA) scores what leads to LOW target values: ours are maximised, so the
        # target is negated; it warns about that on every call, whatever the target
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            importances = optuna.importance.get_param_importances(study, target=lambda t: -t.values[0])
    except (RuntimeError, ValueError, ZeroDivisionError):
        return None
    return {key: round(float(value), 6) for key, value in importances.items()}


def analyse(study: Any, job: StudyJob) -> dict[str, Any]:
    """Best, chosen (plateau or best), Pareto front, importance, DSR and PBO of a finished study."""
    from optuna.trial import TrialState

    settings = job.space.settings
    params = job.space.params
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.values]
    tried = finished_count(study)  # every trial evaluated (a retried one once): the DSR's N
    result: dict[str, Any] = {"trials": trial_rows(study), "tried": tried, "feasible": len(complete)}
    if not complete:
        result["error"] = f"no feasible trial (each had fewer than min_trades {settings.min_trades} trades or failed)"
        return result
    values = np.array([t.values[0] for t in complete])
    best = complete[int(np.argmax(values))]
    points = np.array([[p.scale(t.params[p.key]) for p in params] for t in complete])
    medians, sizes = plateau_scores(points, values, settings.plateau_radius)
    plateau = complete[plateau_choice(points, values, settings.plateau_radius)]
    multi = len(settings.objectives) > 1
    front = study.best_trials if multi else [best]
    chosen = best if settings.choose == "best" else plateau
    if multi:  # on a Pareto front: the front member with the best plateau median of the first objective
        on_front = {t.number for t in front}
        chosen = max((t for t in complete if t.number in on_front), key=lambda t: medians[[c.number for c in complete].index(t.number)])
    result.update({
        "best": {"number": best.number, "params": best.params, "values": best.values, "metrics": best.user_attrs.get("metrics")},
        "plateau": {
            "number": plateau.number, "params": plateau.params, "median": float(medians[complete.index(plateau)]),
            "neighbours": int(sizes[complete.index(plateau)]), "radius": settings.plateau_radius,
        },
        "chosen": {"number": chosen.number, "params": chosen.params, "values": chosen.values, "metrics": chosen.user_attrs.get("metrics"), "rule": "pareto+plateau" if multi else settings.choose},
        "pareto": [{"number": t.number, "params": t.params, "values": t.values} for t in front] if multi else None,
        "importance": _importance(study, [p.key for p in params]),
        "plateau_medians": {t.number: float(m) for t, m in zip(complete, medians, strict=True)},
    })  # fmt: skip
    returns = [t.user_attrs.get("returns") or [] for t in complete]
    length = min(len(r) for r in returns)
    if length >= 3:
        matrix = np.array([r[:length] for r in returns]).T
        sharpes = per_period_sharpe(matrix)
        chosen_returns = returns[complete.index(chosen)][:length]
        result["dsr"] = {**asdict(deflated_sharpe(chosen_returns, sharpes, trials=tried)), "freq": settings.returns_freq}
        try:
            pbo = pbo_cscv(matrix, settings.pbo_groups)
            result["pbo"] = {"pbo": pbo.pbo, "splits": pbo.splits, "strategies": pbo.strategies, "groups": pbo.groups, "logits": pbo.logits, "freq": settings.returns_freq}
        except ValueError as exc:
            result["pbo"] = {"pbo": None, "why": str(exc)}
    return result
