"""The per-sample loss histograms and their saved arrays."""

from __future__ import annotations

import numpy as np
import pytest
import synthetic_results as sr
from figure_checks import check_figure

from unlearning.errors import UserError
from unlearning.plots import losses
from unlearning.plots.common import COLUMN_WIDTH


def test_load_losses_round_trip(tmp_path):
    path = tmp_path / "losses.npz"
    sr.write_losses(path, "retrain")
    arrays = losses.load_losses(path)
    expected = sr.losses("retrain")
    assert set(arrays) == {"train_forget", "test_forget", "test_remain"}
    for key, values in expected.items():
        np.testing.assert_allclose(arrays[key], values)


@pytest.mark.parametrize("problem", ["missing", "garbage", "truncated", "shape", "key"])
def test_load_losses_rejects_bad_files(tmp_path, problem):
    path = tmp_path / "losses.npz"
    if problem == "garbage":
        path.write_bytes(b"\x00garbage, not an npz archive" * 20)
    elif problem == "truncated":
        sr.write_losses(path, "original")
        path.write_bytes(path.read_bytes()[:200])
    elif problem == "shape":
        np.savez(path, **{**sr.losses("original"), "test_remain": np.zeros((4, 3))})
    elif problem == "key":
        np.savez(path, train_forget=np.ones(3), test_forget=np.ones(3))
    with pytest.raises(UserError, match="rerun the evaluation rule that writes it") as info:
        losses.load_losses(path)
    assert str(path) in str(info.value)


def test_losses_draw_with_empty_and_zero_losses(tmp_path):
    psg = {**sr.losses("psg", 2), "test_forget": np.array([], np.float32)}
    psg["train_forget"] = np.concatenate([np.zeros(10), [np.nan], psg["train_forget"]])
    panels = {
        "original": sr.losses("original"),
        "retrain": sr.losses("retrain", 1),
        "psg (gamma=0)": psg,
        "nothing": {k: np.array([]) for k in losses.GROUPS},
    }
    check_figure(
        losses.draw(panels, "toy, class 1", tmp_path / "losses"), COLUMN_WIDTH, may_grow=True
    )
