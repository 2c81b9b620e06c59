"""Benchmarks of Charthouse on the local stack: ``python -m bench`` (``bench/suite.py``; docs/PERFORMANCE.md)."""
