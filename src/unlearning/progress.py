"""Progress bars for the hot loops: a tqdm bar on stderr (the rule's log under Snakemake).

Redrawing is throttled, and more so when stderr is a file, so a log holds a readable trace
rather than one line per step; the loss is read (a GPU sync) only when the bar redraws.

Every loss shown also goes through a finiteness check, so a diverging step stops instead of
writing NaN weights whose predictions look like results. Reading a CUDA tensor every step would
stall the GPU queue, so each step only folds ``isfinite(loss)`` into a flag on the device, and
the flag is read once per epoch (when the next one starts, at the bar's last step and when its
``with`` block ends) and whenever the bar redraws anyway: a diverged step stops within an epoch.
"""

from __future__ import annotations

import math
import sys
import time

import torch
from tqdm import tqdm

from unlearning.errors import UserError


class NonFiniteLoss(UserError):
    """A loss became NaN or infinite: the step diverged, and its weights are no longer numbers.

    ``step`` is the bar's name (the method, or ``original``/``retrain``), ``epoch`` counts from 1.
    Callers that know the config setting re-raise it with that named.
    """

    def __init__(self, step: str, epoch: int, epochs: int | None) -> None:
        self.step, self.epoch, self.epochs = step, epoch, epochs
        super().__init__(
            f"The {self.where()}; lower the learning rate (or other step sizes) of that setting."
        )

    def where(self) -> str:
        of = f" of {self.epochs}" if self.epochs else ""
        return f"{self.step} loss became non-finite (NaN or infinite) in epoch {self.epoch}{of}"


class ProgressBar(tqdm):
    """A tqdm bar that also watches the losses it is shown (see the module docstring)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.step_name = kwargs.get("desc") or "step"
        self.steps = 0  # tqdm's own count stays 0 when the bar is disabled
        self.epoch: int | None = None
        self.epochs: int | None = None
        self.finite: torch.Tensor | None = None  # every loss since the last check was finite

    def record(self, epoch: int, loss: torch.Tensor | float, epochs: int | None) -> None:
        if self.epoch is not None and epoch != self.epoch:
            self.check()  # the previous epoch is complete
        self.epoch, self.epochs = epoch, epochs or self.epochs
        self.steps += 1
        if isinstance(loss, torch.Tensor):
            ok = torch.isfinite(loss.detach()).all()  # stays on the device: no sync
            self.finite = ok if self.finite is None else self.finite & ok
        elif not math.isfinite(loss):
            self.fail()
        if self.total and self.steps >= self.total:
            self.check()

    def check(self) -> None:
        """Raise :class:`NonFiniteLoss` if a loss since the last check was not finite (a sync)."""
        if self.finite is not None:
            finite, self.finite = bool(self.finite), None
            if not finite:
                self.fail()

    def fail(self) -> None:
        raise NonFiniteLoss(self.step_name, (self.epoch or 0) + 1, self.epochs)

    def __exit__(self, exc_type, exc_value, traceback):
        try:
            if exc_type is None:
                self.check()
        finally:
            result = super().__exit__(exc_type, exc_value, traceback)
        return result


def progress_bar(total: int, desc: str, enabled: bool = True) -> ProgressBar:
    interactive = sys.stderr.isatty()
    return ProgressBar(
        total=total,
        desc=desc,
        file=sys.stderr,
        disable=not enabled,
        mininterval=0.5 if interactive else 10.0,
        ascii=not interactive,
    )


def show_step(bar: tqdm, epoch: int, loss: torch.Tensor | float, epochs: int | None = None) -> None:
    """Advance the bar one step with the epoch and current loss in the postfix; stop the step
    with :class:`NonFiniteLoss` once a loss is found not finite."""
    if isinstance(bar, ProgressBar):
        bar.record(epoch, loss, epochs)
    if not bar.disable and (
        time.time() - bar.last_print_t >= bar.mininterval or bar.n + 1 >= (bar.total or 0)
    ):
        value = float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss)
        if isinstance(bar, ProgressBar) and not math.isfinite(value):
            bar.fail()
        shown = f"{epoch + 1}/{epochs}" if epochs else epoch + 1
        bar.set_postfix(epoch=shown, loss=f"{value:.4f}", refresh=False)
    bar.update(1)
