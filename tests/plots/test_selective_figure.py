"""The selective-unlearning figure, on the synthetic results table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import synthetic_results as sr
from figure_checks import check_figure

from unlearning.errors import UserError
from unlearning.plots import selective
from unlearning.plots.common import COLUMN_WIDTH, FULL_WIDTH
from unlearning.tables.selection import best_settings


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """The synthetic table in memory (not read back from CSV)."""
    return sr.metrics_table()


def test_series_finds_the_fraction_class(table):
    assert selective.series(table, sr.DATASET) == [1]
    assert selective.series(table, "other") == []


def test_series_needs_two_fractions(table):
    one = table[table["condition"].isin(["class_1", "class_1_frac25"])]
    assert selective.series(one, sr.DATASET) == [1]
    only_class = table[table["condition"] == "class_1"]
    assert selective.series(only_class, sr.DATASET) == []
    only_fraction = table[table["condition"] == "class_1_frac50"]
    assert selective.series(only_fraction, sr.DATASET) == []


def test_points_are_seed_means_of_the_reported_setting(table):
    data = selective.points(table, sr.DATASET, 1)
    assert list(data.columns[:5]) == ["model", "fraction", "metric", "mean", "std"]
    assert sorted(data["fraction"].unique()) == [0.25, 0.5, 1.0]
    assert {"original", "retrain", "psg", "finetune", "ssd", "compose"} == set(data["model"])

    best = best_settings(table)
    chosen = best[(best["condition"] == "class_1_frac50") & (best["method"] == "psg")]
    setting = chosen["setting"].item()
    rows = table[
        (table["condition"] == "class_1_frac50")
        & (table["method"] == "psg")
        & (table["setting"] == setting)
    ]
    point = data[(data["model"] == "psg") & (data["fraction"] == 0.5)]
    point = point[point["metric"] == "acc_forget"].iloc[0]
    assert point["mean"] == pytest.approx(rows["acc_forget"].mean())
    assert point["std"] == pytest.approx(rows["acc_forget"].std(ddof=1))
    assert point["n"] == len(sr.SEEDS)

    # The class condition is the 100% point.
    retrain = data[(data["model"] == "retrain") & (data["metric"] == "acc_forget")]
    full = table[(table["condition"] == "class_1") & (table["model_kind"] == "retrain")]
    assert retrain.set_index("fraction").loc[1.0, "mean"] == pytest.approx(
        full["acc_forget"].mean()
    )


def test_points_keep_missing_values_missing(table, tmp_path):
    df = table.copy()
    finetune_25 = (df["method"] == "finetune") & (df["condition"] == "class_1_frac25")
    df.loc[finetune_25, "acc_test"] = np.nan
    df.loc[finetune_25 & (df["seed"] == 0), "mia_efficacy"] = np.nan
    data = selective.points(df, sr.DATASET, 1).set_index(["model", "fraction", "metric"])
    missing = data.loc[("finetune", 0.25, "acc_test")]
    assert np.isnan(missing["mean"]) and missing["n"] == 0
    partial = data.loc[("finetune", 0.25, "mia_efficacy")]
    expected = df.loc[finetune_25 & (df["seed"] != 0), "mia_efficacy"].mean()
    assert partial["mean"] == pytest.approx(expected) and partial["n"] == 2
    check_figure(selective.draw(df, sr.DATASET, 1, tmp_path / "gaps"), COLUMN_WIDTH, may_grow=True)


def test_selective_draw(table, tmp_path):
    paths = selective.draw(table, sr.DATASET, 1, tmp_path / "figs" / "selective_toy_1")
    assert paths == [tmp_path / "figs" / f"selective_toy_1.{s}" for s in ("png", "pdf")]
    check_figure(paths, COLUMN_WIDTH, may_grow=True)


def test_selective_draw_many_methods(table, tmp_path):
    finetune = table[table["method"] == "finetune"]
    names = [f"method_{i:02d}" for i in range(16)]
    clones = [
        finetune.assign(method=name, acc_forget=finetune["acc_forget"] * (i + 1) / 16)
        for i, name in enumerate(names)
    ]
    df = pd.concat([table[table["model_kind"] != "unlearned"], *clones], ignore_index=True)
    check_figure(selective.draw(df, sr.DATASET, 1, tmp_path / "many"), FULL_WIDTH, may_grow=True)


def test_selective_draw_without_series_is_a_user_error(table, tmp_path):
    with pytest.raises(UserError, match="class 3"):
        selective.draw(table, sr.DATASET, 3, tmp_path / "none")
