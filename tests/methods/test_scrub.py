"""SCRUB and SCRUB+R on the toy problem of ``toy_problem.py`` (class 0 forgotten, with a held-out
validation set for SCRUB+R's reference error). Hyperparameters are test-sized."""

from __future__ import annotations

import copy

import pytest
import torch
from test_every_method import SETTINGS
from torch import nn
from toy_problem import FORGET_CLASS, Problem, build_problem, make_task

from unlearning.data.imageset import ImageSet
from unlearning.errors import UserError
from unlearning.methods import get_method
from unlearning.methods import scrub_r as scrub_r_module
from unlearning.methods.scrub import Params as ScrubParams
from unlearning.methods.scrub import frozen_teacher, scrub_epochs
from unlearning.methods.scrub_r import error, reference_set, select_epoch

CLASSES = 3

SETTING = SETTINGS["scrub"]

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def problem() -> Problem:
    return build_problem(CLASSES, validation_per_class=16)


def run(problem: Problem, name: str) -> nn.Module:
    method = get_method(name)
    return method.run(make_task(problem), method.parse_params(SETTING))


def snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


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
        model = get_method("scrub").run(task, ScrubParams(**SETTING))
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
        next(scrub_epochs(shared, ScrubParams(**SETTING)))


def test_scrub_max_steps_only_in_the_first_epochs(problem: Problem, monkeypatch) -> None:
    """With max_steps 1 the forget set is read in epoch 1 only."""
    task = make_task(problem)
    reads = []
    batches = ImageSet.batches

    def counting(self, *args, **kwargs):
        reads.append("forget" if self is problem.train_forget else "remain")
        return batches(self, *args, **kwargs)

    monkeypatch.setattr(ImageSet, "batches", counting)
    params = ScrubParams(**{**SETTING, "max_steps": 1, "epochs": 3})
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
    params = ScrubParams(**SETTING)
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
    params = get_method("scrub_r").parse_params({**SETTING, "forget_batch_size": 4, "max_steps": 4})
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
    params = get_method("scrub_r").parse_params(SETTING)
    probe = make_task(problem)
    states = [snapshot(probe.model) for _ in scrub_epochs(probe, params)]
    scripted = iter([0.9, 0.5, 0.1, 0.0, 0.45])
    calls = []

    def fake_error(model, data, device):
        calls.append(data)
        return next(scripted)

    monkeypatch.setattr(scrub_r_module, "error", fake_error)
    model = get_method("scrub_r").run(make_task(problem), params)
    assert len(calls) == 5 and all(c is problem.train_forget for c in calls[:4])
    assert torch.equal(
        calls[4].labels, reference_set(problem.train_forget, problem.validation).labels
    )
    assert all(torch.equal(v, states[1][k]) for k, v in model.state_dict().items())
