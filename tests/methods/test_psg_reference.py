"""psg's ``reference`` formulation against a literal transcription of the reference code's
equations (written here, independently of ``psg_reference.py``), and against ``pixel``."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from unlearning.data.imageset import ImageSet
from unlearning.errors import UserError
from unlearning.methods import UnlearningTask, get_method, psg, psg_reference
from unlearning.models.architectures import Classifier, Normalize, build_model

CIFAR_ATTACK = ((0.4914, 0.4822, 0.2265), (0.2023, 0.1994, 0.2010))


pytestmark = pytest.mark.usefixtures("one_thread")


def frozen_model(channels: int, mean, std, seed: int = 0, classes: int = 4) -> nn.Module:
    torch.manual_seed(seed)
    model = build_model("allcnn", classes, channels, 8, mean, std, width_factor=0.05)
    model.eval()
    model.requires_grad_(False)
    return model


def pixel_batch(n: int, channels: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, channels, 8, 8), generator=g).float() / 255


# --- literal transcription of the reference (adv_generator.py: AttackBase + FGSM.perturb) ----


class LiteralAttack:
    """The reference's attack, step by step, on a network that takes normalised inputs."""

    def __init__(self, mean, std):
        self.mean, self.std = mean, std

    def normalize(self, x):
        y = x.clone()
        if y.size(1) == 3:
            for c in range(3):
                y[:, c, :, :] = (y[:, c, :, :] - self.mean[c]) / self.std[c]
        else:
            y[:, 0, :, :] = (y[:, 0, :, :] - self.mean[0]) / self.std[0]
        return y

    def inverse_normalize(self, x):
        y = x.clone()
        if y.size(1) == 3:
            for c in range(3):
                y[:, c, :, :] = y[:, c, :, :] * self.std[c] + self.mean[c]
        else:
            y[:, 0, :, :] = y[:, 0, :, :] * self.std[0] + self.mean[0]
        return y

    def clamper(self, x_adv, x_nat, bound):
        clamp_delta = torch.clamp(x_adv - x_nat, -bound, bound)
        x_adv = x_nat + clamp_delta
        x_adv = torch.clamp(x_adv, 0.0, 1.0)
        return self.normalize(torch.round(x_adv * 255) / 255)

    def perturb(self, net, x, y, bound, lamda, gamma, z, scaling=None, it=None, total=None):
        x_nat = self.inverse_normalize(x.detach().clone())
        x_adv = x.detach().clone().requires_grad_(True)
        loss = nn.CrossEntropyLoss()(net(x_adv), y)
        loss.backward()
        if lamda > 0:
            if scaling == "inverse":
                lamda = lamda / it
            elif scaling == "exponential_decay":
                lamda = lamda * math.exp(-0.01 * it)
            elif scaling == "linear_decay":
                lamda = lamda * (1 - it / total)
            grad_sign = (x_adv.grad.data + lamda * (x_adv.data - x_nat.data) + gamma * z).sign()
        else:
            grad_sign = (x_adv.grad.data + gamma * z).sign()
        x_adv = self.inverse_normalize(x_adv) + grad_sign * bound
        return self.clamper(x_adv, x_nat, bound).detach()


