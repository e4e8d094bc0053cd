"""Helpers of ``benchmarks/corpus.py``: downloads, outcomes of both sides, causes.

Not named ``corpus/``: beside ``corpus.py`` mypy and imports would take one for the other.
"""
