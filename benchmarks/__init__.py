"""Benchmarks for mailspec: run them with ``scripts/bench``."""
