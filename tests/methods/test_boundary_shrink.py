"""Boundary Shrink (Chen et al. 2023) as psg's gamma = lambda = phi = 0 preset: its own
parameters (named in its own messages) and psg's loop."""

from __future__ import annotations

import pytest
from test_psg import same_weights, tiny_task, weights

from unlearning.errors import UserError
from unlearning.methods import boundary_shrink, get_method, psg

pytestmark = pytest.mark.usefixtures("one_thread")


def test_bad_boundary_shrink_params_name_their_key() -> None:
    with pytest.raises(
        UserError, match=r"^boundary_shrink: steps .* methods\.boundary_shrink\.params\.steps "
    ):
        get_method("boundary_shrink").parse_params({"steps": 0})


def test_boundary_shrink_is_psg_without_noise_closeness_or_remain_loss(monkeypatch) -> None:
    settings = {"epsilon": 0.05, "steps": 2, "lr": 0.05, "epochs": 2, "batch_size": 5}
    task = tiny_task()
    shrunk = weights(boundary_shrink.run(task, boundary_shrink.Params(**settings)))
    as_psg = psg.Params(**settings, gamma=0.0, lambda_=0.0, phi=0.0)
    assert same_weights(shrunk, weights(psg.run(tiny_task(), as_psg)))

    seen: list[psg.Params] = []
    monkeypatch.setattr(psg, "unlearn", lambda task, params, name: seen.append(params))
    boundary_shrink.run(tiny_task(), boundary_shrink.Params(**settings))
    (params,) = seen
    assert (params.gamma, params.lambda_, params.phi) == (0.0, 0.0, 0.0)
    assert params.targets == "hard" and params.epsilon == 0.05 and params.lr == 0.05


def test_boundary_shrink_takes_the_formulation() -> None:
    params = get_method("boundary_shrink").parse_params({"formulation": "reference"})
    converted = boundary_shrink.as_psg(params)
    assert converted.formulation == "reference" and converted.gamma == 0 == converted.lambda_
    with pytest.raises(UserError, match="boundary_shrink"):
        get_method("boundary_shrink").parse_params({"formulation": "reference", "steps": 3})
