"""The signal swarm: twenty pure signal detectors ("bots"), their consensus and a causal market regime.

Definitions in docs/SWARM.md. Each bot is a plain class fed one event at a time (`bot.Bot`); the `Swarm`
(`swarm.py`) feeds them, reads every bot's vote at each 1-minute candle close and combines the votes
(`consensus.py`) with the regime (`regime.py`) into a `SwarmState`. The `SwarmActor` wraps it in nodes,
research runs it over the catalog, and `research/fast_swarm.py` is its compiled twin.
"""
