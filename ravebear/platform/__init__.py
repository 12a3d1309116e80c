"""Everything that composes the layers below: the CLI (cli/), node composition (nodes/), simulated-venue models
(simulated_venue/), nautilus live-node fixes (live_fixes/) and the terminal dashboard."""
