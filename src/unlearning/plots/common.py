"""What every figure shares: sizes that read at paper column width, styles, PNG+PDF saving.

Figures are built with ``matplotlib.figure.Figure`` rather than pyplot, so no GUI backend or global
figure registry is involved and nothing leaks between calls.
"""

from __future__ import annotations

import contextlib
import os
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from unlearning.atomic import atomic_path
from unlearning.errors import UserError
from unlearning.report_settings import HIGHLIGHT

#: Inches: one column and the full text width of a two-column paper.
COLUMN_WIDTH = 3.4
FULL_WIDTH = 7.0
DPI = 200
#: save_figure's tight bounding box adds 0.1 in on each side; figures drawn this much narrower
#: keep their printed width, so text prints at its nominal size.
TIGHT_PAD = 0.2

MARKERS = ("o", "s", "^", "D", "v", "P", "<", ">", "h", "p")
ORIGINAL_COLOUR = "0.35"
RETRAIN_COLOUR = "tab:red"
ORIGINAL_STYLE = {"marker": "*", "color": "black", "markersize": 11}
RETRAIN_STYLE = {"marker": "X", "color": RETRAIN_COLOUR, "markersize": 8}


@contextlib.contextmanager
def paper_style(font_scale: float = 0.9) -> Iterator[None]:
    """Seaborn's paper context: 8–9 pt text at the printed size of a column-wide figure."""
    with sns.axes_style("whitegrid"), sns.plotting_context("paper", font_scale=font_scale):
        yield


def _method_palette(n: int) -> list:
    """``n`` colours without reds, which mark the retrain in every figure."""
    import colorsys

    base = sns.color_palette("tab20" if n > 9 else "colorblind", 20 if n > 9 else 10)
    kept = []
    for colour in base:
        hue, _, saturation = colorsys.rgb_to_hls(*colour[:3])
        if not ((hue < 0.075 or hue > 0.93) and saturation > 0.3):
            kept.append(colour)
    return [kept[i % len(kept)] for i in range(n)]


def method_styles(methods: list[str]) -> dict[str, dict]:
    """A distinct colour and marker per method, so 15+ methods stay apart; the highlighted method
    drawn larger."""
    palette = _method_palette(len(methods))
    # The highlighted method takes the first (strongest) colour, so it never lands on a pale one.
    ranked = sorted(methods, key=lambda m: m != HIGHLIGHT)
    return {
        m: {
            "color": palette[ranked.index(m)],
            "marker": MARKERS[ranked.index(m) % len(MARKERS)],
            "markersize": 7 if m == HIGHLIGHT else 5,
        }
        for m in methods
    }


def load_npz(
    path: str | os.PathLike,
    what: str,
    hint: str,
    required: Sequence[str],
    optional: Sequence[str] = (),
) -> dict[str, np.ndarray]:
    """The ``required`` (and present ``optional``) arrays of a saved ``.npz``; a missing,
    unreadable or incomplete file is a :class:`UserError` naming ``what`` and the path."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what} {path} is missing; {hint}.")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise ValueError("not an .npz archive")
            missing = [k for k in required if k not in npz.files]
            if missing:
                raise UserError(f"{what} {path} lacks {missing}; {hint}.")
            keys = [*required, *(k for k in optional if k in npz.files)]
            return {k: np.asarray(npz[k]) for k in keys}
    except UserError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise UserError(f"{what} {path} is unreadable ({exc}); {hint}.") from exc


def value_text(value: object) -> str:
    """A hyperparameter value in a label: ``1e-04`` as ``0.0001``, missing as ``unset``."""
    if pd.isna(value):
        return "unset"
    return f"{value:g}" if isinstance(value, float) else str(value)


def save_figure(fig: Figure, stem: str | os.PathLike) -> list[Path]:
    """Write ``<stem>.png`` and ``<stem>.pdf`` atomically; return both paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in ("png", "pdf"):
        path = stem.with_name(f"{stem.name}.{fmt}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=DPI, bbox_inches="tight")
        paths.append(path)
    fig.clear()
    return paths
