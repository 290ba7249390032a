"""SalUn on the toy problem of ``toy_problem.py`` (class 0 forgotten): the saliency mask, and
updates that move only the masked weights. SalUn's ``epoch_structure`` (random_label's loop) is
tested in ``test_random_label.py``."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from toy_problem import Problem, build_problem, make_task

from unlearning.errors import UserError
from unlearning.methods import get_method
from unlearning.methods.salun import saliency_mask

CLASSES = 3
SETTING = {"lr": 0.05, "epochs": 3, "batch_size": 32, "mask_fraction": 0.5}

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def problem() -> Problem:
    return build_problem(CLASSES)


def unlearn(problem: Problem, name: str, **overrides) -> nn.Module:
    method = get_method(name)
    return method.run(make_task(problem), method.parse_params(SETTING | overrides))


def assert_only_masked_weights_moved(problem: Problem, model: nn.Module) -> None:
    """The unmasked weights are bit-identical to the original's; most masked ones moved."""
    params = get_method("salun").parse_params(SETTING)
    assert params.weight_decay > 0 and params.momentum > 0  # the hard case for masking
    mask = saliency_mask(
        copy.deepcopy(problem.original), problem.train_forget, 0.5, torch.device("cpu"), 32
    )
    before = dict(problem.original.named_parameters())
    after = dict(model.named_parameters())
    moved = 0
    for name, m in mask.items():
        assert torch.equal(after[name][~m], before[name][~m]), name
        moved += int((after[name][m] != before[name][m]).sum())
    assert moved > 0.9 * sum(int(m.sum()) for m in mask.values())


@pytest.mark.parametrize("fraction", [0.1, 0.5, 1.0])
def test_saliency_mask_keeps_the_configured_fraction(problem: Problem, fraction: float) -> None:
    model = copy.deepcopy(problem.original)
    mask = saliency_mask(model, problem.train_forget, fraction, torch.device("cpu"), 32)
    names = [n for n, _ in model.named_parameters()]
    assert list(mask) == names
    total = sum(m.numel() for m in mask.values())
    kept = sum(int(m.sum()) for m in mask.values())
    assert abs(kept - fraction * total) <= 0.5
    assert all(m.dtype == torch.bool for m in mask.values())
    # the mode and flags of the model are left as they were, and no gradient is stored
    assert not model.training
    assert all(not p.requires_grad and p.grad is None for p in model.parameters())


def test_saliency_mask_picks_the_largest_forget_gradients(problem: Problem) -> None:
    model = copy.deepcopy(problem.original).requires_grad_(True).train()
    mask = saliency_mask(model, problem.train_forget, 0.3, torch.device("cpu"), 16)
    assert model.training  # restored
    model.eval()
    x, y = next(problem.train_forget.batches(len(problem.train_forget)))
    F.cross_entropy(model(x), y, reduction="sum").backward()
    grads = {n: p.grad.abs() for n, p in model.named_parameters()}
    inside = torch.cat([grads[n][mask[n]] for n in grads])
    outside = torch.cat([grads[n][~mask[n]] for n in grads])
    assert inside.min() >= outside.max() * (1 - 1e-4)  # float sums differ by batch split
    assert all(p.requires_grad for p in model.parameters())


def test_salun_changes_only_masked_weights(problem: Problem) -> None:
    assert_only_masked_weights_moved(problem, unlearn(problem, "salun"))


def test_salun_structure_keeps_unmasked_weights_bit_identical(problem: Problem) -> None:
    model = unlearn(problem, "salun", epochs=2, epoch_structure="salun")
    assert_only_masked_weights_moved(problem, model)
    assert all(p.requires_grad for p in model.parameters())


def test_salun_with_a_full_mask_is_random_label(problem: Problem) -> None:
    full = unlearn(problem, "salun", mask_fraction=1.0, epochs=1)
    method = get_method("random_label")
    setting = {"epochs": 1, "batch_size": 32, "lr": SETTING["lr"]}
    plain = method.run(make_task(problem), method.parse_params(setting))
    a, b = full.state_dict(), plain.state_dict()
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-6) for k in a)


@pytest.mark.parametrize(
    ("key", "value"),
    [("mask_fraction", 0.0), ("mask_fraction", 1.5), ("weight_decay", -1e-4)],
)
def test_bad_params_name_the_config_key(key: str, value: object) -> None:
    with pytest.raises(UserError, match=rf"salun\.params\.{key}\b"):
        get_method("salun").parse_params({key: value})
