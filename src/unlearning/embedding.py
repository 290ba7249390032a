"""Two-dimensional t-SNE maps of penultimate-layer features, for the original / retrain /
unlearned panels.

The maps are computed once by a workflow rule and saved as a small array file, so the figure can
be redrawn in seconds without loading a model. The same seeded sample of test images goes through
every model, so the panels differ only by the model.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from unlearning.data.imageset import ImageSet
from unlearning.errors import UserError
from unlearning.metrics.predict import predict_logits

#: t-SNE's usual perplexity; smaller samples use n/4 so the map stays defined.
PERPLEXITY = 30.0


def sample_positions(groups: np.ndarray, max_points: int, seed: int) -> np.ndarray:
    """Sorted positions of at most ``max_points`` samples, each group (e.g. class and forget flag)
    keeping its share, so a small forgotten group is not sampled away."""
    n = len(groups)
    if n <= max_points:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    chosen = []
    values, counts = np.unique(groups, return_counts=True)
    quotas = np.maximum(1, np.floor(counts * max_points / n)).astype(int)
    for value, quota in zip(values, quotas, strict=True):
        members = np.flatnonzero(groups == value)
        chosen.append(rng.choice(members, size=min(quota, len(members)), replace=False))
    return np.sort(np.concatenate(chosen))


def tsne_map(features: np.ndarray, seed: int) -> np.ndarray:
    """(n, 2) float32 t-SNE coordinates of ``features`` (PCA start, seeded)."""
    from sklearn.manifold import TSNE  # scikit-learn: only the embedding rule pays the import

    n = len(features)
    if n < 5:
        raise UserError(
            f"A t-SNE map needs at least 5 test samples, got {n}; choose a condition with "
            "more test samples in report.tsne."
        )
    perplexity = min(PERPLEXITY, (n - 1) / 4)
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    return tsne.fit_transform(np.asarray(features, dtype=np.float64)).astype(np.float32)


def embed_models(
    models: Mapping[str, nn.Module],
    test_forget: ImageSet,
    test_remain: ImageSet,
    device: torch.device | str,
    *,
    max_points: int,
    seed: int,
    batch_size: int = 1024,
) -> dict[str, np.ndarray]:
    """t-SNE coordinates per model name, plus ``labels`` and ``forget`` of the sampled images."""
    images = ImageSet.concat([test_forget, test_remain])
    forget = np.r_[np.ones(len(test_forget), bool), np.zeros(len(test_remain), bool)]
    labels = images.labels.numpy()
    positions = sample_positions(labels * 2 + forget, max_points, seed)
    sample = images.subset(positions)
    out: dict[str, np.ndarray] = {
        "labels": labels[positions].astype(np.int64),
        "forget": forget[positions],
    }
    for name, model in models.items():
        model.to(device)
        features = predict_logits(model, sample, device, batch_size, output="embedding")
        out[name] = tsne_map(features.flatten(1).numpy(), seed)
    return out
