"""l1_sparse: the decaying l1 weight, and the penalty's effect on the toy problem of
``toy_problem.py``."""

from __future__ import annotations

import numpy as np
import pytest
from torch import nn
from toy_problem import Problem, build_problem, make_task

from unlearning.errors import UserError
from unlearning.methods import get_method
from unlearning.methods.l1_sparse import l1_coefficient

SETTING = {"lr": 0.05, "epochs": 3, "batch_size": 32, "alpha": 5e-3}

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def problem() -> Problem:
    return build_problem(3)


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

    def unlearn(alpha: float) -> nn.Module:
        method = get_method("l1_sparse")
        return method.run(make_task(problem), method.parse_params(SETTING | {"alpha": alpha}))

    plain = unlearn(0.0)
    sparse = unlearn(0.05)
    assert l1(sparse) < 0.9 * l1(plain)


@pytest.mark.parametrize(("key", "value"), [("alpha", -1e-4), ("alpha", "lots")])
def test_bad_params_name_the_config_key(key: str, value: object) -> None:
    with pytest.raises(UserError, match=rf"l1_sparse\.params\.{key}\b"):
        get_method("l1_sparse").parse_params({key: value})


def test_numeric_strings_are_accepted() -> None:
    params = get_method("l1_sparse").parse_params({"alpha": "5e-4", "lr": "1e-2"})
    assert params.alpha == 5e-4 and params.lr == 0.01
