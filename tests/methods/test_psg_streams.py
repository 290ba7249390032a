"""psg's draw_every_iteration: z and a remain batch drawn at every iteration, used or not, as the
reference code does, so settings that differ only in gamma or phi see the same forget batches."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from unlearning.data.imageset import ImageSet
from unlearning.methods import UnlearningTask, get_method, psg
from unlearning.models.architectures import build_model


def _model() -> nn.Module:
    torch.manual_seed(0)
    return build_model("allcnn", 4, 1, 8, [0.5], [0.25], width_factor=0.1).eval()


def _task(model: nn.Module) -> UnlearningTask:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (40, 1, 8, 8), generator=g, dtype=torch.uint8)
    data = ImageSet(images, torch.arange(40) % 4)
    return UnlearningTask(
        model=copy.deepcopy(model),
        original=model,
        forget=data.subset(list(range(10))),
        remain=data.subset(list(range(10, 40))),
        validation=data.subset(list(range(10, 40))),
        num_classes=4,
        device=torch.device("cpu"),
        generator=torch.Generator().manual_seed(1),
        progress=False,
    )


def forget_batches(monkeypatch, **params) -> list[torch.Tensor]:
    """The forget batches one psg run sees, in order."""
    seen = []
    search = psg.search_targets

    def recording(task, p, x, y, iteration, total):
        seen.append(x.clone())
        return search(task, p, x, y, iteration, total)

    monkeypatch.setattr(psg, "search_targets", recording)
    method = get_method("psg")
    settings = {"lr": 1e-3, "epochs": 3, "batch_size": 4, "augment": "flip", **params}
    method.run(_task(_model()), method.parse_params(settings))
    monkeypatch.undo()
    return seen


def same(first: list[torch.Tensor], second: list[torch.Tensor]) -> bool:
    return len(first) == len(second) and all(
        torch.equal(a, b) for a, b in zip(first, second, strict=True)
    )


@pytest.mark.parametrize("formulation", ["reference", "pixel"])
def test_gamma_zero_and_gamma_positive_see_the_same_batches(monkeypatch, formulation):
    on = {"formulation": formulation, "draw_every_iteration": True}
    assert same(
        forget_batches(monkeypatch, **on, gamma=0.0),
        forget_batches(monkeypatch, **on, gamma=0.1),
    )
    # without it, gamma = 0 draws no z, so its later epochs are shuffled differently
    off = {"formulation": formulation}
    assert not same(
        forget_batches(monkeypatch, **off, gamma=0.0),
        forget_batches(monkeypatch, **off, gamma=0.1),
    )


def test_phi_zero_and_phi_positive_see_the_same_batches(monkeypatch):
    on = {"formulation": "reference", "draw_every_iteration": True, "gamma": 0.0}
    assert same(
        forget_batches(monkeypatch, **on, phi=0.0),
        forget_batches(monkeypatch, **on, phi=0.5, targets="soft", remain_distill=True),
    )
    off = {"formulation": "reference", "gamma": 0.0}
    assert not same(
        forget_batches(monkeypatch, **off, phi=0.0), forget_batches(monkeypatch, **off, phi=0.5)
    )


def test_the_default_is_unchanged_and_the_flag_a_distinct_computation():
    parse = get_method("psg").parse_params
    assert parse({}).draw_every_iteration is False
    assert (
        parse({"gamma": 0}).computation()
        != parse({"gamma": 0, "draw_every_iteration": True}).computation()
    )
    # with noise and a remain term both drawn anyway, the flag changes nothing
    both = {"gamma": 0.1, "phi": 0.5}
    assert parse(both).computation() == parse({**both, "draw_every_iteration": True}).computation()
    # z's law decides the draws even at gamma = 0 when z is drawn
    drawn = {"gamma": 0, "draw_every_iteration": True}
    assert parse(drawn).computation() != parse({**drawn, "noise": "laplace"}).computation()
