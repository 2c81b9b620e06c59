"""Benchmarks of Charthouse on the local stack (``python -m bench.bench_releases``)."""
