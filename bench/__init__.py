"""Benchmarks that print figures (never timed assertions inside tests); see README.md."""
