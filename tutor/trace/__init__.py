"""The trace: every named quantity of a step (key, value, formula, dependencies); the only thing views and teach read."""
