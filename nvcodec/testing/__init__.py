"""Synthetic clips with known motion and byte mutations, for tests and measurements."""
