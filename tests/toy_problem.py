"""The small learnable problem the method tests unlearn class 0 from.

A few classes of 1x8x8 images, each a fixed random template plus noise, learned to full accuracy
by a narrow AllCNN in a few seconds on CPU. Everything is seeded, so each call with the same
arguments builds the same data and the same trained model.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from unlearning.data.imageset import ImageSet
from unlearning.methods import UnlearningTask
from unlearning.models.architectures import build_model

FORGET_CLASS = 0


@dataclass
class Problem:
    """A trained original model and its data, split into the forget class and the rest.

    ``validation`` is a separate held-out set where one was asked for, else ``test_remain``.
    """

    classes: int
    original: nn.Module
    train_forget: ImageSet
    train_remain: ImageSet
    validation: ImageSet
    test_forget: ImageSet
    test_remain: ImageSet


def make_images(templates: np.ndarray, per_class: int, rng: np.random.Generator) -> ImageSet:
    """``per_class`` noisy copies of each template, labelled by template index."""
    labels = np.repeat(np.arange(len(templates)), per_class)
    pixels = 0.6 * templates[labels] + rng.uniform(0.0, 0.4, (len(labels), 1, 8, 8))
    return ImageSet.from_numpy(np.round(pixels * 255).astype(np.uint8), labels)


def split(data: ImageSet) -> tuple[ImageSet, ImageSet]:
    """(forget class, every other class)."""
    forget = data.labels == FORGET_CLASS
    return data.subset(torch.where(forget)[0]), data.subset(torch.where(~forget)[0])


def accuracy(model: nn.Module, data: ImageSet) -> float:
    model.eval()
    with torch.inference_mode():
        x, y = next(data.batches(len(data)))
        return (model(x).argmax(dim=1) == y).float().mean().item()


def new_model(classes: int) -> nn.Module:
    return build_model("allcnn", classes, 1, 8, [0.5], [0.25], width_factor=0.1)


def build_problem(classes: int, validation_per_class: int = 0) -> Problem:
    """Draw 64 training and 32 test images per class and train the original on them.

    With ``validation_per_class``, a validation set of that many images per class is drawn
    between the training and the test images.
    """
    rng = np.random.default_rng(0)
    templates = rng.uniform(0.0, 1.0, (classes, 1, 8, 8))
    train = make_images(templates, 64, rng)
    validation = make_images(templates, validation_per_class, rng) if validation_per_class else None
    test = make_images(templates, 32, rng)
    torch.manual_seed(0)
    model = new_model(classes)
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
    train_forget, train_remain = split(train)
    test_forget, test_remain = split(test)
    return Problem(
        classes=classes,
        original=model,
        train_forget=train_forget,
        train_remain=train_remain,
        validation=test_remain if validation is None else validation,
        test_forget=test_forget,
        test_remain=test_remain,
    )


def make_task(problem: Problem, seed: int = 1) -> UnlearningTask:
    """An unlearning task on a trainable copy of the original, on CPU, without progress bars."""
    return UnlearningTask(
        model=copy.deepcopy(problem.original).requires_grad_(True),
        original=problem.original,
        forget=problem.train_forget,
        remain=problem.train_remain,
        validation=problem.validation,
        num_classes=problem.classes,
        device=torch.device("cpu"),
        generator=torch.Generator().manual_seed(seed),
        progress=False,
    )
