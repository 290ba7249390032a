"""SCRUB+R, "SCRUB and Rewind" (Kurmanji et al., "Towards Unbounded Machine Unlearning", NeurIPS
2023, Section 3).

Run SCRUB (:mod:`unlearning.methods.scrub`), keep the student's weights after every epoch, and
return the epoch whose forget-set error is closest to a reference error: the error of the final
SCRUB model on held-out data distributed like the forget set, an estimate of what a model that
never saw D_f would get on it. The held-out data are ``task.validation`` restricted to the classes
of the forget set whenever the forget set holds only some of the classes (a forgotten class, or
part of one: the validation images of that class), else the whole validation set (a forget set
spread over every class). Ties go to the latest epoch: SCRUB+R rewinds only when an earlier epoch
is strictly closer. (When the errors saturate, as for a forgotten class whose forget and held-out
errors are both 100 %, SCRUB+R returns SCRUB's result.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from unlearning.errors import UserError
from unlearning.lazy import lazy, torch
from unlearning.methods import scrub
from unlearning.methods.registry import UnlearningTask

if TYPE_CHECKING:
    from torch import nn

    from unlearning.data.imageset import ImageSet
    from unlearning.metrics import predict
else:
    predict = lazy("unlearning.metrics.predict")

log = logging.getLogger(__name__)

DESCRIPTION = (
    "SCRUB+R: SCRUB, rewound to the epoch whose forget error best "
    "matches held-out data (Kurmanji 2023)"
)


@dataclass
class Params(scrub.Params):
    """SCRUB's parameters and defaults; scrub_r adds only the rewinding."""


def error(model: nn.Module, data: ImageSet, device: torch.device) -> float:
    """Top-1 error of ``model`` on ``data`` (eval mode; the model's train/eval flags are kept)."""
    logits = predict.predict_logits(model, data, device)
    return 1.0 - (logits.argmax(dim=1) == data.labels).float().mean().item()


def reference_set(forget: ImageSet, validation: ImageSet) -> ImageSet:
    """Held-out data distributed like the forget set: the validation images whose label is among
    the forget set's labels when those labels are only some of the classes in the validation set,
    else the whole validation set (see the module docstring)."""
    if len(validation) == 0:
        raise UserError(
            f"{Params.method}: the validation set is empty, and rewinding needs held-out data; "
            "set datasets.<name>.val_fraction above 0 in the config."
        )
    forget_labels = forget.labels.unique()
    same = torch.isin(validation.labels, forget_labels)
    if same.any() and not same.all():
        return validation.subset(torch.where(same)[0])
    return validation


def select_epoch(forget_errors: list[float], reference: float) -> int:
    """Index of the epoch whose forget error is closest to ``reference``; on ties the latest, so
    SCRUB+R rewinds only when an earlier epoch is strictly closer (a later epoch has had more
    min-steps to restore the remain set)."""
    if not forget_errors:
        raise ValueError("select_epoch needs at least one epoch")
    gaps = [abs(e - reference) for e in forget_errors]
    return max(i for i, gap in enumerate(gaps) if gap == min(gaps))


def run(task: UnlearningTask, params: Params) -> nn.Module:
    held_out = reference_set(task.forget, task.validation)
    model = task.model
    states: list[dict[str, torch.Tensor]] = []
    forget_errors: list[float] = []
    for _ in scrub.scrub_epochs(task, params):
        states.append({k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()})
        forget_errors.append(error(model, task.forget, task.device))
    reference = error(model, held_out, task.device)
    chosen = select_epoch(forget_errors, reference)
    model.load_state_dict(states[chosen])
    log.info(
        "scrub_r: forget error per epoch %s; reference error %.4f on %d held-out images; "
        "rewound to epoch %d of %d",
        [round(e, 4) for e in forget_errors],
        reference,
        len(held_out),
        chosen + 1,
        params.epochs,
    )
    return model
