"""Run as modules from the repository root: `python -m <package>.<module>`."""
