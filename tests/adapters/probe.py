"""`python -m tests.adapters.probe module:ContractClass`: run a contract's fault paths with real logging (see contract.py)."""

from __future__ import annotations

import importlib
import sys


def main() -> None:
    module, name = sys.argv[1].split(":")
    contract = getattr(importlib.import_module(module), name)()
    contract.probe()


if __name__ == "__main__":
    main()
