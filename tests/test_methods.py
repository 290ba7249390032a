"""Every method forgets class 0 of a small learnable problem and keeps the other classes.

The problem: four classes of 1x8x8 images, each a fixed random template plus noise, learned to
full accuracy by a narrow AllCNN in a few seconds. Hyperparameters are test-sized (larger steps,
fewer epochs) so the whole file runs in seconds on two CPU cores.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from unlearning.data.imageset import ImageSet
from unlearning.methods import UnlearningTask, available_methods, get_method
from unlearning.models.architectures import build_model

CLASSES = 4
FORGET_CLASS = 0


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny tensors run fastest on one thread, and a busy machine does not thrash them."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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


@dataclass
class Problem:
    original: nn.Module
    train_forget: ImageSet
    train_remain: ImageSet
    test_forget: ImageSet
    test_remain: ImageSet


def make_images(templates: np.ndarray, per_class: int, rng: np.random.Generator) -> ImageSet:
    labels = np.repeat(np.arange(CLASSES), per_class)
    pixels = 0.6 * templates[labels] + rng.uniform(0.0, 0.4, (len(labels), 1, 8, 8))
    return ImageSet.from_numpy(np.round(pixels * 255).astype(np.uint8), labels)


def split(data: ImageSet) -> tuple[ImageSet, ImageSet]:
    forget = data.labels == FORGET_CLASS
    return data.subset(torch.where(forget)[0]), data.subset(torch.where(~forget)[0])


def accuracy(model: nn.Module, data: ImageSet) -> float:
    model.eval()
    with torch.inference_mode():
        x, y = next(data.batches(len(data)))
        return (model(x).argmax(dim=1) == y).float().mean().item()


@pytest.fixture(scope="module")
def problem() -> Problem:
    rng = np.random.default_rng(0)
    templates = rng.uniform(0.0, 1.0, (CLASSES, 1, 8, 8))
    train, test = make_images(templates, 64, rng), make_images(templates, 32, rng)
    torch.manual_seed(0)
    model = build_model("allcnn", CLASSES, 1, 8, [0.5], [0.25], width_factor=0.1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    generator = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(8):
        for x, y in train.batches(32, shuffle=True, generator=generator):
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    model.eval().requires_grad_(False)
    return Problem(model, *split(train), *split(test))


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
    task = UnlearningTask(
        model=copy.deepcopy(original).requires_grad_(True),
        original=original,
        forget=problem.train_forget,
        remain=problem.train_remain,
        validation=problem.test_remain,
        num_classes=CLASSES,
        device=torch.device("cpu"),
        generator=torch.Generator().manual_seed(1),
        progress=False,
    )
    model = method.run(task, method.parse_params(SETTINGS[name]))

    assert accuracy(model, problem.test_forget) < accuracy(original, problem.test_forget)
    assert accuracy(model, problem.test_remain) > 0.5  # chance is 0.25
    after = original.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not original.training
    assert all(p.grad is None and not p.requires_grad for p in original.parameters())