def literal_point_and_label(model, x, y, *, eps, lam, gamma, z, attack, **schedule):
    """The reference pipeline: the data loader normalises with the dataset's constants, the
    attack runs on that, and f0 labels the attack's output as if it were data-normalised."""
    net = nn.Sequential(model.features, model.head)
    x_data = (x - model.normalize.mean) / model.normalize.std
    x_adv = LiteralAttack(*attack).perturb(net, x_data, y, eps, lam, gamma, z, **schedule)
    with torch.no_grad():
        return x_adv, net(x_adv).argmax(dim=1)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize(
    ("lam", "gamma", "schedule"),
    [(0.0, 0.0, None), (0.0, 0.1, None), (1e-3, 1e-2, None), (0.5, 1.0, "inverse")],
)
def test_reference_matches_literal_transcription(channels, lam, gamma, schedule) -> None:
    mean = [0.5, 0.45, 0.4][:channels]
    std = [0.25, 0.2, 0.3][:channels]
    model = frozen_model(channels, mean, std)
    x = pixel_batch(12, channels, seed=3)
    y = torch.arange(12) % 4
    z = torch.randn(x.shape, generator=torch.Generator().manual_seed(7))
    it, total = 3, 10
    lam_now = psg_reference.scheduled_lambda(lam, schedule or "constant", it, total)
    ours = psg_reference.boundary_points(
        model, x, y, epsilon=0.1, lam=lam, lam_now=lam_now, gamma=gamma, noise=z,
        attack_mean=CIFAR_ATTACK[0], attack_std=CIFAR_ATTACK[1],
    )  # fmt: skip
    labels = psg_reference.boundary_targets(model, ours)
    want, want_labels = literal_point_and_label(
        model, x, y, eps=0.1, lam=lam, gamma=gamma, z=z, attack=CIFAR_ATTACK,
        scaling=schedule, it=it, total=total,
    )  # fmt: skip
    assert torch.allclose(ours, want, atol=1e-5)
    assert torch.equal(labels, want_labels)


def test_schedules_follow_the_reference_scalings() -> None:
    assert psg_reference.scheduled_lambda(0.2, "constant", 5, 10) == 0.2
    assert psg_reference.scheduled_lambda(0.2, "inverse", 4, 10) == pytest.approx(0.05)
    assert psg_reference.scheduled_lambda(0.2, "exponential_decay", 10, 10) == pytest.approx(
        0.2 * math.exp(-0.1)
    )
    assert psg_reference.scheduled_lambda(0.2, "linear_decay", 10, 10) == 0.0
    assert psg_reference.scheduled_lambda(0.2, "linear_decay", 5, 10) == pytest.approx(0.1)


def test_reference_gradient_is_batch_mean_on_normalised_input() -> None:
    """Scaling check: the reference gradient equals the per-sample pixel gradient x sigma / B,
    so at gamma large against it the noise sets the signs, unlike in the pixel formulation."""
    model = frozen_model(1, [0.5], [0.25])
    x = pixel_batch(16, 1, seed=4)
    y = torch.arange(16) % 4
    pixel_grad = psg.input_gradient(model, x, y)
    x_n = model.normalize(x).requires_grad_(True)
    loss = nn.functional.cross_entropy(model.head(model.features(x_n)), y)
    (ref_grad,) = torch.autograd.grad(loss, x_n)
    assert torch.allclose(ref_grad, pixel_grad * 0.25 / 16, atol=1e-7, rtol=1e-4)


def test_pixel_and_reference_agree_with_identity_normalisation_and_no_noise() -> None:
    """gamma = lambda = 0, data and attack normalisation both identity, epsilon on the 1/255
    grid: both formulations take the same single sign step and give the same labels."""
    model = frozen_model(3, [0.0] * 3, [1.0] * 3, seed=2)
    x = pixel_batch(16, 3, seed=5)
    y = torch.arange(16) % 4
    eps = 25 / 255
    pixel_point = psg.boundary_search(model, x, y, epsilon=eps, steps=1)
    ref_point = psg_reference.boundary_points(
        model, x, y, epsilon=eps, lam=0.0, lam_now=0.0, gamma=0.0, noise=None,
        attack_mean=(0.0, 0.0, 0.0), attack_std=(1.0, 1.0, 1.0),
    )  # fmt: skip
    assert torch.allclose(pixel_point, ref_point, atol=1e-6)
    assert torch.equal(
        psg.boundary_targets(model, pixel_point), psg_reference.boundary_targets(model, ref_point)
    )


