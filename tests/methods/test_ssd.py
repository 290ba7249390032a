"""Selective Synaptic Dampening: its selection and dampening by hand, its importance against the
closed form of a linear model, and its run on the toy problem (class 0 forgotten)."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from toy_problem import Problem, build_problem, make_task

from unlearning.errors import UserError
from unlearning.methods import get_method, ssd

pytestmark = pytest.mark.usefixtures("one_thread")

CLASSES = 3
SETTINGS = {"alpha": 1.0, "lambda": 1.0, "batch_size": 32}  # test-sized


@pytest.fixture(scope="module")
def problem() -> Problem:
    return build_problem(CLASSES)


def run_method(problem: Problem, seed: int = 1) -> nn.Module:
    method = get_method("ssd")
    return method.run(make_task(problem, seed), method.parse_params(SETTINGS))


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
    model = run_method(problem)
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


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"alpha": -1}, "alpha"),
        ({"lambda": "x"}, "lambda"),
        ({"max_samples": -1}, "max_samples"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_params_name_the_key(raw: dict, key: str) -> None:
    with pytest.raises(UserError, match=rf"methods\.ssd\.params\.{key} "):
        get_method("ssd").parse_params(raw)


def test_ssd_lambda_key_maps_to_the_field() -> None:
    params = get_method("ssd").parse_params({"lambda": 2, "alpha": "5"})
    assert params.lambda_ == 2.0 and params.alpha == 5.0
