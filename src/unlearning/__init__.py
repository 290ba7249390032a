"""Targeted machine unlearning on image classifiers (library; importable without Snakemake)."""

__version__ = "0.1.0"
