"""Parameter search over run files: search spaces, Optuna studies on shared storage, walk-forward folds,
overfitting checks (deflated Sharpe ratio, PBO by CSCV, plateau choice) and the optimisation report (docs/OPTIMIZE.md)."""
