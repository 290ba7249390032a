"""random_label on the toy problem of ``toy_problem.py`` (class 0 forgotten): the random labels,
and the ``epoch_structure`` it shares with salun, ``paired`` (the default) and ``salun`` (the SalUn
authors' forget pass then remain pass per epoch)."""

from __future__ import annotations

import importlib
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from toy_problem import FORGET_CLASS, Problem, accuracy, build_problem, make_task

from unlearning.errors import UserError
from unlearning.methods import get_method
from unlearning.methods.random_label import random_any_labels, random_wrong_labels

CLASSES = 3
METHODS = ("random_label", "salun")  # salun trains with random_label's loop
SETTINGS: dict[str, dict] = {
    "random_label": {"lr": 0.05, "epochs": 2, "batch_size": 32},
    "salun": {"lr": 0.05, "epochs": 3, "batch_size": 32, "mask_fraction": 0.5},
}

#: What every cross-entropy goes through (the lazy ``torch.nn.functional`` of the methods).
CROSS_ENTROPY = "unlearning.methods.common.F.cross_entropy"

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def problem() -> Problem:
    return build_problem(CLASSES)


def unlearn(problem: Problem, name: str, seed: int = 1, **overrides) -> nn.Module:
    method = get_method(name)
    return method.run(make_task(problem, seed), method.parse_params(SETTINGS[name] | overrides))


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def spy_on_targets(monkeypatch: pytest.MonkeyPatch) -> list[torch.Tensor]:
    """Record the target of every cross-entropy."""
    targets: list[torch.Tensor] = []
    real = F.cross_entropy

    def spy(logits, target, *args, **kwargs):
        targets.append(target.clone())
        return real(logits, target, *args, **kwargs)

    monkeypatch.setattr(CROSS_ENTROPY, spy)
    return targets


# --- the labels ---------------------------------------------------------------------------------


def test_random_labels_are_never_the_true_label_and_cover_the_others() -> None:
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(5).repeat(2000)
    drawn = random_wrong_labels(labels, 5, generator)
    assert drawn.dtype == labels.dtype and drawn.shape == labels.shape
    assert not (drawn == labels).any()
    assert drawn.min() >= 0 and drawn.max() <= 4
    for c in range(5):  # uniform over the 4 wrong classes: 2000 draws, ~500 each
        counts = torch.bincount(drawn[labels == c], minlength=5)
        assert counts[c] == 0
        assert ((counts[torch.arange(5) != c] - 500).abs() < 100).all()


def test_random_labels_need_two_classes() -> None:
    with pytest.raises(UserError, match="2 classes"):
        random_wrong_labels(torch.zeros(3, dtype=torch.long), 1, torch.Generator())


def test_random_any_labels_are_uniform_over_all_classes() -> None:
    labels = torch.arange(5).repeat(2000)
    drawn = random_any_labels(labels, 5, torch.Generator().manual_seed(0))
    assert drawn.dtype == labels.dtype and drawn.shape == labels.shape
    for c in range(5):  # 2000 draws per true label, ~400 for each class, the true one included
        counts = torch.bincount(drawn[labels == c], minlength=5)
        assert ((counts - 400).abs() < 100).all()
    with pytest.raises(UserError, match="2 classes"):
        random_any_labels(labels, 1, torch.Generator())


