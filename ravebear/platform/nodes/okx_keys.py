"""The OKX key variables a live node (and the local OKX venue) read; kept free of heavy imports for the CLI."""

from __future__ import annotations

import os

OKX_KEYS = ("OKX_API_KEY", "OKX_API_SECRET", "OKX_API_PASSPHRASE")


def missing_okx_keys(environ: dict[str, str] | None = None) -> list[str]:
    """Names of the OKX key variables that are unset or empty."""
    environ = os.environ if environ is None else environ
    return [name for name in OKX_KEYS if not environ.get(name)]
