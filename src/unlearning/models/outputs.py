"""A model's outputs on a batch of real images, checked before it is saved or evaluated.

Finite weights do not make finite outputs: a batch-norm layer whose running variance went
negative, or activations that overflow float32, give NaN logits from weights that pass every
check on them. Every prediction of such a model is then class 0, which metrics read as perfect
forgetting. So every step that writes a model, and every evaluation, runs the model on one batch
of the images it works on and stops when a logit is not finite.

An imported model is also refused when its logits are finite but huge (beyond
:data:`LOGIT_LIMIT`): its softmax is one-hot on every image, so its probabilities, losses and
membership attacks carry no information, and gradients through it vanish or overflow.
"""

from __future__ import annotations

import torch
from torch import nn

from unlearning.data.imageset import ImageSet
from unlearning.metrics.predict import predict_logits

#: Images per set the check runs the model on (one evaluation batch's worth is plenty).
CHECK_IMAGES = 256
#: Largest logit magnitude an imported model may give. A trained classifier's logits stay within
#: tens; at 1e4 apart two logits give probabilities exp(-1e4), which is 0 in float32.
LOGIT_LIMIT = 1e4


def output_problem(
    model: nn.Module,
    sets: dict[str, ImageSet],
    device: torch.device | str,
    *,
    limit: float | None = None,
) -> str | None:
    """What is wrong with ``model``'s logits on the first images of each named set, as a phrase
    ("NaN or infinite logits on 12 of 256 forget images"), or None when nothing is.

    ``limit`` also refuses finite logits of a larger magnitude. The model's train/eval flags are
    left as they were."""
    for name, data in sets.items():
        if len(data) == 0:
            continue
        batch = data.subset(torch.arange(min(len(data), CHECK_IMAGES)))
        logits = predict_logits(model, batch, device, CHECK_IMAGES)
        finite = torch.isfinite(logits).all(dim=1)
        if not bool(finite.all()):
            bad = int((~finite).sum())
            return f"NaN or infinite logits on {bad} of {len(batch)} {name} images"
        largest = float(logits.abs().max()) if logits.numel() else 0.0
        if limit is not None and largest > limit:
            return f"logits as large as {largest:.3g} on {name} images (more than {limit:g})"
    return None
