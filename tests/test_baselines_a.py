"""grad_ascent, random_label, salun and l1_sparse forget class 0 of a small learnable problem.

The problem: three classes of 1x8x8 images, each a fixed random pattern plus noise, learned to full
accuracy by a narrow AllCNN in a few seconds. Hyperparameters are test-sized (larger steps, fewer
epochs) so the file runs in seconds on two CPU cores.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from toy_problem import FORGET_CLASS, Problem, accuracy, build_problem, make_task

from unlearning.errors import UserError
from unlearning.methods import available_methods, get_method
from unlearning.methods.l1_sparse import l1_coefficient
from unlearning.methods.random_label import random_wrong_labels
from unlearning.methods.salun import saliency_mask

CLASSES = 3

SETTINGS: dict[str, dict] = {
    "grad_ascent": {"lr": 0.02, "epochs": 1, "batch_size": 32},
    "random_label": {"lr": 0.05, "epochs": 2, "batch_size": 32},
    "salun": {"lr": 0.05, "epochs": 3, "batch_size": 32, "mask_fraction": 0.5},
    "l1_sparse": {"lr": 0.05, "epochs": 3, "batch_size": 32, "alpha": 5e-3},
}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def problem() -> Problem:
    return build_problem(CLASSES)


def unlearn(problem: Problem, name: str, seed: int = 1, **overrides) -> nn.Module:
    method = get_method(name)
    return method.run(make_task(problem, seed), method.parse_params(SETTINGS[name] | overrides))


@pytest.fixture(scope="module")
def unlearned(problem: Problem) -> dict[str, nn.Module]:
    """One run per method, shared by the tests that only inspect the result."""
    return {name: unlearn(problem, name) for name in SETTINGS}


def test_the_original_has_learned_the_problem(problem: Problem) -> None:
    assert accuracy(problem.original, problem.test_forget) >= 0.9
    assert accuracy(problem.original, problem.test_remain) >= 0.9


def test_methods_are_registered_with_valid_defaults() -> None:
    assert set(SETTINGS) <= set(available_methods())
    for name in SETTINGS:
        get_method(name).params_type()


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_method_forgets_and_keeps_the_rest(
    problem: Problem, unlearned: dict[str, nn.Module], name: str
) -> None:
    model = unlearned[name]
    original = problem.original
    assert accuracy(model, problem.test_forget) < accuracy(original, problem.test_forget)
    assert accuracy(model, problem.test_forget) <= 0.5
    assert accuracy(model, problem.test_remain) > 0.6  # chance is 1/3


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_method_leaves_the_original_alone(problem: Problem, name: str) -> None:
    before = {k: v.clone() for k, v in problem.original.state_dict().items()}
    unlearn(problem, name, epochs=1)
    after = problem.original.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not problem.original.training
    assert all(p.grad is None and not p.requires_grad for p in problem.original.parameters())


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_same_seed_gives_identical_weights(
    problem: Problem, unlearned: dict[str, nn.Module], name: str
) -> None:
    again = unlearn(problem, name, seed=1).state_dict()
    first = unlearned[name].state_dict()
    assert all(torch.equal(first[k], again[k]) for k in first)
    other = unlearn(problem, name, seed=2).state_dict()
    assert not all(torch.equal(first[k], other[k]) for k in first)


# --- random_label -----------------------------------------------------------------------------


def test_random_labels_are_never_the_true_label_and_cover_the_others() -> None:
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(5).repeat(2000)
    drawn = random_wrong_labels(labels, 5, generator)
    assert drawn.dtype == labels.dtype and drawn.shape == labels.shape
    assert not (drawn == labels).any()
    assert drawn.min() >= 0 and drawn.max() <= 4
    for c in range(5):  # uniform over the 4 wrong classes: 2000 draws, ~500 each
        counts = torch.bincount(drawn[labels == c], minlength=5)
        assert counts[c] == 0
        assert ((counts[torch.arange(5) != c] - 500).abs() < 100).all()


def test_random_labels_need_two_classes() -> None:
    with pytest.raises(UserError, match="2 classes"):
        random_wrong_labels(torch.zeros(3, dtype=torch.long), 1, torch.Generator())


def test_random_label_trains_on_wrong_labels_only(problem: Problem, monkeypatch) -> None:
    """Each step's loss sees the forget batch with wrong labels, then a remain batch with the
    true ones (the forget class is 0, so a wrong label is any other class)."""
    targets: list[torch.Tensor] = []
    real = F.cross_entropy

    def spy(logits, target, *args, **kwargs):
        targets.append(target.clone())
        return real(logits, target, *args, **kwargs)

    monkeypatch.setattr("unlearning.methods.random_label.F.cross_entropy", spy)
    unlearn(problem, "random_label", epochs=1, batch_size=24)
    n = len(problem.train_forget)
    forget_sizes = [min(24, n - start) for start in range(0, n, 24)]
    assert [len(t) for t in targets] == [k + 24 for k in forget_sizes]
    for k, target in zip(forget_sizes, targets, strict=True):
        assert (target[:k] != FORGET_CLASS).all()
        assert (target[k:] != FORGET_CLASS).all()  # remain labels are true labels, never 0
    wrong = torch.cat([t[:k] for k, t in zip(forget_sizes, targets, strict=True)])
    assert set(wrong.tolist()) == {1, 2}  # both wrong classes are drawn


# --- salun ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fraction", [0.1, 0.5, 1.0])
def test_saliency_mask_keeps_the_configured_fraction(problem: Problem, fraction: float) -> None:
    model = copy.deepcopy(problem.original)
    mask = saliency_mask(model, problem.train_forget, fraction, torch.device("cpu"), 32)
    names = [n for n, _ in model.named_parameters()]
    assert list(mask) == names
    total = sum(m.numel() for m in mask.values())
    kept = sum(int(m.sum()) for m in mask.values())
    assert abs(kept - fraction * total) <= 0.5
    assert all(m.dtype == torch.bool for m in mask.values())
    # the mode and flags of the model are left as they were, and no gradient is stored
    assert not model.training
    assert all(not p.requires_grad and p.grad is None for p in model.parameters())


def test_saliency_mask_picks_the_largest_forget_gradients(problem: Problem) -> None:
    model = copy.deepcopy(problem.original).requires_grad_(True).train()
    mask = saliency_mask(model, problem.train_forget, 0.3, torch.device("cpu"), 16)
    assert model.training  # restored
    model.eval()
    x, y = next(problem.train_forget.batches(len(problem.train_forget)))
    F.cross_entropy(model(x), y, reduction="sum").backward()
    grads = {n: p.grad.abs() for n, p in model.named_parameters()}
    inside = torch.cat([grads[n][mask[n]] for n in grads])
    outside = torch.cat([grads[n][~mask[n]] for n in grads])
    assert inside.min() >= outside.max() * (1 - 1e-4)  # float sums differ by batch split
    assert all(p.requires_grad for p in model.parameters())


def test_salun_changes_only_masked_weights(problem: Problem, unlearned) -> None:
    params = get_method("salun").parse_params(SETTINGS["salun"])
    assert params.weight_decay > 0 and params.momentum > 0  # the hard case for masking
    mask = saliency_mask(
        copy.deepcopy(problem.original), problem.train_forget, 0.5, torch.device("cpu"), 32
    )
    before = dict(problem.original.named_parameters())
    after = dict(unlearned["salun"].named_parameters())
    moved = 0
    for name, m in mask.items():
        assert torch.equal(after[name][~m], before[name][~m]), name
        moved += int((after[name][m] != before[name][m]).sum())
    assert moved > 0.9 * sum(int(m.sum()) for m in mask.values())


def test_salun_with_a_full_mask_is_random_label(problem: Problem) -> None:
    full = unlearn(problem, "salun", mask_fraction=1.0, epochs=1)
    plain = unlearn(problem, "random_label", epochs=1, lr=SETTINGS["salun"]["lr"])
    a, b = full.state_dict(), plain.state_dict()
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-6) for k in a)


# --- l1_sparse --------------------------------------------------------------------------------


def test_l1_coefficient_decays_linearly_to_zero() -> None:
    total = 40
    alphas = [l1_coefficient(5e-4, t, total) for t in range(total + 1)]
    assert alphas[0] == 5e-4
    assert alphas[-1] == 0.0
    steps = np.diff(alphas)
    assert np.allclose(steps, -5e-4 / total)  # linear, decreasing
    assert l1_coefficient(5e-4, total + 3, total) == 0.0


def test_l1_penalty_shrinks_the_weights(problem: Problem) -> None:
    def l1(model: nn.Module) -> float:
        return sum(float(p.detach().abs().sum()) for p in model.parameters())

    plain = unlearn(problem, "l1_sparse", alpha=0.0)
    sparse = unlearn(problem, "l1_sparse", alpha=0.05)
    assert l1(sparse) < 0.9 * l1(plain)


# --- parameter checks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key", "value"),
    [
        ("grad_ascent", "lr", 0.0),
        ("grad_ascent", "epochs", 0),
        ("random_label", "momentum", 1.0),
        ("random_label", "batch_size", 0),
        ("salun", "mask_fraction", 0.0),
        ("salun", "mask_fraction", 1.5),
        ("salun", "weight_decay", -1e-4),
        ("l1_sparse", "alpha", -1e-4),
        ("l1_sparse", "alpha", "lots"),
    ],
)
def test_bad_params_name_the_config_key(name: str, key: str, value: object) -> None:
    with pytest.raises(UserError, match=rf"{name}\.params\.{key}\b"):
        get_method(name).parse_params({key: value})


def test_numeric_strings_are_accepted() -> None:
    params = get_method("l1_sparse").parse_params({"alpha": "5e-4", "lr": "1e-2"})
    assert params.alpha == 5e-4 and params.lr == 0.01
