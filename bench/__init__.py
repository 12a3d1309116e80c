"""Benchmarks (scripts that print numbers, not tests). Run them from the repo root: `python -m bench.<name>`."""
