"""Benchmarks: `python -m bench` (see bench/__main__.py for the module contract)."""
