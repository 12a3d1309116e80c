"""RaveBear: one trading platform for crypto derivatives on nautilus_trader."""

__version__ = "0.1.0"
