"""CF-k, EU-k, SCRUB and SCRUB+R, and the per-architecture "last k layers" they rely on.

The problem: three classes of 1x8x8 images, each a fixed random template plus noise, learned by a
narrow AllCNN in a few seconds; class 0 is forgotten. Hyperparameters are test-sized.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from toy_problem import FORGET_CLASS, Problem, build_problem, make_task, new_model

from unlearning.data.imageset import ImageSet
from unlearning.errors import UserError
from unlearning.methods import eu_k as eu_k_module
from unlearning.methods import get_method
from unlearning.methods import scrub as scrub_module
from unlearning.methods.scrub import (
    Params as ScrubParams,
)
from unlearning.methods.scrub import (
    error,
    frozen_teacher,
    reference_set,
    scrub_epochs,
    select_epoch,
)
from unlearning.models.architectures import build_model
from unlearning.models.layers import last_k_layers, layer_units, reinitialise, train_only

CLASSES = 3

SETTINGS: dict[str, dict] = {
    "cf_k": {"k": 4, "lr": 0.1, "epochs": 4, "batch_size": 32},
    "eu_k": {"k": 2, "lr": 0.05, "epochs": 4, "batch_size": 32},
    "scrub": {
        "lr": 0.005,
        "epochs": 4,
        "max_steps": 2,
        "batch_size": 32,
        "forget_batch_size": 16,
        "alpha": 0.5,
        "gamma": 1.0,
    },
    "scrub_r": {
        "lr": 0.005,
        "epochs": 4,
        "max_steps": 2,
        "batch_size": 32,
        "forget_batch_size": 16,
        "alpha": 0.5,
        "gamma": 1.0,
    },
}


pytestmark = pytest.mark.usefixtures("one_thread")


def accuracy(model: nn.Module, data: ImageSet) -> float:
    return 1.0 - error(model, data, torch.device("cpu"))


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


def test_the_original_has_learned_the_problem(problem: Problem) -> None:
    assert accuracy(problem.original, problem.test_forget) >= 0.9
    assert accuracy(problem.original, problem.test_remain) >= 0.9


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


# --- every method: forgets, keeps the rest, leaves the original, is deterministic ---------------


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_method_forgets_keeps_the_rest_and_is_deterministic(problem: Problem, name: str) -> None:
    original = problem.original
    before = snapshot(original)
    model = run(problem, name)

    assert accuracy(model, problem.test_forget) < accuracy(original, problem.test_forget) - 0.3
    assert accuracy(model, problem.test_remain) > 0.6  # chance is 1/3
    after = original.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not original.training
    assert all(p.grad is None and not p.requires_grad for p in original.parameters())

    again = run(problem, name).state_dict()
    assert all(torch.equal(v, again[k]) for k, v in model.state_dict().items())
    other = run(problem, name, seed=2).state_dict()
    assert any(not torch.equal(v, other[k]) for k, v in model.state_dict().items())


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

    def no_training(task, units, params, name):
        seen["state"] = snapshot(task.model)
        seen["units"] = [id(u) for u in units]
        return torch.zeros(())

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


# --- SCRUB --------------------------------------------------------------------------------------


def test_scrub_teacher_is_the_frozen_original_and_not_the_student(problem: Problem) -> None:
    task = make_task(problem)
    teacher = frozen_teacher(task, "scrub")
    assert teacher is problem.original and teacher is not task.model
    x, _ = next(problem.train_forget.batches(len(problem.train_forget)))
    with torch.no_grad():
        teacher_before = teacher(x)
    calls = []
    handle = teacher.register_forward_hook(lambda m, i, o: calls.append(torch.is_grad_enabled()))
    try:
        model = get_method("scrub").run(task, ScrubParams(**SETTINGS["scrub"]))
    finally:
        handle.remove()
    assert calls and not any(calls)  # the teacher ran, always without gradients
    with torch.no_grad():
        assert torch.equal(teacher(x), teacher_before)
        assert not torch.allclose(model(x), teacher_before)


def test_scrub_refuses_a_student_that_is_the_teacher(problem: Problem) -> None:
    task = make_task(problem)
    task.model = task.original
    with pytest.raises(ValueError, match="shares weights"):
        frozen_teacher(task, "scrub")
    shared = make_task(problem)
    shared.model.head.weight = problem.original.head.weight
    with pytest.raises(ValueError, match="shares weights"):
        next(scrub_epochs(shared, ScrubParams(**SETTINGS["scrub"])))


def test_scrub_max_steps_only_in_the_first_epochs(problem: Problem, monkeypatch) -> None:
    """With max_steps 1 the forget set is read in epoch 1 only."""
    task = make_task(problem)
    reads = []
    batches = ImageSet.batches

    def counting(self, *args, **kwargs):
        reads.append("forget" if self is problem.train_forget else "remain")
        return batches(self, *args, **kwargs)

    monkeypatch.setattr(ImageSet, "batches", counting)
    params = ScrubParams(**{**SETTINGS["scrub"], "max_steps": 1, "epochs": 3})
    list(scrub_epochs(task, params))
    assert reads == ["forget", "remain", "remain", "remain"]


def test_scrub_parameters_are_checked() -> None:
    with pytest.raises(UserError, match=r"methods\.scrub\.params\.kd_temperature"):
        get_method("scrub").parse_params({"kd_temperature": 0})
    with pytest.raises(UserError, match=r"methods\.scrub_r\.params\.forget_batch_size"):
        get_method("scrub_r").parse_params({"forget_batch_size": 0})
    with pytest.raises(UserError, match="max_steps"):
        get_method("scrub").parse_params({"max_steps": -1})
    assert get_method("scrub_r").parse_params({}) == get_method("scrub_r").params_type()


# --- SCRUB+R ------------------------------------------------------------------------------------


def test_select_epoch_picks_the_closest_error() -> None:
    assert select_epoch([0.9, 0.5, 0.2], 0.45) == 1
    assert select_epoch([0.9, 0.5, 0.2], 1.0) == 0
    assert select_epoch([0.9, 0.5, 0.2], 0.0) == 2
    assert select_epoch([0.25, 0.75, 0.25], 0.5) == 2  # ties: the latest
    assert select_epoch([1.0, 1.0, 1.0], 1.0) == 2


def test_reference_set_is_validation_data_like_the_forget_set(problem: Problem) -> None:
    val = problem.validation
    whole_class = reference_set(problem.train_forget, val)
    assert len(whole_class) == int((val.labels == FORGET_CLASS).sum())
    assert bool((whole_class.labels == FORGET_CLASS).all())
    part_of_class = reference_set(problem.train_forget.subset([0, 1, 2]), val)
    assert torch.equal(part_of_class.labels, whole_class.labels)
    every_class = ImageSet(
        torch.cat([problem.train_forget.images[:2], problem.train_remain.images]),
        torch.cat([problem.train_forget.labels[:2], problem.train_remain.labels]),
    )
    assert reference_set(every_class, val) is val
    with pytest.raises(UserError, match="val_fraction"):
        reference_set(problem.train_forget, val.subset([]))


def test_scrub_r_returns_the_epoch_closest_to_the_reference(problem: Problem) -> None:
    params = ScrubParams(**SETTINGS["scrub_r"])
    task = make_task(problem)
    states, errors = [], []
    for _ in scrub_epochs(task, params):
        states.append(snapshot(task.model))
        errors.append(error(task.model, problem.train_forget, torch.device("cpu")))
    held_out = problem.validation.subset(torch.where(problem.validation.labels == FORGET_CLASS)[0])
    expected = select_epoch(errors, error(task.model, held_out, torch.device("cpu")))
    assert any(
        not torch.equal(states[0][k], states[-1][k]) for k in states[0]
    )  # the epochs differ, so the choice matters

    rewound = run(problem, "scrub_r").state_dict()
    assert all(torch.equal(rewound[k], states[expected][k]) for k in rewound)
    final = run(problem, "scrub").state_dict()  # scrub_r's last epoch is scrub's result
    assert all(torch.equal(final[k], states[-1][k]) for k in final)


def test_scrub_r_rewinds_to_an_earlier_epoch_when_that_is_closer(problem: Problem) -> None:
    """A forget set that is part of class 0, with a max-step in every epoch: the forget error
    overshoots the reference (the final model's error on the class-0 validation images) in the
    last epoch, and an earlier epoch is closer."""
    task = make_task(problem)
    task.forget = problem.train_forget.subset(list(range(8)))
    task.remain = ImageSet(
        torch.cat([problem.train_forget.images[8:], problem.train_remain.images]),
        torch.cat([problem.train_forget.labels[8:], problem.train_remain.labels]),
    )
    params = get_method("scrub_r").parse_params(
        {**SETTINGS["scrub_r"], "forget_batch_size": 4, "max_steps": 4}
    )
    probe = copy.deepcopy(task)
    probe.generator = torch.Generator().manual_seed(1)
    states, errors = [], []
    for _ in scrub_epochs(probe, params):
        states.append(snapshot(probe.model))
        errors.append(error(probe.model, probe.forget, torch.device("cpu")))
    reference = error(probe.model, reference_set(probe.forget, probe.validation), "cpu")
    expected = select_epoch(errors, reference)
    assert expected < params.epochs - 1  # an earlier epoch than the last
    model = get_method("scrub_r").run(task, params)
    assert all(torch.equal(v, states[expected][k]) for k, v in model.state_dict().items())


def test_scrub_r_loads_the_selected_epoch(problem: Problem, monkeypatch) -> None:
    """With scripted errors (forget errors per epoch, then the reference), epoch 2 is closest."""
    params = get_method("scrub_r").parse_params(SETTINGS["scrub_r"])
    probe = make_task(problem)
    states = [snapshot(probe.model) for _ in scrub_epochs(probe, params)]
    scripted = iter([0.9, 0.5, 0.1, 0.0, 0.45])
    calls = []

    def fake_error(model, data, device):
        calls.append(data)
        return next(scripted)

    monkeypatch.setattr(scrub_module, "error", fake_error)
    model = get_method("scrub_r").run(make_task(problem), params)
    assert len(calls) == 5 and all(c is problem.train_forget for c in calls[:4])
    assert torch.equal(
        calls[4].labels, reference_set(problem.train_forget, problem.validation).labels
    )
    assert all(torch.equal(v, states[1][k]) for k, v in model.state_dict().items())
