"""Progress bars for the hot loops: a tqdm bar on stderr (the rule's log under Snakemake).

Redrawing is throttled, and more so when stderr is a file, so a log holds a readable trace
rather than one line per step; the loss is read (a GPU sync) only when the bar redraws.
"""

from __future__ import annotations

import sys
import time

import torch
from tqdm import tqdm


def progress_bar(total: int, desc: str, enabled: bool = True) -> tqdm:
    interactive = sys.stderr.isatty()
    return tqdm(
        total=total,
        desc=desc,
        file=sys.stderr,
        disable=not enabled,
        mininterval=0.5 if interactive else 10.0,
        ascii=not interactive,
    )


def show_step(bar: tqdm, epoch: int, loss: torch.Tensor | float, epochs: int | None = None) -> None:
    """Advance the bar one step with the epoch and current loss in the postfix."""
    if not bar.disable and (
        time.time() - bar.last_print_t >= bar.mininterval or bar.n + 1 >= (bar.total or 0)
    ):
        value = float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss)
        shown = f"{epoch + 1}/{epochs}" if epochs else epoch + 1
        bar.set_postfix(epoch=shown, loss=f"{value:.4f}", refresh=False)
    bar.update(1)
