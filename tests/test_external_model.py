import pytest
import torch
import torchvision

from unlearning.errors import UserError
from unlearning.models import build_model
from unlearning.models.external import import_original

DESCRIPTION = {
    "architecture": "allcnn",
    "num_classes": 3,
    "in_channels": 1,
    "image_size": 8,
    "mean": [0.5],
    "std": [0.25],
    "width_factor": 0.1,
}


def test_own_format_round_trip(tmp_path):
    model = build_model("allcnn", 3, 1, 8, [0.5], [0.25], 0.1).eval()
    torch.save(model.state_dict(), tmp_path / "m.pt")
    loaded = import_original(tmp_path / "m.pt", DESCRIPTION)
    x = torch.rand(2, 1, 8, 8)
    assert torch.equal(loaded.eval()(x), model(x))


def test_plain_torchvision_resnet(tmp_path):
    net = torchvision.models.resnet18(num_classes=4).eval()
    torch.save(net.state_dict(), tmp_path / "resnet.pt")
    description = {
        **DESCRIPTION,
        "architecture": "resnet18",
        "width_factor": 1.0,
        "num_classes": 4,
        "in_channels": 3,
        "image_size": 96,
        "mean": [0.0] * 3,
        "std": [1.0] * 3,
    }
    loaded = import_original(tmp_path / "resnet.pt", description).eval()
    x = torch.rand(2, 3, 96, 96)
    with torch.no_grad():
        assert torch.allclose(loaded(x), net(x), atol=1e-5)


def test_wrong_number_of_classes(tmp_path):
    model = build_model("allcnn", 5, 1, 8, [0.5], [0.25], 0.1)
    torch.save(model.state_dict(), tmp_path / "m.pt")
    with pytest.raises(UserError, match="predicts 5 classes but the dataset has 3"):
        import_original(tmp_path / "m.pt", DESCRIPTION)


def test_wrong_channels(tmp_path):
    model = build_model("allcnn", 3, 3, 8, [0.5] * 3, [0.25] * 3, 0.1)
    torch.save(model.state_dict(), tmp_path / "m.pt")
    with pytest.raises(UserError, match="3-channel images but the dataset has 1"):
        import_original(tmp_path / "m.pt", DESCRIPTION)


def test_wrong_architecture(tmp_path):
    model = build_model("allcnn", 3, 1, 8, [0.5], [0.25], 0.2)
    torch.save(model.state_dict(), tmp_path / "m.pt")
    with pytest.raises(UserError, match="does not fit architecture"):
        import_original(tmp_path / "m.pt", DESCRIPTION)


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        import_original(tmp_path / "none.pt", DESCRIPTION)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="weights-only"):
        import_original(tmp_path / "junk.pt", DESCRIPTION)
