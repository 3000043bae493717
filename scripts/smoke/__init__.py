"""Pieces of the production-topology smoke test (``scripts/prod_smoke.py``, ``make prod-smoke``)."""
