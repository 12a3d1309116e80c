"""Level detectors fed one closed bar at a time; no nautilus imports here."""
