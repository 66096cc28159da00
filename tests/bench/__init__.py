"""Tests of the benchmark tooling in bench/ (the report, not the figures)."""
