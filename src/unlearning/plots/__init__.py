"""Figures built from the long metrics table."""

from unlearning.plots.tradeoff import tradeoff_figure

__all__ = ["tradeoff_figure"]
