import urllib.error

import pytest
import torch
import torchvision

from unlearning.errors import UserError
from unlearning.models import build_model
from unlearning.models.pretrained import load_imagenet


def test_offline_without_cache_is_a_clear_error(monkeypatch, tmp_path):
    def offline(self, *args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchvision.models.WeightsEnum, "get_state_dict", offline)
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path))
    model = build_model("resnet18", 3, 3, 96, [0.5] * 3, [0.25] * 3)
    with pytest.raises(UserError, match=str(tmp_path / "checkpoints")):
        load_imagenet(model, "resnet18")


def test_weights_are_copied_into_the_features(monkeypatch):
    reference = torchvision.models.resnet18()
    monkeypatch.setattr(
        torchvision.models.WeightsEnum,
        "get_state_dict",
        lambda self, *a, **k: reference.state_dict(),
    )
    model = build_model("resnet18", 3, 1, 96, [0.5], [0.25])  # grey images, 7x7 stem
    load_imagenet(model, "resnet18")
    assert torch.equal(model.features.layer4[1].conv2.weight, reference.layer4[1].conv2.weight)
    assert torch.equal(model.features.conv1.weight, reference.conv1.weight.sum(1, keepdim=True))
    assert model.head.out_features == 3


def test_allcnn_has_no_imagenet_weights():
    model = build_model("allcnn", 3, 1, 8, [0.5], [0.25], 0.1)
    with pytest.raises(UserError, match="resnet"):
        load_imagenet(model, "allcnn")
