"""The model-composition figure, on the synthetic results table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import synthetic_results as sr
from figure_checks import CONDITION, check_figure, condition_rows

from unlearning.errors import UserError
from unlearning.plots import composition
from unlearning.plots.common import COLUMN_WIDTH


def test_composition_applies(table):
    assert composition.applies(table, sr.DATASET, CONDITION)
    assert not composition.applies(table, sr.DATASET, "no_such_condition")
    assert not composition.applies(table[table["method"] != "compose"], sr.DATASET, CONDITION)
    one_epoch = table[(table["method"] != "compose") | (table["hp_epochs"] == 2)]
    assert not composition.applies(one_epoch, sr.DATASET, CONDITION)
    no_hyperparameters = table.drop(columns=[c for c in table.columns if c.startswith("hp_")])
    assert not composition.applies(no_hyperparameters, sr.DATASET, CONDITION)


def test_composition_series_is_the_mean_over_seeds(table):
    df = table.copy()
    df.loc[(df["method"] == "compose") & (df["hp_epochs"] == 1), "acc_forget"] = np.nan
    series = composition.epoch_series(df, sr.DATASET, CONDITION)
    assert list(series["epochs"]) == list(sr.COMPOSE_EPOCHS)
    assert set(series["variant"]) == {"head_from=psg/default"}  # one series, named
    by_epoch = series.set_index("epochs")
    rows = condition_rows(table, method="compose", hp_epochs=4)
    assert by_epoch.loc[4, "acc_forget_mean"] == pytest.approx(rows["acc_forget"].mean())
    assert by_epoch.loc[4, "acc_remain_std"] == pytest.approx(rows["acc_remain"].std(ddof=1))
    assert math.isnan(by_epoch.loc[1, "acc_forget_mean"])
    assert by_epoch.loc[1, "acc_forget_n"] == 0


def test_composition_one_line_per_variant(table, tmp_path):
    compose = table[table["method"] == "compose"]
    other = compose.assign(hp_head_from="scrub/default", acc_forget=compose["acc_forget"] + 0.2)
    df = pd.concat([table, other], ignore_index=True)
    series = composition.epoch_series(df, sr.DATASET, CONDITION)
    assert set(series["variant"]) == {"head_from=psg/default", "head_from=scrub/default"}
    scrub = series[series["variant"] == "head_from=scrub/default"].set_index("epochs")
    rows = condition_rows(other, hp_epochs=0)
    assert scrub.loc[0, "acc_forget_mean"] == pytest.approx(rows["acc_forget"].mean())
    paths = composition.draw(df, sr.DATASET, CONDITION, tmp_path / "composition")
    check_figure(paths, COLUMN_WIDTH)
    with pytest.raises(UserError, match="compose"):
        composition.draw(table, sr.DATASET, "no_such_condition", tmp_path / "none")
