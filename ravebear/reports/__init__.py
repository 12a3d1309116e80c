"""What a run leaves behind: the run folder, the risk report (JSON and HTML), its statistics and the shared table helpers."""
