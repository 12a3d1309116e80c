"""Secrets come from environment variables only, never from config files."""

from __future__ import annotations

import os

from ravebear.adapters.common.errors import MissingCredentialError


def secret_from_env(env_var: str, service: str, required: bool = True) -> str | None:
    """Return the value of `env_var` (stripped), None when unset and optional, else raise naming the variable."""
    value = (os.environ.get(env_var) or "").strip()
    if value:
        return value
    if required:
        raise MissingCredentialError(service, env_var)
    return None
