"""Benchmarks: speed (`speed.py`) and rate-distortion against classic codecs (`rd.py`)."""
