"""Message-bus topics the risk layer publishes on."""

GUARD_TOPIC = "ravebear.risk.guard"  # every GuardEvent a strategy records (the run recorder listens)
