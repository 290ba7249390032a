"""The λ×γ heatmaps of the highlighted method's grid, on the synthetic results table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import synthetic_results as sr
from figure_checks import CONDITION, check_figure, condition_rows

from unlearning.errors import UserError
from unlearning.plots import lambda_gamma
from unlearning.plots.common import FULL_WIDTH


def test_lambda_gamma_applies(table):
    assert lambda_gamma.applies(table, sr.DATASET, CONDITION)
    assert not lambda_gamma.applies(table, sr.DATASET, "no_such_condition")
    assert not lambda_gamma.applies(table, "no_such_dataset", CONDITION)
    one_setting = table[(table["method"] != "psg") | (table["setting"] == "default")]
    assert not lambda_gamma.applies(one_setting, sr.DATASET, CONDITION)
    no_hyperparameters = table.drop(columns=[c for c in table.columns if c.startswith("hp_")])
    assert not lambda_gamma.applies(no_hyperparameters, sr.DATASET, CONDITION)


def test_lambda_gamma_grid_is_the_mean_over_seeds(table):
    tables = lambda_gamma.grid(table, sr.DATASET, CONDITION)
    assert set(tables) == {"acc_remain", "acc_forget", "distance"}
    for name, part in tables.items():
        assert list(part.index) == list(sr.PSG_LAMBDAS), name
        assert list(part.columns) == list(sr.PSG_GAMMAS), name
    rows = condition_rows(table, method="psg", hp_lambda=0.1, hp_gamma=0.01)
    assert len(rows) == len(sr.SEEDS)
    for name in tables:
        assert tables[name].loc[0.1, 0.01] == pytest.approx(rows[name].mean())


def test_lambda_gamma_missing_values_stay_missing(table):
    df = table.copy()
    psg = (df["method"] == "psg") & (df["condition"] == CONDITION)
    cell = psg & (df["hp_lambda"] == 0.0) & (df["hp_gamma"] == 0.0)
    df.loc[cell, "distance"] = np.nan
    df.loc[cell & (df["seed"] == 0), "acc_forget"] = np.nan
    tables = lambda_gamma.grid(df, sr.DATASET, CONDITION)
    assert math.isnan(tables["distance"].loc[0.0, 0.0])
    rest = condition_rows(table, method="psg", hp_lambda=0.0, hp_gamma=0.0)
    assert tables["acc_forget"].loc[0.0, 0.0] == pytest.approx(
        rest.loc[rest["seed"] != 0, "acc_forget"].mean()
    )


def test_lambda_gamma_draws_one_figure_per_formulation(table, tmp_path):
    """The reference formulation's grid is a figure of its own, never averaged with pixel's."""
    from unlearning.plots.figures import _lambda_gamma_figures

    psg = table[table["method"] == "psg"]
    ref = psg.assign(
        hp_formulation="reference", setting="formulation=reference_" + psg["setting"],
        acc_remain=0.2,
    )  # fmt: skip
    df = pd.concat([table.assign(hp_formulation="pixel"), ref], ignore_index=True)
    assert lambda_gamma.formulations(df, sr.DATASET, CONDITION) == ["pixel", "reference"]
    pixel = lambda_gamma.grid(df, sr.DATASET, CONDITION, "pixel")["acc_remain"]
    assert lambda_gamma.grid(table, sr.DATASET, CONDITION)["acc_remain"].equals(pixel)
    reference = lambda_gamma.grid(df, sr.DATASET, CONDITION, "reference")["acc_remain"]
    assert np.allclose(reference.to_numpy(), 0.2)
    drawn = _lambda_gamma_figures(df, sr.DATASET, CONDITION, tmp_path)
    assert sorted(p.name for p in drawn if p.suffix == ".png") == [
        "lambda_gamma_pixel.png",
        "lambda_gamma_reference.png",
    ]


def test_lambda_gamma_keeps_one_setting_per_cell(table):
    """A second grid at another step count must not be averaged into the default's grid."""
    psg = table[table["method"] == "psg"]
    other = psg.assign(hp_steps=5, setting=psg["setting"] + "_steps=5", acc_remain=0.1)
    df = pd.concat([table, other], ignore_index=True)
    tables = lambda_gamma.grid(df, sr.DATASET, CONDITION)
    expected = lambda_gamma.grid(table, sr.DATASET, CONDITION)
    pd.testing.assert_frame_equal(tables["acc_remain"], expected["acc_remain"])
    assert lambda_gamma.psg_slice(df, sr.DATASET, CONDITION)[1] == {"hp_steps": 2}

    # Without a grid around the default, the largest grid sharing other values is shown.
    lonely = pd.concat([psg[psg["setting"] == "default"], other], ignore_index=True)
    rows, fixed = lambda_gamma.psg_slice(lonely, sr.DATASET, CONDITION)
    assert fixed == {"hp_steps": 5}
    assert (rows["hp_steps"] == 5).all()
    assert lambda_gamma.applies(lonely, sr.DATASET, CONDITION)


def test_lambda_gamma_draw(table, tmp_path):
    df = table.copy()
    df.loc[(df["method"] == "psg") & (df["hp_gamma"] == 0.01), "distance"] = np.nan
    paths = lambda_gamma.draw(df, sr.DATASET, CONDITION, tmp_path / "lambda_gamma")
    check_figure(paths, FULL_WIDTH)
    with pytest.raises(UserError, match="λ×γ"):
        lambda_gamma.draw(table, sr.DATASET, "no_such_condition", tmp_path / "none")
