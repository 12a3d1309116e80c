"""Position sizing, stops and exits, guards and risk reports."""
