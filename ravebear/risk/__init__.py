"""Risk controls: position sizing, exit plans, account guards, the entry gate, the feed watchdog, RiskEngine settings."""
