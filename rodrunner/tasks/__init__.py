"""Prefect tasks: thin wrappers over the plain library functions, one module per concern."""
