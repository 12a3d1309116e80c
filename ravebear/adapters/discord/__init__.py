"""Discord webhooks: typed alerts, Discord's payload limits, a rate-limited sender and a non-blocking dispatcher."""
