"""Benchmarks (``bench/run.py``, ``bench/pack.py``): timings live here, never in the tests."""
