"""Boundary Expanding on the toy problem (class 0 forgotten, test-sized settings), and its
widened and pruned head."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from toy_problem import Problem, build_problem, make_task

from unlearning.errors import UserError
from unlearning.methods import boundary_expand, get_method
from unlearning.models.architectures import Classifier

pytestmark = pytest.mark.usefixtures("one_thread")

CLASSES = 3

# Test-sized: bn_mode eval, since its batches hold the forget class only, and on a model this
# small train-mode batch-norm statistics would drift toward that class.
SETTINGS = {"lr": 2e-3, "epochs": 2, "batch_size": 32, "bn_mode": "eval"}


@pytest.fixture(scope="module")
def problem() -> Problem:
    return build_problem(CLASSES)


def run_method(problem: Problem, seed: int = 1) -> nn.Module:
    method = get_method("boundary_expand")
    return method.run(make_task(problem, seed), method.parse_params(SETTINGS))


def test_boundary_expand_returns_a_classifier_with_the_original_outputs(problem: Problem) -> None:
    model = run_method(problem)
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


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"lr": 0}, "lr"),
        ({"bn_mode": "frozen"}, "bn_mode"),
        ({"epochs": 0}, "epochs"),
        ({"momentum": 1.0}, "momentum"),
    ],
)
def test_bad_params_name_the_key(raw: dict, key: str) -> None:
    with pytest.raises(UserError, match=rf"methods\.boundary_expand\.params\.{key} "):
        get_method("boundary_expand").parse_params(raw)
