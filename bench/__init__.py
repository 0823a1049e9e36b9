"""Benchmarks: `make bench`. Figures are ratios against a raw baseline measured in the same run."""
