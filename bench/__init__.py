"""Benchmarks of ktp-gateway: `python -m bench` runs issue 8's suite (see BENCHMARKS.md)."""
