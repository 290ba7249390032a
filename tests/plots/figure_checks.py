"""What the figure tests share: the condition they look at and the check of a saved figure."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import synthetic_results as sr
from PIL import Image

from unlearning.plots.common import DPI

CONDITION = "class_1"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def condition_rows(df: pd.DataFrame, condition: str = CONDITION, **equal) -> pd.DataFrame:
    """The synthetic dataset's rows of ``condition`` whose columns equal ``equal``."""
    rows = df[(df["dataset"] == sr.DATASET) & (df["condition"] == condition)]
    for column, value in equal.items():
        rows = rows[rows[column] == value]
    return rows


def check_figure(paths: list[Path], width_inches: float, *, may_grow: bool = False) -> None:
    """PNG + PDF written, of sensible size, and the PNG ``width_inches`` wide at DPI: at most
    that wide, or, for figures whose tight bounding box may pad them (``may_grow``), about it."""
    png, pdf = paths
    assert (png.suffix, pdf.suffix) == (".png", ".pdf")
    assert png.read_bytes().startswith(PNG_SIGNATURE)
    assert pdf.read_bytes().startswith(b"%PDF")
    for path in paths:
        assert 5_000 < path.stat().st_size < 2_000_000, path
    with Image.open(png) as image:
        width, height = image.size
    if may_grow:
        # bbox_inches="tight" trims or pads a little around the nominal width.
        assert 0.8 * width_inches * DPI < width < 1.25 * width_inches * DPI
        assert 0.2 * width < height < 2 * width
    else:
        # Printed at this width, text keeps its size only if the tight bbox did not grow it.
        assert 0.8 * width_inches * DPI < width <= width_inches * DPI + 2
        assert 0.8 * DPI < height < 6 * DPI
