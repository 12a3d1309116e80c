"""`python -m ravebear.platform.cli` runs the `ravebear` command."""

from ravebear.platform.cli import main

main()
