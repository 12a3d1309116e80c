"""Whale Alert: large on-chain transfers from the v1 REST API (cursor paging) or the WebSocket alerts API."""
