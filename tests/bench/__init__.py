"""Benchmark suite (not part of the default test run): `uv run python -m tests.bench`."""
