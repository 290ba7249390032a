"""CF-k and EU-k, and the per-architecture "last k layers" they rely on, on the toy problem of
``toy_problem.py`` (class 0 forgotten). Hyperparameters are test-sized."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from toy_problem import Problem, build_problem, make_task, new_model

from unlearning.errors import UserError
from unlearning.methods import eu_k as eu_k_module
from unlearning.methods import get_method
from unlearning.models.architectures import build_model
from unlearning.models.layers import last_k_layers, layer_units, reinitialise, train_only

CLASSES = 3

SETTINGS: dict[str, dict] = {
    "cf_k": {"k": 4, "lr": 0.1, "epochs": 4, "batch_size": 32},
    "eu_k": {"k": 2, "lr": 0.05, "epochs": 4, "batch_size": 32},
}

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def problem() -> Problem:
    return build_problem(CLASSES, validation_per_class=16)


def run(problem: Problem, name: str, seed: int = 1, **overrides) -> nn.Module:
    method = get_method(name)
    params = method.parse_params({**SETTINGS[name], **overrides})
    return method.run(make_task(problem, seed), params)


def snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def unit_keys(model: nn.Module, k: int) -> set[str]:
    """State-dict keys of the last k units."""
    inside = {id(m) for unit in last_k_layers(model, k) for m in unit.modules()}
    keys = set()
    for name, module in model.named_modules():
        if id(module) in inside:
            keys.update(f"{name}.{key}" for key in module.state_dict(keep_vars=False))
    return {key for key in keys if key in model.state_dict()}


# --- the last k layers ------------------------------------------------------------------------


def test_allcnn_units_are_the_conv_blocks_and_the_head() -> None:
    model = new_model(CLASSES)
    units = layer_units(model)
    assert len(units) == 9
    blocks = [m for m in model.features if isinstance(m, nn.Sequential)]
    assert units[:-1] == blocks and units[-1] is model.head
    assert all(isinstance(b[0], nn.Conv2d) and isinstance(b[1], nn.BatchNorm2d) for b in blocks)
    assert last_k_layers(model, 1) == [model.head]
    assert last_k_layers(model, 2) == [blocks[-1], model.head]
    assert last_k_layers(model, 9) == units


@pytest.mark.parametrize(
    ("architecture", "blocks", "block_type"),
    [
        ("resnet18", 8, "BasicBlock"),
        ("resnet50", 16, "Bottleneck"),
    ],
)
def test_resnet_units_are_the_residual_blocks_and_the_head(
    architecture: str, blocks: int, block_type: str
) -> None:
    model = build_model(architecture, 10, 3, 32, [0.5] * 3, [0.25] * 3)
    units = layer_units(model)
    assert len(units) == blocks + 1
    assert [type(u).__name__ for u in units[:-1]] == [block_type] * blocks
    assert units[-1] is model.head
    assert last_k_layers(model, 2) == [model.features.layer4[-1], model.head]


@pytest.mark.parametrize("k", [0, -1, 10, 2.5, True])
def test_k_outside_the_units_is_a_user_error_naming_the_key(k) -> None:
    with pytest.raises(UserError, match=r"methods\.cf_k\.params\.k"):
        last_k_layers(new_model(CLASSES), k, method="cf_k")


def test_a_bad_k_in_the_config_is_a_user_error() -> None:
    with pytest.raises(UserError, match=r"methods\.eu_k\.params\.k"):
        get_method("eu_k").parse_params({"k": 0})


def test_reinitialise_is_seeded_resets_batch_norm_and_leaves_the_global_rng() -> None:
    a, b, c = new_model(CLASSES), new_model(CLASSES), new_model(CLASSES)
    b.load_state_dict(a.state_dict())
    c.load_state_dict(a.state_dict())
    for model in (a, b, c):
        for bn in (m for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
            bn.running_mean.fill_(3.0)
    before = snapshot(a)
    rng_state = torch.random.get_rng_state()
    reinitialise(last_k_layers(a, 3), torch.Generator().manual_seed(5))
    assert torch.equal(torch.random.get_rng_state(), rng_state)
    reinitialise(last_k_layers(b, 3), torch.Generator().manual_seed(5))
    reinitialise(last_k_layers(c, 3), torch.Generator().manual_seed(6))
    inside = unit_keys(a, 3)
    after, same_seed, other_seed = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(after[k], same_seed[k]) for k in after)
    weights = [k for k in inside if k.endswith("weight") and after[k].ndim > 1]
    assert weights and all(not torch.equal(after[k], other_seed[k]) for k in weights)
    assert all(not torch.equal(after[k], before[k]) for k in weights)
    assert all(torch.equal(after[k], before[k]) for k in after if k not in inside)
    for unit in last_k_layers(a, 3):
        for m in unit.modules():
            if isinstance(m, nn.BatchNorm2d):
                assert torch.equal(m.weight, torch.ones_like(m.weight))
                assert torch.equal(m.bias, torch.zeros_like(m.bias))
                assert torch.equal(m.running_mean, torch.zeros_like(m.running_mean))
                assert torch.equal(m.running_var, torch.ones_like(m.running_var))
            if isinstance(m, nn.Conv2d | nn.Linear):  # PyTorch's default bound 1/sqrt(fan_in)
                fan_in = m.weight[0].numel()
                assert m.weight.abs().max() <= fan_in**-0.5


def test_train_only_freezes_weights_and_statistics_outside_the_units() -> None:
    model = new_model(CLASSES)
    units = last_k_layers(model, 2)
    train_only(model, units)
    inside = {id(p) for u in units for p in u.parameters()}
    assert all(p.requires_grad == (id(p) in inside) for p in model.parameters())
    inside_bn = {id(m) for u in units for m in u.modules()}
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert m.training == (id(m) in inside_bn)


# --- CF-k and EU-k ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cf_k", "eu_k"])
def test_only_the_last_k_layers_change(problem: Problem, name: str) -> None:
    k = SETTINGS[name]["k"]
    model = run(problem, name)
    inside = unit_keys(model, k)
    before, after = problem.original.state_dict(), model.state_dict()
    outside = [key for key in after if key not in inside]
    assert outside and all(torch.equal(after[key], before[key]) for key in outside)
    trained = [key for key in inside if key.endswith("weight")]
    assert trained and all(not torch.equal(after[key], before[key]) for key in trained)


def test_eu_k_reinitialises_the_last_k_layers_before_training(problem, monkeypatch) -> None:
    seen: dict[str, dict[str, torch.Tensor]] = {}

    def no_training(task, units, params):
        seen["state"] = snapshot(task.model)
        seen["units"] = [id(u) for u in units]

    monkeypatch.setattr(eu_k_module, "train_units", no_training)
    model = run(problem, "eu_k")
    k = SETTINGS["eu_k"]["k"]
    assert seen["units"] == [id(u) for u in last_k_layers(model, k)]
    inside = unit_keys(model, k)
    state, original = seen["state"], problem.original.state_dict()
    weights = [key for key in inside if key.endswith("weight") and state[key].ndim > 1]
    assert len(weights) == k  # one conv, one linear
    for key in weights:  # fresh weights, nothing like the original's
        assert not torch.allclose(state[key], original[key], atol=1e-3)
    assert all(torch.equal(state[key], original[key]) for key in state if key not in inside)
    # and the helper is seeded: the same run re-initialises identically
    run(problem, "eu_k")
    assert all(torch.equal(seen["state"][key], state[key]) for key in state)


def test_eu_k_is_not_cf_k(problem: Problem) -> None:
    """The reference code's EU-k copies the original weights, which makes it CF-k."""
    cf = run(problem, "cf_k", epochs=4).state_dict()
    eu = run(problem, "eu_k").state_dict()
    assert any(not torch.equal(cf[k], eu[k]) for k in unit_keys(new_model(CLASSES), 2))
