"""What nautilus's simulated venues lack for OKX-like backtests and paper nodes: bps fees, perpetual funding, the bar sandbox."""
