"""Diagnostics that plug into the training loop through its hooks (`memorybench.engine.loop.Hook`)."""
