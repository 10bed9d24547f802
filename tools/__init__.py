"""Measurement tools; importable as `tools.*` from the repository root (tests set pythonpath)."""
