"""Configuration and the local runner (`python -m deploy.run`, what `make run` starts)."""
