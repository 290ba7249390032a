"""Unit tests of psg: the inner problem (the boundary search), its parameters and the outer
loop. Boundary Shrink, its gamma = lambda = phi = 0 case, is tested in test_boundary_shrink.py."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from unlearning.data.imageset import ImageSet
from unlearning.errors import UserError
from unlearning.methods import UnlearningTask, get_method, psg
from unlearning.methods.psg import (
    NOISE_LAWS,
    boundary_search,
    boundary_targets,
    draw_noise,
    keep_top_k,
)
from unlearning.models.architectures import build_model

EPS = 0.1

pytestmark = pytest.mark.usefixtures("one_thread")


def frozen(model: nn.Module) -> nn.Module:
    model.eval()
    model.requires_grad_(False)
    return model


def tiny_cnn(num_classes: int = 3, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return build_model("allcnn", num_classes, 1, 8, [0.5], [0.25], width_factor=0.05).eval()


def mean_classifier() -> nn.Module:
    """Two classes split at mean pixel 0.5: class 1 iff mean(x) > 0.5 (a known boundary)."""
    linear = nn.Linear(16, 2)
    with torch.no_grad():
        linear.weight.copy_(torch.stack([-torch.ones(16), torch.ones(16)]) / 16)
        linear.bias.copy_(torch.tensor([0.5, -0.5]))
    return frozen(nn.Sequential(nn.Flatten(), linear))


def on_grid_batch(n: int, shape: tuple[int, ...], low: int, high: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(low, high + 1, (n, *shape), generator=g).float() / 255


def assert_valid(x_adv: torch.Tensor, x: torch.Tensor, epsilon: float = EPS) -> None:
    assert (x_adv - x).abs().max().item() <= epsilon + 1e-6
    assert x_adv.min().item() >= 0.0 and x_adv.max().item() <= 1.0
    assert torch.allclose(x_adv * 255, torch.round(x_adv * 255), atol=1e-4)


# --- inner problem ----------------------------------------------------------------------------


@pytest.mark.parametrize("on_grid", [True, False])
def test_search_stays_in_ball_on_grid_and_in_unit_range(on_grid: bool) -> None:
    model = frozen(tiny_cnn())
    if on_grid:  # includes pixels at 0 and 1, where the [0, 1] clamp binds
        x = on_grid_batch(16, (1, 8, 8), 0, 255, seed=1)
    else:
        x = torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    y = torch.arange(16) % 3
    x_adv = boundary_search(
        model,
        x,
        y,
        epsilon=EPS,
        steps=4,
        step_size=0.06,
        lam=0.1,
        gamma=1e-3,
        generator=torch.Generator().manual_seed(0),
    )
    assert_valid(x_adv, x)
    assert (x_adv != x).any()


def test_radius_on_the_grid_is_used_in_full() -> None:
    """epsilon = 10/255 is itself a grid step, so float error must not shrink the ball."""
    x = on_grid_batch(8, (1, 4, 4), 40, 200, seed=2)
    y = torch.zeros(8, dtype=torch.long)
    x_adv = boundary_search(mean_classifier(), x, y, epsilon=10 / 255, steps=3, step_size=0.02)
    assert torch.allclose(x_adv - x, torch.full_like(x, 10 / 255), atol=1e-6)


def test_search_crosses_a_nearby_boundary_only() -> None:
    near = torch.full((1, 1, 4, 4), 120 / 255)  # mean 0.47: class 0, 0.03 from the boundary
    far = torch.full((1, 1, 4, 4), 20 / 255)  # mean 0.08: class 0, far from it
    x, y = torch.cat([near, far]), torch.zeros(2, dtype=torch.long)
    model = mean_classifier()
    assert boundary_targets(model, x).tolist() == [0, 0]
    x_adv = boundary_search(model, x, y, epsilon=EPS, steps=1)
    assert boundary_targets(model, x_adv).tolist() == [1, 0]


def test_lambda_pulls_back_toward_x_when_steps_at_least_two() -> None:
    """Without lambda every pixel sits on the ball's edge; a large lambda brings it back to x.

    A sign error in the closeness term would push outward and leave the distance at epsilon.
    """
    model = mean_classifier()
    x = on_grid_batch(32, (1, 4, 4), 40, 200, seed=3)
    y = torch.zeros(32, dtype=torch.long)

    def distance(lam: float, steps: int) -> float:
        x_adv = boundary_search(model, x, y, epsilon=EPS, steps=steps, lam=lam)
        return (x_adv - x).abs().flatten(1).amax(dim=1).mean().item()

    assert distance(0.0, steps=2) == pytest.approx(25 / 255, abs=1e-6)
    assert distance(1e3, steps=2) < 0.5 * distance(0.0, steps=2)
    assert distance(1e3, steps=1) == distance(0.0, steps=1)  # no closeness term at the only step


def test_search_gives_no_parameter_gradients() -> None:
    """Only the input gradient is computed, even for a model whose weights require grad."""
    for model in (frozen(tiny_cnn()), tiny_cnn()):
        x, y = on_grid_batch(4, (1, 8, 8), 0, 255, seed=4), torch.tensor([0, 1, 2, 0])
        x_adv = boundary_search(
            model,
            x,
            y,
            epsilon=EPS,
            steps=2,
            lam=0.5,
            gamma=0.1,
            generator=torch.Generator().manual_seed(0),
        )
        boundary_targets(model, x_adv, "soft", 2)
        assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("law", NOISE_LAWS)
def test_every_noise_law_runs_and_is_centred(law: str) -> None:
    z = draw_noise(law, (20_000,), torch.Generator().manual_seed(0))
    assert torch.isfinite(z).all() and abs(z.median().item()) < 0.05
    if law == "uniform":
        assert z.min().item() >= -1.0 and z.max().item() <= 1.0
    model, x = frozen(tiny_cnn()), on_grid_batch(4, (1, 8, 8), 0, 255, seed=5)
    y = torch.tensor([0, 1, 2, 0])
    plain = boundary_search(model, x, y, epsilon=EPS, steps=2, step_size=0.05)
    noisy = boundary_search(
        model,
        x,
        y,
        epsilon=EPS,
        steps=2,
        step_size=0.05,
        gamma=10.0,
        noise=law,
        generator=torch.Generator().manual_seed(0),
    )
    assert_valid(noisy, x)
    assert not torch.equal(plain, noisy)  # noise this strong sets most signs


def test_search_repeats_with_the_same_seed() -> None:
    model, x = frozen(tiny_cnn()), on_grid_batch(8, (1, 8, 8), 0, 255, seed=6)
    y = torch.arange(8) % 3

    def search(seed: int) -> torch.Tensor:
        return boundary_search(
            model,
            x,
            y,
            epsilon=EPS,
            steps=3,
            step_size=0.04,
            gamma=1.0,
            generator=torch.Generator().manual_seed(seed),
        )

    assert torch.equal(search(7), search(7))
    assert not torch.equal(search(7), search(8))


def test_soft_targets_keep_top_k_and_sum_to_one() -> None:
    model, x = frozen(tiny_cnn(num_classes=5)), on_grid_batch(6, (1, 8, 8), 0, 255, seed=7)
    soft = boundary_targets(model, x, "soft", top_k=2)
    assert torch.allclose(soft.sum(dim=1), torch.ones(6), atol=1e-6)
    assert ((soft > 0).sum(dim=1) <= 2).all()
    full = boundary_targets(model, x, "soft", top_k=0)
    assert torch.allclose(full, model(x).softmax(dim=1))
    hard = boundary_targets(model, x, "hard")
    assert hard.dtype == torch.long and torch.equal(hard, full.argmax(dim=1))
    assert torch.equal(keep_top_k(full, 5), full)


# --- parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "key"),
    [
        ("epsilon", 0.0, "epsilon"),
        ("epsilon", 1.5, "epsilon"),
        ("steps", 0, "steps"),
        ("steps", 1.5, "steps"),
        ("step_size", 0.0, "step_size"),
        ("lambda_", -1.0, "lambda"),
        ("gamma", -1e-4, "gamma"),
        ("noise", "pink", "noise"),
        ("phi", -0.1, "phi"),
        ("targets", "medium", "targets"),
        ("top_k", -1, "top_k"),
        ("remain_distill", "yes", "remain_distill"),
        ("bn_mode", "frozen", "bn_mode"),
        ("lr", 0.0, "lr"),
        ("lr", "fast", "lr"),
        ("momentum", 1.0, "momentum"),
        ("weight_decay", -1.0, "weight_decay"),
        ("epochs", 0, "epochs"),
        ("batch_size", True, "batch_size"),
    ],
)
def test_bad_psg_params_name_their_key(field: str, value: object, key: str) -> None:
    with pytest.raises(UserError, match=rf"^psg: {key} must .* methods\.psg\.params\.{key} in"):
        psg.Params(**{field: value})


def test_config_keys_parse_into_params() -> None:
    """``lambda`` maps to ``lambda_``; YAML's ``1e-5`` (read as a string) becomes a float."""
    params = get_method("psg").parse_params({"lambda": 0.5, "lr": "1e-5", "steps": 3.0})
    assert params.lambda_ == 0.5 and params.lr == 1e-5 and params.steps == 3
    assert isinstance(params.steps, int)