def test_lambda_changes_reference_labels_at_one_step() -> None:
    """At K = 1 lambda is inert in the pixel formulation but acts in the reference one."""
    torch.manual_seed(1)  # a linear classifier whose labels vary across the batch
    linear = nn.Linear(3 * 8 * 8, 4)
    model = Classifier(Normalize([0.5] * 3, [0.25] * 3), nn.Flatten(), linear).eval()
    model.requires_grad_(False)
    x = pixel_batch(64, 3, seed=6)
    y = torch.arange(64) % 4
    labels = {}
    for lam in (0.0, 1e-3, 1.0):
        point = psg_reference.boundary_points(
            model, x, y, epsilon=0.1, lam=lam, lam_now=lam, gamma=0.0, noise=None
        )
        labels[lam] = psg_reference.boundary_targets(model, point)
    assert not torch.equal(labels[0.0], labels[1.0])
    pixel = [psg.boundary_search(model, x, y, epsilon=0.1, steps=1, lam=lam) for lam in (0.0, 1.0)]
    assert torch.equal(pixel[0], pixel[1])


def test_reference_soft_targets_are_raw_logits() -> None:
    model = frozen_model(1, [0.5], [0.25])
    x = pixel_batch(5, 1, seed=8)
    point = psg_reference.boundary_points(
        model, x, torch.zeros(5, dtype=torch.long), epsilon=0.1, lam=0, lam_now=0, gamma=0,
        noise=None,
    )  # fmt: skip
    logits = model.head(model.features(point))
    assert torch.allclose(psg_reference.boundary_targets(model, point, "soft"), logits)
    top2 = psg_reference.boundary_targets(model, point, "soft", top_k=2)
    assert int((top2 != 0).sum(dim=1).max()) == 2
    assert torch.allclose(top2.sum(dim=1), torch.ones(5))


def _task(model: nn.Module, seed: int = 0) -> UnlearningTask:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (40, 1, 8, 8), generator=g, dtype=torch.uint8)
    labels = torch.arange(40) % 4
    data = ImageSet(images, labels)
    forget = data.subset(list(range(10)))
    remain = data.subset(list(range(10, 40)))
    return UnlearningTask(
        model=copy.deepcopy(model),
        original=model,
        forget=forget,
        remain=remain,
        validation=remain,
        num_classes=4,
        device=torch.device("cpu"),
        generator=torch.Generator().manual_seed(seed),
        progress=False,
    )


def test_reference_run_is_deterministic_and_moves_the_model() -> None:
    model = frozen_model(1, [0.5], [0.25])
    method = get_method("psg")
    params = {
        "formulation": "reference", "gamma": 0.1, "lambda": 1e-3, "lr": 1e-2, "epochs": 2,
        "batch_size": 4, "augment": "flip", "phi": 0.5, "remain_distill": True,
        "targets": "soft", "top_k": 2, "lambda_schedule": "linear_decay",
    }  # fmt: skip
    first = method.run(_task(model), method.parse_params(params))
    second = method.run(_task(model), method.parse_params(params))
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    moved = any(
        not torch.equal(a, b)
        for a, b in zip(first.state_dict().values(), model.state_dict().values(), strict=True)
    )
    assert moved


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"formulation": "reference", "steps": 2}, "steps"),
        ({"formulation": "reference", "step_size": 0.05}, "step_size"),
        ({"attack_mean": [0.5]}, "attack_mean"),
        ({"formulation": "exact"}, "formulation"),
        ({"lambda_schedule": "cosine"}, "lambda_schedule"),
        ({"formulation": "reference", "attack_std": [0.2, 0.0, 0.2]}, "attack_std"),
        ({"augment": "rotate"}, "augment"),
    ],
)
def test_bad_reference_settings_are_refused(params, key) -> None:
    with pytest.raises(UserError, match=key):
        get_method("psg").parse_params(params)


def test_computation_drops_values_without_effect() -> None:
    parse = get_method("psg").parse_params
    assert parse({"lambda": 0.1}).computation() == parse({"lambda": 0.0}).computation()
    assert parse({"lambda": 0.1, "steps": 2}).computation() != parse({"steps": 2}).computation()
    ref = {"formulation": "reference"}
    assert parse({**ref, "lambda": 0.1}).computation() != parse(ref).computation()
    assert parse({"top_k": 3}).computation() == parse({}).computation()
    assert parse({"gamma": 0, "noise": "cauchy"}).computation() == parse({"gamma": 0}).computation()
