"""Checkpoints of the paper's reference code (monkeygobah/unlearning_langevin) import unchanged.

``ReferenceAllCNN`` and ``ReferenceCustomResNet`` below transcribe the layer structure of the
reference's ``models.py`` (``AllCNN``, ``Conv``, ``Identity``, ``Flatten``, ``CustomResNet``), so
their state dicts carry the reference's own layer names.
"""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from unlearning.errors import UserError
from unlearning.models.external import import_original

pytestmark = pytest.mark.usefixtures("one_thread")

MEAN = [0.4914, 0.4822, 0.4465]
STD = [0.2023, 0.1994, 0.2010]
PICKLED = (
    "holds a whole pickled model, not a state_dict; load it where its class is defined and save "
    "its weights with torch.save(model.state_dict(), path) (model.module.state_dict() for a "
    "model inside DataParallel)."
)


class Identity(nn.Module):
    def forward(self, x):
        return x


class Flatten(nn.Module):
    def forward(self, x):
        return x.view(x.size(0), -1)


class Conv(nn.Sequential):
    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=None):
        if padding is None:
            padding = (kernel_size - 1) // 2
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                      bias=False),
            nn.BatchNorm2d(out_channels, affine=True),
            nn.ReLU(),
        )  # fmt: skip


class ReferenceAllCNN(nn.Module):
    def __init__(self, n_channels=3, num_classes=10, dropout=False, filters_percentage=1.0):
        super().__init__()
        n1, n2 = int(32 * 3 * filters_percentage), int(32 * 6 * filters_percentage)
        self.features = nn.Sequential(
            Conv(n_channels, n1, kernel_size=3),
            Conv(n1, n1, kernel_size=3),
            Conv(n1, n2, kernel_size=3, stride=2, padding=1),
            nn.Dropout(inplace=False) if dropout else Identity(),
            Conv(n2, n2, kernel_size=3, stride=1),
            Conv(n2, n2, kernel_size=3, stride=1),
            Conv(n2, n2, kernel_size=3, stride=2, padding=1),
            nn.Dropout(inplace=False) if dropout else Identity(),
            Conv(n2, n2, kernel_size=3, stride=1),
            Conv(n2, n2, kernel_size=1, stride=1),
            nn.AvgPool2d(8),
            Flatten(),
        )
        self.classifier = nn.Sequential(nn.Linear(n2, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


class ReferenceCustomResNet(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.resnet_base = torchvision.models.resnet50(weights=None)  # the reference: DEFAULT
        width = self.resnet_base.fc.in_features
        self.resnet_base.fc = nn.Identity()
        self._classifier = nn.Sequential(nn.Dropout(0.5), nn.Linear(width, num_classes))

    def forward(self, x):
        return self._classifier(torch.flatten(self.resnet_base(x), 1))


def trained_looking(model: nn.Module) -> nn.Module:
    """Seeded weights and batch-norm statistics, so that a misplaced layer shows in the logits."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                shape = module.running_mean.shape
                module.running_mean.copy_(torch.randn(shape, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(shape, generator=generator) + 0.5)
                module.weight.copy_(torch.rand(shape, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(shape, generator=generator) * 0.1)
    return model.eval()


def allcnn_description(**changes) -> dict:
    return {
        "architecture": "allcnn",
        "num_classes": 4,
        "in_channels": 3,
        "image_size": 32,
        "mean": MEAN,
        "std": STD,
        "width_factor": 0.125,
        **changes,
    }


def reference_logits(reference: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The reference feeds its models batches its data loader has normalised."""
    mean = torch.tensor(MEAN).view(1, -1, 1, 1)
    std = torch.tensor(STD).view(1, -1, 1, 1)
    with torch.no_grad():
        return reference((x - mean) / std)


@pytest.mark.parametrize("reference_dropout", [False, True])
@pytest.mark.parametrize("our_dropout", [0.0, 0.5])
def test_reference_allcnn_state_dict_gives_the_same_logits(
    tmp_path, reference_dropout, our_dropout
):
    torch.manual_seed(0)
    reference = trained_looking(
        ReferenceAllCNN(num_classes=4, dropout=reference_dropout, filters_percentage=0.125)
    )
    state = reference.state_dict()
    assert "classifier.0.weight" in state and "features.4.0.weight" in state
    assert not any(k.startswith(("features.3.", "features.7.")) for k in state)
    torch.save(state, tmp_path / "allcnn.pt")

    ours = import_original(tmp_path / "allcnn.pt", allcnn_description(dropout=our_dropout)).eval()
    x = torch.rand(5, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits = ours(x)
    expected = reference_logits(reference, x)
    # The same weights in the same order; only the last pool sums in another order (the
    # reference's AvgPool2d(8), our AdaptiveAvgPool2d(1)), so the logits agree to float rounding.
    assert torch.allclose(logits, expected, rtol=0, atol=1e-6), (logits - expected).abs().max()
    assert torch.equal(logits.argmax(1), expected.argmax(1))


def test_reference_allcnn_saved_inside_data_parallel(tmp_path):
    torch.manual_seed(0)
    reference = trained_looking(ReferenceAllCNN(num_classes=4, filters_percentage=0.125))
    state = nn.DataParallel(reference).state_dict()
    assert next(iter(state)).startswith("module.")
    torch.save(state, tmp_path / "allcnn.pt")
    ours = import_original(tmp_path / "allcnn.pt", allcnn_description()).eval()
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(ours(x), reference_logits(reference, x), rtol=0, atol=1e-6)


@pytest.mark.parametrize("wrap", [False, True])
def test_whole_pickled_model_is_refused_with_the_fix(tmp_path, wrap):
    reference = ReferenceAllCNN(num_classes=4, filters_percentage=0.125)
    torch.save(nn.DataParallel(reference) if wrap else reference, tmp_path / "model.pth")
    with pytest.raises(UserError) as caught:
        import_original(tmp_path / "model.pth", allcnn_description())
    message = str(caught.value)
    assert message == f"Original checkpoint {tmp_path / 'model.pth'} {PICKLED}"
    assert message.count(". ") == 0  # one sentence


def test_reference_allcnn_needs_its_8x8_pool(tmp_path):
    reference = ReferenceAllCNN(num_classes=4, filters_percentage=0.125)
    torch.save(reference.state_dict(), tmp_path / "allcnn.pt")
    with pytest.raises(UserError, match="only for images of 29 to 32 px, not 28 px"):
        import_original(tmp_path / "allcnn.pt", allcnn_description(image_size=28))
    with pytest.raises(UserError, match="set datasets.<name>.model.architecture to allcnn"):
        import_original(
            tmp_path / "allcnn.pt", allcnn_description(architecture="resnet18", width_factor=1.0)
        )


def test_reference_allcnn_at_another_width_names_it(tmp_path):
    reference = ReferenceAllCNN(num_classes=4, filters_percentage=0.25)
    torch.save(reference.state_dict(), tmp_path / "allcnn.pt")
    with pytest.raises(UserError, match="set datasets.<name>.model.width_factor to 0.25"):
        import_original(tmp_path / "allcnn.pt", allcnn_description())


def test_reference_custom_resnet_state_dict_gives_the_same_logits(tmp_path):
    torch.manual_seed(0)
    reference = trained_looking(ReferenceCustomResNet(num_classes=3))
    torch.save(reference.state_dict(), tmp_path / "resnet.pt")
    description = {
        "architecture": "resnet50",
        "num_classes": 3,
        "in_channels": 3,
        "image_size": 72,
        "mean": MEAN,
        "std": STD,
        "dropout": 0.5,
    }
    ours = import_original(tmp_path / "resnet.pt", description).eval()
    x = torch.rand(2, 3, 72, 72)
    with torch.no_grad():
        assert torch.allclose(ours(x), reference_logits(reference, x), rtol=0, atol=1e-4)
