import pytest
import torch

from unlearning.atomic import atomic_path, write_json
from unlearning.data.imageset import ImageSet
from unlearning.errors import UserError
from unlearning.models import build_model
from unlearning.runtime import select_device
from unlearning.training import TrainConfig, lr_factor, train_classifier


def _toy(n=96, seed=0):
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 3
    images = torch.rand(n, 1, 8, 8, generator=gen) * 60
    for cls in range(3):
        images[labels == cls, :, cls * 2 : cls * 2 + 3, :] += 180
    return ImageSet(images.clamp(0, 255).to(torch.uint8), labels)


def _train(seed):
    torch.manual_seed(seed)
    model = build_model("allcnn", 3, 1, 8, [0.3], [0.3], width_factor=0.1)
    loss = train_classifier(
        model,
        _toy(),
        TrainConfig(epochs=3, batch_size=16, lr=0.05),
        device=torch.device("cpu"),
        generator=torch.Generator().manual_seed(seed),
        progress=False,
    )
    return model, loss


def test_training_learns_and_is_deterministic():
    model_a, loss_a = _train(0)
    model_b, loss_b = _train(0)
    assert loss_a < 0.9  # chance level is ln 3 = 1.10
    assert loss_a == loss_b
    for p, q in zip(model_a.parameters(), model_b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_schedules():
    assert lr_factor("cosine", 0, 100) == 1.0
    assert lr_factor("cosine", 100, 100) == pytest.approx(0.0)
    assert lr_factor("step", 80, 100) == pytest.approx(0.01)
    assert lr_factor("constant", 50, 100) == 1.0


def test_bad_train_config_is_a_user_error():
    with pytest.raises(UserError, match="schedule"):
        TrainConfig(schedule="linear")
    with pytest.raises(UserError, match="epochs"):
        TrainConfig(epochs=0)


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    write_json(target, {"a": 1})
    assert target.read_text().strip().startswith("{")


def test_cuda_without_gpu_is_a_user_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert select_device("auto").type == "cpu"
    with pytest.raises(UserError, match="no CUDA GPU"):
        select_device("cuda")
