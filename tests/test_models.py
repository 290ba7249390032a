import pytest
import torch

from unlearning.errors import UserError
from unlearning.models import build_model, load_checkpoint, save_checkpoint


@pytest.mark.parametrize(("channels", "size"), [(1, 8), (1, 16), (3, 32), (3, 28)])
def test_allcnn_any_channels_and_size(channels, size):
    model = build_model("allcnn", 7, channels, size, [0.5] * channels, [0.25] * channels, 0.25)
    out = model(torch.rand(2, channels, size, size))
    assert out.shape == (2, 7)
    assert model.embed(torch.rand(2, channels, size, size)).shape == (2, 48)


def test_allcnn_widths_follow_the_width_factor():
    model = build_model("allcnn", 10, 3, 32, [0.5] * 3, [0.25] * 3, width_factor=1.0)
    convs = [m for m in model.features.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [96, 96, 192, 192, 192, 192, 192, 192]
    assert sum(c.stride == (2, 2) for c in convs) == 2
    assert convs[-1].kernel_size == (1, 1)


def test_resnet18_small_inputs():
    model = build_model("resnet18", 4, 1, 16, [0.5], [0.25])
    assert model(torch.rand(2, 1, 16, 16)).shape == (2, 4)


def _description(**extra):
    return {
        "architecture": "allcnn",
        "num_classes": 3,
        "in_channels": 1,
        "image_size": 8,
        "mean": [0.5],
        "std": [0.25],
        "width_factor": 0.1,
        **extra,
    }


def test_checkpoint_round_trip(tmp_path):
    model = build_model("allcnn", 3, 1, 8, [0.5], [0.25], 0.1)
    save_checkpoint(tmp_path / "model.pt", model, _description())
    loaded, description = load_checkpoint(tmp_path / "model.pt")
    x = torch.rand(4, 1, 8, 8)
    model.eval()
    loaded.eval()
    assert torch.equal(model(x), loaded(x))
    assert description["num_classes"] == 3
    assert (tmp_path / "model.json").exists()
    assert not list(tmp_path.glob("*.tmp"))


def test_missing_checkpoint(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_checkpoint(tmp_path / "model.pt")


def test_corrupted_checkpoint(tmp_path):
    model = build_model("allcnn", 3, 1, 8, [0.5], [0.25], 0.1)
    save_checkpoint(tmp_path / "model.pt", model, _description())
    data = (tmp_path / "model.pt").read_bytes()
    (tmp_path / "model.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="rerun"):
        load_checkpoint(tmp_path / "model.pt")


def test_checkpoint_holding_code_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"x": Payload()}, tmp_path / "model.pt")
    (tmp_path / "model.json").write_text('{"architecture": "allcnn"}')
    with pytest.raises(UserError, match="weights-only"):
        load_checkpoint(tmp_path / "model.pt")


def test_checkpoint_not_matching_its_description(tmp_path):
    model = build_model("allcnn", 3, 1, 8, [0.5], [0.25], 0.1)
    save_checkpoint(tmp_path / "model.pt", model, _description())
    (tmp_path / "model.json").write_text(
        '{"architecture": "allcnn", "num_classes": 5, "in_channels": 1, "image_size": 8, '
        '"mean": [0.5], "std": [0.25], "width_factor": 0.1}'
    )
    with pytest.raises(UserError, match="does not match"):
        load_checkpoint(tmp_path / "model.pt")