@pytest.mark.parametrize(
    ("method", "raw", "key"),
    [
        ("finetune", {"batch_size": 0}, "batch_size"),
        ("neggrad", {"alpha": 1.5}, "alpha"),
    ],
)
def test_bad_params_of_other_sgd_methods_name_their_key_as_psg_does(
    method: str, raw: dict, key: str
) -> None:
    with pytest.raises(UserError, match=rf"^{method}: {key} .* methods\.{method}\.params\.{key} "):
        get_method(method).parse_params(raw)


# --- outer problem ----------------------------------------------------------------------------


def tiny_task(remain_size: int = 24, seed: int = 0) -> UnlearningTask:
    """A random 3-class 8x8 problem; the weights need not be trained to test the mechanics."""
    g = torch.Generator().manual_seed(100)
    images = torch.randint(0, 256, (36, 1, 8, 8), generator=g, dtype=torch.uint8)
    data = ImageSet(images, torch.arange(36) % 3)
    forget = data.subset(torch.arange(0, 36, 3))
    remain = data.subset([i for i in range(36) if i % 3][:remain_size])
    original = frozen(tiny_cnn())
    return UnlearningTask(
        model=copy.deepcopy(original).requires_grad_(True),
        original=original,
        forget=forget,
        remain=remain,
        validation=remain,
        num_classes=3,
        device=torch.device("cpu"),
        generator=torch.Generator().manual_seed(seed),
        progress=False,
    )


def weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_psg_run_is_repeatable_and_leaves_the_original_alone() -> None:
    params = psg.Params(
        gamma=0.1,
        steps=2,
        lambda_=0.1,
        phi=0.5,
        lr=0.05,
        epochs=2,
        batch_size=5,
        targets="soft",
        top_k=2,
        remain_distill=True,
    )
    runs = []
    for _ in range(2):
        task = tiny_task()
        before = weights(task.original)
        runs.append(weights(psg.run(task, params)))
        assert same_weights(before, weights(task.original))
        assert not task.original.training
        assert all(p.grad is None for p in task.original.parameters())
    assert same_weights(runs[0], runs[1])
    assert not same_weights(runs[0], weights(tiny_task().model))


def test_psg_draws_remain_batches_only_when_phi_is_positive() -> None:
    psg.run(tiny_task(remain_size=0), psg.Params(epochs=1, batch_size=8))  # empty D_r is fine
    with pytest.raises(UserError, match="remain set is empty"):
        psg.run(tiny_task(remain_size=0), psg.Params(epochs=1, batch_size=8, phi=0.5))


def test_progress_bar_shows_epoch_and_loss_on_stderr(capsys) -> None:
    task = tiny_task()
    task.progress = True
    psg.run(task, psg.Params(epochs=2, batch_size=8))
    err = capsys.readouterr().err
    assert "psg" in err and "epoch=2" in err and "loss=" in err
