"""Bad Teaching's pieces: the incompetent teacher, the mixed unlearning set and the targets each
teacher gives (the run itself is covered by test_every_method.py)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from toy_problem import Problem, accuracy, build_problem

from unlearning.errors import UserError
from unlearning.methods import bad_teacher, get_method

pytestmark = pytest.mark.usefixtures("one_thread")

CLASSES = 3


@pytest.fixture(scope="module")
def problem() -> Problem:
    return build_problem(CLASSES)


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


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


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"kl_temperature": 0}, "kl_temperature"),
        ({"remain_fraction": 1.5}, "remain_fraction"),
        ({"lr": -1e-4}, "lr"),
        ({"epochs": 1.5}, "epochs"),
    ],
)
def test_bad_params_name_the_key(raw: dict, key: str) -> None:
    with pytest.raises(UserError, match=rf"methods\.bad_teacher\.params\.{key} "):
        get_method("bad_teacher").parse_params(raw)
