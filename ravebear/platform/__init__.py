"""Config loading, node builders, the CLI and run output."""
