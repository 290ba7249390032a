"""t-SNE maps for the original / retrain / unlearned panels, on tiny models and images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unlearning.data.imageset import ImageSet
from unlearning.embedding import embed_models, sample_positions, tsne_map
from unlearning.errors import UserError
from unlearning.models.architectures import build_model

pytestmark = pytest.mark.usefixtures("one_thread")


def test_sample_keeps_every_group_and_its_share():
    groups = np.r_[np.zeros(950, int), np.ones(50, int)]  # a small forgotten group
    picked = sample_positions(groups, 100, seed=0)
    assert len(picked) <= 100 and np.all(np.diff(picked) > 0)
    assert (groups[picked] == 1).sum() == 5 and (groups[picked] == 0).sum() == 95
    assert np.array_equal(picked, sample_positions(groups, 100, seed=0))
    assert np.array_equal(sample_positions(groups[:80], 100, seed=0), np.arange(80))


def test_tsne_map_is_seeded_and_two_dimensional():
    features = np.random.default_rng(0).normal(size=(40, 6))
    first = tsne_map(features, seed=3)
    assert first.shape == (40, 2) and first.dtype == np.float32
    assert np.allclose(first, tsne_map(features, seed=3))
    with pytest.raises(UserError, match="at least 5"):
        tsne_map(features[:3], seed=0)


def _images(n: int, label: int, seed: int) -> ImageSet:
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 1, 8, 8), generator=g, dtype=torch.uint8)
    return ImageSet(images, torch.full((n,), label, dtype=torch.long))


def test_embed_models_maps_the_same_sample_through_each_model():
    torch.manual_seed(0)
    models = {
        name: build_model("allcnn", 3, 1, 8, [0.5], [0.25], width_factor=0.05)
        for name in ("original", "retrain", "unlearned")
    }
    forget, remain = _images(12, 0, 1), _images(30, 2, 2)
    out = embed_models(models, forget, remain, "cpu", max_points=20, seed=0)
    n = len(out["labels"])
    assert 10 <= n <= 20
    assert out["forget"].sum() >= 1 and (~out["forget"]).sum() >= 1
    assert set(out["labels"][out["forget"]]) == {0}
    for name in models:
        assert out[name].shape == (n, 2) and np.isfinite(out[name]).all()
