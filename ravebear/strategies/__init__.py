"""Trading logic: pure detectors (levels/), the strategy template and its parts, the strategies and actors that wrap them."""
