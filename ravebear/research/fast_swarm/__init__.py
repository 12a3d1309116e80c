"""Compiled (numba) twins of the swarm's bots, regime and consensus, for research over 1-minute bars."""
