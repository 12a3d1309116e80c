"""Node composition: the run file, the composer that turns it into a backtest, paper or live node config, and their runners."""
