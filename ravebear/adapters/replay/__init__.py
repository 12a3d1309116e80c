"""Replay of catalog data into a live TradingNode, at real time, N x, or as fast as the node can take it."""
