"""Benchmarks for mailspec (issue 6): run them with ``scripts/bench``."""