def test_random_label_trains_on_wrong_labels_only(
    problem: Problem, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each step's loss sees the forget batch with wrong labels, then a remain batch with the
    true ones (the forget class is 0, so a wrong label is any other class)."""
    targets = spy_on_targets(monkeypatch)
    unlearn(problem, "random_label", epochs=1, batch_size=24)
    n = len(problem.train_forget)
    forget_sizes = [min(24, n - start) for start in range(0, n, 24)]
    assert [len(t) for t in targets] == [k + 24 for k in forget_sizes]
    for k, target in zip(forget_sizes, targets, strict=True):
        assert (target[:k] != FORGET_CLASS).all()
        assert (target[k:] != FORGET_CLASS).all()  # remain labels are true labels, never 0
    wrong = torch.cat([t[:k] for k, t in zip(forget_sizes, targets, strict=True)])
    assert set(wrong.tolist()) == {1, 2}  # both wrong classes are drawn


# --- parameters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "value"), [("momentum", 1.0), ("batch_size", 0)])
def test_bad_params_name_the_config_key(key: str, value: object) -> None:
    with pytest.raises(UserError, match=rf"random_label\.params\.{key}\b"):
        get_method("random_label").parse_params({key: value})


@pytest.mark.parametrize("name", METHODS)
def test_default_is_paired(name: str) -> None:
    assert get_method(name).parse_params({}).epoch_structure == "paired"


@pytest.mark.parametrize("name", METHODS)
def test_bad_epoch_structure_names_the_config_key(name: str) -> None:
    with pytest.raises(
        UserError, match=rf"one of paired, salun.*{name}\.params\.epoch_structure\b"
    ):
        get_method(name).parse_params({"epoch_structure": "alternating"})


# --- epoch_structure ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", METHODS)
def test_paired_is_todays_loop_bit_for_bit(problem: Problem, name: str) -> None:
    omitted = unlearn(problem, name, epochs=1)
    paired = unlearn(problem, name, epochs=1, epoch_structure="paired")
    assert same_weights(omitted, paired)


def count_steps(monkeypatch: pytest.MonkeyPatch, module: str) -> list[int]:
    """Wrap the module's optimizer factory so every ``optimizer.step()`` appends to a list."""
    steps: list[int] = []
    real = importlib.import_module(module).sgd

    def counted_sgd(*args, **kwargs) -> torch.optim.Optimizer:
        optimizer = real(*args, **kwargs)
        optimizer.register_step_post_hook(lambda *_: steps.append(1))
        return optimizer

    monkeypatch.setattr(f"{module}.sgd", counted_sgd)
    return steps


@pytest.mark.parametrize("name", METHODS)
def test_salun_structure_takes_one_step_per_forget_and_per_remain_batch(
    problem: Problem, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    size, epochs = 24, 2  # 64 forget and 128 remain samples: 3 + 6 batches an epoch
    steps = count_steps(monkeypatch, f"unlearning.methods.{name}")
    unlearn(problem, name, epochs=epochs, batch_size=size, epoch_structure="salun")
    per_epoch = math.ceil(len(problem.train_forget) / size) + math.ceil(
        len(problem.train_remain) / size
    )
    assert len(steps) == epochs * per_epoch == 18
    steps.clear()
    unlearn(problem, name, epochs=epochs, batch_size=size)  # paired: one step per forget batch
    assert len(steps) == epochs * math.ceil(len(problem.train_forget) / size)


def test_salun_structure_passes_forget_then_remain(
    problem: Problem, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each epoch: forget batches (labels drawn over all classes, the true one included), then
    remain batches with their true labels, each batch alone in its forward pass."""
    targets = spy_on_targets(monkeypatch)
    size = 24
    unlearn(problem, "random_label", epochs=2, batch_size=size, epoch_structure="salun")
    n_f, n_r = len(problem.train_forget), len(problem.train_remain)
    sizes = [min(size, n_f - s) for s in range(0, n_f, size)]
    sizes += [min(size, n_r - s) for s in range(0, n_r, size)]
    assert [len(t) for t in targets] == sizes * 2
    k = math.ceil(n_f / size)
    forget = torch.cat(targets[:k] + targets[len(sizes) : len(sizes) + k])
    remain = torch.cat(targets[k : len(sizes)] + targets[len(sizes) + k :])
    assert set(forget.tolist()) == set(range(CLASSES))  # the true label is drawn too
    assert FORGET_CLASS in forget.tolist() and FORGET_CLASS not in remain.tolist()
    assert sorted(remain.tolist()) == sorted(problem.train_remain.labels.tolist() * 2)


@pytest.mark.parametrize("name", METHODS)
def test_salun_structure_is_deterministic(problem: Problem, name: str) -> None:
    first = unlearn(problem, name, epochs=1, epoch_structure="salun")
    assert same_weights(first, unlearn(problem, name, epochs=1, epoch_structure="salun"))
    assert not same_weights(
        first, unlearn(problem, name, seed=2, epochs=1, epoch_structure="salun")
    )


@pytest.mark.parametrize("name", METHODS)
def test_salun_structure_forgets(problem: Problem, name: str) -> None:
    model = unlearn(problem, name, epoch_structure="salun")
    original = problem.original
    assert accuracy(model, problem.test_forget) < accuracy(original, problem.test_forget)
    assert accuracy(model, problem.test_forget) <= 0.5
    assert accuracy(model, problem.test_remain) > 0.6  # chance is 1/3
