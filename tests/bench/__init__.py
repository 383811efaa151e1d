"""Tests of the benchmarks' own data and arithmetic, cheap enough for every CI run."""
