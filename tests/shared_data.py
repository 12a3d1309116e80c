"""Where the team's real market data is: $RAVEBEAR_SHARED_DATA, ../shared/data beside the repo, or /work/shared/data."""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_CANDIDATES = [Path(p) for p in (os.environ.get("RAVEBEAR_SHARED_DATA"), REPO.parent / "shared" / "data", "/work/shared/data") if p]
SHARED = next((p for p in _CANDIDATES if p.exists()), _CANDIDATES[0])  # a clone anywhere still finds it
