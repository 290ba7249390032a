"""Model outputs on a whole image set: the one place evaluation runs the network."""

from __future__ import annotations

import torch
from torch import nn

from unlearning.data.imageset import ImageSet


def predict_logits(
    model: nn.Module,
    data: ImageSet,
    device: torch.device | str,
    batch_size: int = 1024,
    *,
    output: str = "logits",
) -> torch.Tensor:
    """Logits (float32, CPU, shape (N, C)) of ``model`` on every sample of ``data``, in order.

    The model must already live on ``device``. It runs in eval mode under inference mode with
    large batches (predictions are the evaluation hot path); each submodule's train/eval flag is
    restored afterwards, so a caller's frozen batch-norm layers stay as they were. An empty set
    gives a (0, 0) tensor, since the number of classes is unknown without a forward pass.
    ``output="embedding"`` returns the penultimate-layer features (``model.embed``) instead.
    """
    if output not in ("logits", "embedding"):
        raise ValueError(f"output must be 'logits' or 'embedding', got {output!r}")
    forward = model.embed if output == "embedding" else model
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    chunks: list[torch.Tensor] = []
    try:
        with torch.inference_mode():
            for x, _ in data.batches(batch_size, device=device):
                chunks.append(forward(x).float())
    finally:
        for module, mode in modes:
            module.training = mode
    if not chunks:
        return torch.empty((0, 0), dtype=torch.float32)
    # Concatenating outside inference mode yields an ordinary tensor callers may modify in place.
    return torch.cat(chunks).cpu()
