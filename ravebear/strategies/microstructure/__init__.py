"""Order-flow detectors fed one trade or book update at a time; no nautilus imports here (docs/ORDERFLOW.md)."""
