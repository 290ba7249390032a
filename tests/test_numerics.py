"""Non-finite numbers: a diverging step stops naming itself, and no result file holds NaN.

A loss that became NaN trains all-NaN weights whose predictions are all one class, which some
metrics then read as a perfect result; these tests pin that such a run stops instead.
"""

from __future__ import annotations

import json
import logging
import math

import pytest
import torch
from test_training import _toy
from toy_problem import build_problem, make_task

from unlearning.atomic import finite_json, write_json
from unlearning.errors import UserError
from unlearning.methods import get_method
from unlearning.models import build_model
from unlearning.progress import NonFiniteLoss, ProgressBar, progress_bar, show_step
from unlearning.steps.data import make_split, prepare_data
from unlearning.steps.train import train
from unlearning.steps.unlearn import MethodSetting, unlearn
from unlearning.training import TrainConfig, train_classifier

pytestmark = pytest.mark.usefixtures("one_thread")
NAN = float("nan")

#: A digits entry as the schema completes it (the steps take no defaults of their own).
DIGITS = {
    "source": "sklearn_digits",
    "image_size": 8,
    "val_fraction": 0.1,
    "test_fraction": 0.2,
    "split_seed": 0,
}


def _loop(losses_per_epoch, enabled, total=None):
    steps_total = sum(len(e) for e in losses_per_epoch) if total is None else total
    with progress_bar(steps_total, "neggrad", enabled=enabled) as bar:
        for epoch, losses in enumerate(losses_per_epoch):
            for value in losses:
                show_step(bar, epoch, torch.tensor(value), len(losses_per_epoch))


@pytest.mark.parametrize("enabled", [False, True])
def test_a_nan_loss_stops_the_loop_naming_the_step_and_epoch(enabled):
    with pytest.raises(NonFiniteLoss, match=r"neggrad loss became non-finite .* epoch 2 of 3"):
        _loop([[1.0, 0.9], [0.8, NAN], [0.7, 0.6]], enabled)


@pytest.mark.parametrize("total", [None, 100])  # exact, and a bar whose total is too large
def test_a_nan_in_the_last_step_is_caught(total):
    with pytest.raises(NonFiniteLoss, match="epoch 2 of 2"):
        _loop([[1.0], [0.5, float("inf")]], enabled=False, total=total)


def test_a_float_loss_is_checked_at_once():
    with progress_bar(10, "ssd", enabled=False) as bar:
        show_step(bar, 0, 1.0)
        with pytest.raises(NonFiniteLoss, match="ssd loss .* epoch 1"):
            show_step(bar, 0, NAN)


def test_finite_losses_are_read_once_per_epoch_not_per_step(monkeypatch):
    """Reading a CUDA flag is a sync: it must happen per epoch (and at the end), not per step."""
    calls = []
    original = ProgressBar.check
    monkeypatch.setattr(ProgressBar, "check", lambda self: calls.append(1) or original(self))
    _loop([[1.0] * 20] * 3, enabled=False)
    assert len(calls) <= 3 + 2


def test_training_that_diverges_stops_naming_the_epoch():
    torch.manual_seed(0)
    model = build_model("allcnn", 3, 1, 8, [0.3], [0.3], width_factor=0.1)
    with pytest.raises(NonFiniteLoss, match=r"original loss became non-finite .* epoch 1 of 3"):
        train_classifier(
            model,
            _toy(),
            TrainConfig(epochs=3, batch_size=16, lr=1e6),
            device=torch.device("cpu"),
            generator=torch.Generator().manual_seed(0),
            progress=False,
            description="original",
        )


@pytest.mark.parametrize("name", ["finetune", "neggrad", "grad_ascent", "salun"])
def test_unlearning_that_diverges_stops_naming_the_method(name):
    method = get_method(name)
    params = method.parse_params({"lr": 1e12, "epochs": 2})
    with pytest.raises(NonFiniteLoss, match=rf"{name} loss became non-finite .* epoch \d"):
        method.run(make_task(build_problem(3)), params)


# --- the steps name the dataset or setting, and write nothing -----------------------------------


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data") / "digits"
    prepare_data("digits", DIGITS, folder)
    split = folder.parent / "split.json"
    make_split(folder, "class_1", {"kind": "class", "class": 1}, 0, split)
    return folder, split


MODEL = {"architecture": "allcnn", "width_factor": 0.125, "dropout": 0.0}


def test_the_train_step_names_the_dataset_and_setting(digits, tmp_path):
    folder, _ = digits
    out = tmp_path / "original"
    with pytest.raises(UserError) as caught:
        train(
            folder,
            None,
            MODEL,
            {"epochs": 2, "lr": 1e6},
            0,
            "cpu",
            out / "model.pt",
            out / "run.json",
            progress=False,
        )
    message = str(caught.value)
    assert message.startswith("Training the original model of dataset digits diverged: ")
    assert "epoch 1 of 2" in message and message.endswith("lower datasets.digits.train.lr.")
    assert not out.exists() or not list(out.iterdir())


def test_the_unlearn_step_names_the_setting(digits, tmp_path):
    folder, split = digits
    original = tmp_path / "original"
    train(
        folder,
        None,
        MODEL,
        {"epochs": 1},
        0,
        "cpu",
        original / "model.pt",
        original / "run.json",
        progress=False,
    )
    out = tmp_path / "finetune"
    with pytest.raises(UserError) as caught:
        unlearn(
            folder,
            split,
            original / "model.pt",
            MethodSetting("finetune", "lr=1e12", {"lr": 1e12, "epochs": 2}),
            0,
            "cpu",
            out / "model.pt",
            out / "run.json",
            progress=False,
        )
    message = str(caught.value)
    assert message.startswith("Unlearning finetune/lr=1e12 diverged: the finetune loss became")
    assert "setting 'lr=1e12' of method finetune" in message
    assert not out.exists() or not list(out.iterdir())


# --- JSON ----------------------------------------------------------------------------------------


def test_non_finite_floats_become_null_and_are_named(tmp_path, caplog):
    path = tmp_path / "metrics.json"
    with caplog.at_level(logging.WARNING, logger="unlearning"):
        write_json(path, {"a": NAN, "b": [1.0, float("inf")], "c": {"d": -math.inf}, "e": 0.5})

    def refuse(token):
        raise AssertionError(f"non-standard JSON token {token}")

    assert json.loads(path.read_text(), parse_constant=refuse) == {
        "a": None,
        "b": [1.0, None],
        "c": {"d": None},
        "e": 0.5,
    }
    assert "a, b[1], c.d" in caplog.text and str(path) in caplog.text


def test_finite_json_leaves_other_values_alone():
    value = {"n": 1, "s": "nan", "t": True, "x": None, "f": 0.25, "l": (1, 2.5)}
    assert finite_json(value) == ({**value, "l": [1, 2.5]}, [])
