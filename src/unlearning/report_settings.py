"""What the report singles out: the highlighted method and the axes of its grid.

The rules, the tables and the figures all read these, so they live here, free of torch, pandas and
matplotlib, where planning can import them cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The method the report singles out: drawn first and larger in every figure, its per-sample
#: losses shown next to the original's and the retrain's, and its grid tabulated and drawn.
HIGHLIGHT = "psg"


@dataclass(frozen=True)
class GridAxis:
    """One hyperparameter the highlighted method's grid spans."""

    #: The metrics column holding its value.
    column: str
    #: How tables and titles name it.
    symbol: str
    #: What it does, for a figure's axis label.
    meaning: str
    #: The symbol in LaTeX math mode, for the .tex tables.
    latex: str

    @property
    def label(self) -> str:
        return f"{self.symbol} ({self.meaning})"


#: The grid's axes, in order: the grid table's leading columns and sort keys, and the heatmaps'
#: rows then columns.
GRID_AXES: tuple[GridAxis, ...] = (
    GridAxis("hp_lambda", "λ", "closeness", r"\lambda"),
    GridAxis("hp_gamma", "γ", "noise", r"\gamma"),
)
#: How titles name the grid, e.g. "λ×γ".
GRID_NAME = "×".join(axis.symbol for axis in GRID_AXES)
#: File stem of the grid table: ``results/tables/<stem>.{csv,md,tex}`` and its HTML pages.
GRID_TABLE = f"{HIGHLIGHT}_grid"
