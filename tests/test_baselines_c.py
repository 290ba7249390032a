"""Boundary Expanding, SSD and Bad Teaching on a small learnable problem, plus their pieces.

The problem: three classes of 1x8x8 images, each a fixed random template plus noise, learned by a
narrow AllCNN in a few seconds. Class 0 is forgotten. Hyperparameters are test-sized.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from toy_problem import Problem, accuracy, build_problem, make_task

from unlearning.errors import UserError
from unlearning.methods import (
    available_methods,
    bad_teacher,
    boundary_expand,
    get_method,
    ssd,
)
from unlearning.models.architectures import Classifier

CLASSES = 3

# Test-sized settings. boundary_expand uses bn_mode eval: its batches hold the forget class only,
# and on a model this small train-mode batch-norm statistics would drift toward that class.
SETTINGS: dict[str, dict] = {
    "boundary_expand": {"lr": 2e-3, "epochs": 2, "batch_size": 32, "bn_mode": "eval"},
    "ssd": {"alpha": 1.0, "lambda": 1.0, "batch_size": 32},
    "bad_teacher": {"lr": 1e-3, "epochs": 3, "batch_size": 32, "remain_fraction": 0.5},
}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def problem() -> Problem:
    return build_problem(CLASSES)


def run_method(problem: Problem, name: str, seed: int = 1) -> nn.Module:
    method = get_method(name)
    return method.run(make_task(problem, seed), method.parse_params(SETTINGS[name]))


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# --- the three methods on the problem ----------------------------------------------------------


def test_the_original_has_learned_the_problem(problem: Problem) -> None:
    assert accuracy(problem.original, problem.test_forget) >= 0.9
    assert accuracy(problem.original, problem.test_remain) >= 0.9


def test_methods_are_registered_with_valid_defaults() -> None:
    assert set(SETTINGS) <= set(available_methods())
    for name in SETTINGS:
        get_method(name).params_type()


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_method_forgets_keeps_the_rest_and_repeats(problem: Problem, name: str) -> None:
    original = problem.original
    before = state(original)
    model = run_method(problem, name)

    assert accuracy(model, problem.test_forget) < accuracy(original, problem.test_forget)
    assert accuracy(model, problem.test_remain) > 0.5  # chance is 1/3
    after = original.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not original.training
    assert all(p.grad is None and not p.requires_grad for p in original.parameters())

    again = state(run_method(problem, name))
    first = model.state_dict()
    assert first.keys() == again.keys()
    assert all(torch.equal(first[k], again[k]) for k in first)


# --- Boundary Expanding -------------------------------------------------------------------------


def test_boundary_expand_returns_a_classifier_with_the_original_outputs(problem: Problem) -> None:
    model = run_method(problem, "boundary_expand")
    assert isinstance(model, Classifier)
    assert isinstance(model.head, nn.Linear)
    assert model.head.out_features == CLASSES
    assert model.head.in_features == problem.original.head.in_features
    assert model.state_dict().keys() == problem.original.state_dict().keys()
    # The whole network trained, not only the head.
    changed = [
        k
        for k, v in model.state_dict().items()
        if v.is_floating_point() and not torch.equal(v, problem.original.state_dict()[k])
    ]
    assert "head.weight" in changed and any(k.startswith("features.") for k in changed)


def test_widen_copies_the_rows_and_adds_a_seeded_shadow_row() -> None:
    torch.manual_seed(0)
    head = nn.Linear(5, 3)
    wide = boundary_expand.widen(head, torch.Generator().manual_seed(7))
    assert (wide.in_features, wide.out_features) == (5, 4)
    assert torch.equal(wide.weight[:3], head.weight) and torch.equal(wide.bias[:3], head.bias)
    assert wide.bias[3] == 0 and wide.weight[3].abs().sum() > 0
    same = boundary_expand.widen(head, torch.Generator().manual_seed(7))
    other = boundary_expand.widen(head, torch.Generator().manual_seed(8))
    assert torch.equal(same.weight, wide.weight)
    assert not torch.equal(other.weight[3], wide.weight[3])
    narrow = boundary_expand.prune(wide, 3)
    assert narrow.out_features == 3
    assert torch.equal(narrow.weight, head.weight) and torch.equal(narrow.bias, head.bias)


def test_boundary_expand_trains_the_forget_set_into_the_shadow_class(problem: Problem) -> None:
    """Checked through the widened model just before the shadow unit is removed: the forget
    samples go to the shadow unit. (A smaller lr for more steps than in SETTINGS: with 64 forget
    samples, lr 2e-3 and momentum overshoot onto another class before the shadow unit wins.)"""
    task = make_task(problem)
    params = get_method("boundary_expand").parse_params(
        {"lr": 1e-3, "epochs": 20, "batch_size": 32, "bn_mode": "eval"}
    )
    seen: dict[str, torch.Tensor] = {}

    original_prune = boundary_expand.prune

    def spy(wide: nn.Linear, n: int) -> nn.Linear:
        task.model.eval()
        with torch.no_grad():
            x, _ = next(problem.test_forget.batches(len(problem.test_forget)))
            seen["pred"] = task.model(x).argmax(dim=1)
        return original_prune(wide, n)

    boundary_expand.prune = spy
    try:
        boundary_expand.run(task, params)
    finally:
        boundary_expand.prune = original_prune
    assert (seen["pred"] == CLASSES).float().mean() > 0.9


# --- SSD ----------------------------------------------------------------------------------------


def test_dampen_selects_and_scales_by_hand() -> None:
    weights = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    imp_f = torch.tensor([10.0, 1.0, 4.0, 0.0, 9.0])
    imp_d = torch.tensor([1.0, 1.0, 1.0, 0.0, 2.0])
    # alpha = 3: selected where imp_f > 3 imp_d -> indices 0 (10 > 3), 2 (4 > 3), 4 (9 > 6).
    # lambda = 2: beta = min(2 imp_d / imp_f, 1) -> 0.2, 0.5, min(4/9, 1) = 4/9.
    n = ssd.dampen([weights], [imp_f], [imp_d], alpha=3.0, lam=2.0)
    expected = torch.tensor([0.2, 2.0, 1.5, 4.0, 5.0 * 4 / 9])
    assert n == 3
    assert torch.allclose(weights, expected)


def test_dampen_never_increases_a_weight() -> None:
    weights = torch.tensor([[1.0, -2.0]])
    # Both selected (alpha = 1); lambda = 10 would give beta = 10 and 5: bounded by 1.
    n = ssd.dampen([weights], [torch.tensor([[2.0, 4.0]])], [torch.tensor([[1.0, 2.0]])], 1.0, 10.0)
    assert n == 2
    assert torch.equal(weights, torch.tensor([[1.0, -2.0]]))


def test_fisher_importance_of_a_linear_model_matches_the_closed_form() -> None:
    """For logits = W x, the gradient of the batch-mean CE is mean_i (softmax_i - onehot_i) x_i^T;
    the importance is the mean over batches of its square."""
    torch.manual_seed(0)
    layer = nn.Linear(2, 3, bias=False)
    xs = [torch.randn(4, 2), torch.randn(2, 2)]
    ys = [torch.tensor([0, 1, 2, 0]), torch.tensor([2, 2])]
    expected = torch.zeros(3, 2)
    for x, y in zip(xs, ys, strict=True):
        with torch.no_grad():
            residual = layer(x).softmax(dim=1) - F.one_hot(y, 3).float()
        expected += (residual.T @ x / len(y)).square()
    expected /= 2
    (importance,) = ssd.fisher_importance(layer, [layer.weight], zip(xs, ys, strict=True))
    assert torch.allclose(importance, expected, atol=1e-6)
    assert layer.weight.grad is None


def test_ssd_changes_exactly_the_selected_weights_by_beta(problem: Problem) -> None:
    alpha, lam = 1.0, 1.0
    model = run_method(problem, "ssd")
    reference = copy.deepcopy(problem.original).requires_grad_(True)
    parameters = list(reference.parameters())
    imp_f = ssd.fisher_importance(reference, parameters, problem.train_forget.batches(32))
    full = ssd.union(problem.train_remain, problem.train_forget)
    imp_d = ssd.fisher_importance(reference, parameters, full.batches(32))
    total = 0
    for (name, new), old, f, d in zip(
        model.named_parameters(), problem.original.parameters(), imp_f, imp_d, strict=True
    ):
        chosen = f > alpha * d
        beta = torch.where(chosen, (lam * d / f).clamp(max=1.0), torch.ones_like(f))
        assert torch.allclose(new.detach(), old * beta, rtol=1e-5, atol=1e-7), name
        unchanged = ~chosen | (beta == 1)
        assert torch.equal(new.detach()[unchanged], old[unchanged]), name
        total += int((chosen & (beta < 1)).sum())
    assert total > 0  # the check above is not vacuous
    # Buffers (batch-norm statistics) are not touched.
    for (name, b_new), b_old in zip(model.named_buffers(), problem.original.buffers(), strict=True):
        assert torch.equal(b_new, b_old), name


def test_ssd_max_samples_caps_the_full_set_with_a_seeded_subset(problem: Problem) -> None:
    remain, forget = problem.train_remain, problem.train_forget
    n = len(remain) + len(forget)
    assert len(ssd.full_training_set(remain, forget, 0, torch.Generator())) == n
    a = ssd.full_training_set(remain, forget, 50, torch.Generator().manual_seed(3))
    b = ssd.full_training_set(remain, forget, 50, torch.Generator().manual_seed(3))
    c = ssd.full_training_set(remain, forget, 50, torch.Generator().manual_seed(4))
    assert len(a) == 50
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.images, c.images)
    # Samples come from both sets (the forget class is label 0 here).
    everything = ssd.union(remain, forget)
    index = torch.randperm(n, generator=torch.Generator().manual_seed(3))[:50].sort().values
    assert torch.equal(a.images, everything.images[index])
    assert torch.equal(a.labels, everything.labels[index])


# --- Bad Teaching -------------------------------------------------------------------------------


def test_incompetent_teacher_is_random_frozen_and_seeded(problem: Problem) -> None:
    original = problem.original
    before = state(original)
    teacher = bad_teacher.incompetent_teacher(original, torch.Generator().manual_seed(5))
    assert type(teacher) is type(original)
    assert teacher.state_dict().keys() == original.state_dict().keys()
    assert not teacher.training
    assert all(not p.requires_grad for p in teacher.parameters())
    for (name, p), q in zip(teacher.named_parameters(), original.parameters(), strict=True):
        assert not torch.equal(p, q), name
    assert accuracy(teacher, problem.test_forget) < 0.9  # it does not know the problem
    assert all(torch.equal(before[k], v) for k, v in original.state_dict().items())
    same = bad_teacher.incompetent_teacher(original, torch.Generator().manual_seed(5))
    other = bad_teacher.incompetent_teacher(original, torch.Generator().manual_seed(6))
    assert same_weights(teacher, same)
    assert not same_weights(teacher, other)


def test_incompetent_teacher_leaves_the_global_random_state_alone(problem: Problem) -> None:
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    bad_teacher.incompetent_teacher(problem.original, torch.Generator().manual_seed(5))
    assert torch.equal(torch.rand(3), expected)


def test_unlearning_set_mixes_forget_and_a_remain_fraction(problem: Problem) -> None:
    forget, remain = problem.train_forget, problem.train_remain
    data = bad_teacher.unlearning_set(forget, remain, 0.3, torch.Generator().manual_seed(0))
    k = int(0.3 * len(remain))
    assert len(data) == len(forget) + k
    assert int(data.labels.sum()) == len(forget)  # label 1 marks forget samples
    assert torch.equal(data.images[: len(forget)], forget.images)
    assert bad_teacher.unlearning_set(forget, remain, 0.0, torch.Generator()).labels.all()


def test_teacher_targets_take_each_sample_from_its_teacher() -> None:
    good = nn.Linear(2, 3)
    bad = nn.Linear(2, 3)
    x = torch.randn(5, 2)
    flags = torch.tensor([1, 0, 0, 1, 0])
    target = bad_teacher.teacher_targets(good, bad, x, flags, temperature=2.0)
    with torch.no_grad():
        expected = torch.where(flags[:, None].bool(), bad(x), good(x)) / 2.0
    assert torch.allclose(target, expected.softmax(dim=1))
    only_forget = bad_teacher.teacher_targets(good, bad, x, torch.ones(5), 1.0)
    with torch.no_grad():
        assert torch.allclose(only_forget, bad(x).softmax(dim=1))


# --- parameter validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "raw", "key"),
    [
        ("boundary_expand", {"lr": 0}, "lr"),
        ("boundary_expand", {"bn_mode": "frozen"}, "bn_mode"),
        ("boundary_expand", {"epochs": 0}, "epochs"),
        ("boundary_expand", {"momentum": 1.0}, "momentum"),
        ("ssd", {"alpha": -1}, "alpha"),
        ("ssd", {"lambda": "x"}, "lambda"),
        ("ssd", {"max_samples": -1}, "max_samples"),
        ("ssd", {"batch_size": 0}, "batch_size"),
        ("bad_teacher", {"kl_temperature": 0}, "kl_temperature"),
        ("bad_teacher", {"remain_fraction": 1.5}, "remain_fraction"),
        ("bad_teacher", {"lr": -1e-4}, "lr"),
        ("bad_teacher", {"epochs": 1.5}, "epochs"),
    ],
)
def test_bad_params_name_the_key(name: str, raw: dict, key: str) -> None:
    with pytest.raises(UserError, match=rf"methods\.{name}\.params\.{key} "):
        get_method(name).parse_params(raw)


def test_ssd_lambda_key_maps_to_the_field() -> None:
    params = get_method("ssd").parse_params({"lambda": 2, "alpha": "5"})
    assert params.lambda_ == 2.0 and params.alpha == 5.0
