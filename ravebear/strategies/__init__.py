"""Trading logic: pure detectors plus the nautilus Actors and Strategies that wrap them."""
