"""Every method forgets class 0 of a small learnable problem and keeps the other classes.

The problem: four classes of 1x8x8 images, each a fixed random template plus noise, learned to
full accuracy by a narrow AllCNN in a few seconds. Hyperparameters are test-sized (larger steps,
fewer epochs) so the whole file runs in seconds on two CPU cores.
"""

from __future__ import annotations

import pytest
import torch
from toy_problem import Problem, accuracy, build_problem, make_task

from unlearning.methods import available_methods, get_method

CLASSES = 4


pytestmark = pytest.mark.usefixtures("one_thread")


# Test-sized settings. psg and boundary_shrink use bn_mode eval: with batches drawn from one class
# only, batch-norm running statistics in train mode shift toward that class on a model this small.
SETTINGS: dict[str, dict] = {
    "psg": {
        "lr": 0.01,
        "epochs": 5,
        "batch_size": 32,
        "bn_mode": "eval",
        "phi": 1.0,
        "gamma": 1e-6,
    },
    "boundary_shrink": {"lr": 0.01, "epochs": 5, "batch_size": 32, "bn_mode": "eval"},
    "finetune": {"lr": 0.05, "epochs": 3, "batch_size": 32},
    "neggrad": {"lr": 0.05, "epochs": 3, "batch_size": 32, "alpha": 0.9},
}


@pytest.fixture(scope="module")
def problem() -> Problem:
    return build_problem(CLASSES)


def test_the_original_has_learned_the_problem(problem: Problem) -> None:
    assert accuracy(problem.original, problem.test_forget) >= 0.9
    assert accuracy(problem.original, problem.test_remain) >= 0.9


def test_methods_under_test_are_registered() -> None:
    assert set(SETTINGS) <= set(available_methods())
    for name in SETTINGS:
        get_method(name).params_type()  # defaults are valid


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_method_forgets_and_keeps_the_rest(problem: Problem, name: str) -> None:
    original = problem.original
    before = {k: v.clone() for k, v in original.state_dict().items()}
    method = get_method(name)
    model = method.run(make_task(problem), method.parse_params(SETTINGS[name]))

    assert accuracy(model, problem.test_forget) < accuracy(original, problem.test_forget)
    assert accuracy(model, problem.test_remain) > 0.5  # chance is 0.25
    after = original.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not original.training
    assert all(p.grad is None and not p.requires_grad for p in original.parameters())
