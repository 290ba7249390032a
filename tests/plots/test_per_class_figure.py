"""The per-class accuracy figure, on the synthetic results table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import synthetic_results as sr
from figure_checks import CONDITION, check_figure, condition_rows

from unlearning.errors import UserError
from unlearning.plots import per_class
from unlearning.plots.common import FULL_WIDTH
from unlearning.tables.selection import best_settings


def test_per_class_columns_sort_numerically():
    df = pd.DataFrame(columns=["acc_class_10", "acc_class_2", "acc_class_0", "acc_classic"])
    assert list(per_class.class_columns(df)) == [0, 2, 10]


def test_per_class_applies(table):
    assert per_class.applies(table, sr.DATASET, CONDITION)
    assert not per_class.applies(table, sr.DATASET, "no_such_condition")
    no_classes = table.drop(columns=[c for c in table.columns if c.startswith("acc_class_")])
    assert not per_class.applies(no_classes, sr.DATASET, CONDITION)
    empty = table.copy()
    empty[[f"acc_class_{c}" for c in range(sr.NUM_CLASSES)]] = np.nan
    assert not per_class.applies(empty, sr.DATASET, CONDITION)


def test_per_class_matrix(table):
    df = table.copy()
    df.loc[df["method"] == "ssd", "acc_class_3"] = np.nan
    matrix = per_class.class_matrix(df, sr.DATASET, CONDITION)
    assert list(matrix.index) == ["original", "retrain", "compose", "finetune", "psg", "ssd"]
    assert list(matrix.columns) == list(range(sr.NUM_CLASSES))
    best = best_settings(condition_rows(table)).set_index("method")["setting"]
    rows = condition_rows(table, method="psg", setting=best["psg"])
    assert matrix.loc["psg", 1] == pytest.approx(rows["acc_class_1"].mean())
    assert matrix.loc["retrain", 1] == pytest.approx(0.0)  # a real zero stays a zero
    assert math.isnan(matrix.loc["ssd", 3])


def test_per_class_draw(table, tmp_path):
    names = ["cat", "dog", "bird", "horse"]
    paths = per_class.draw(table, sr.DATASET, CONDITION, tmp_path / "pc", class_names=names)
    # Row labels name the chosen setting ("psg (gamma=0_lambda=0.1)"): too long for a column.
    check_figure(paths, FULL_WIDTH)
    with pytest.raises(UserError, match="class_names"):
        per_class.draw(table, sr.DATASET, CONDITION, tmp_path / "bad", class_names=names[:2])


# Datasets with different numbers of classes sharing one metrics table.

WIDE_CLASSES = 10


@pytest.fixture(scope="module")
def mixed() -> pd.DataFrame:
    """The 4-class synthetic table and a 10-class copy of it, as aggregate_metrics unions them:
    the 4-class rows are empty under acc_class_4 to acc_class_9."""
    toy = sr.metrics_table()
    wide = toy.assign(dataset="wide")
    for c in range(sr.NUM_CLASSES, WIDE_CLASSES):
        wide[f"acc_class_{c}"] = 0.5 + c / 100
    return pd.concat([toy, wide], ignore_index=True)


def test_each_dataset_keeps_its_own_classes(mixed):
    assert list(per_class.class_columns(mixed)) == list(range(WIDE_CLASSES))
    assert list(per_class.class_columns(mixed, sr.DATASET)) == [0, 1, 2, 3]
    assert list(per_class.class_matrix(mixed, sr.DATASET, CONDITION).columns) == [0, 1, 2, 3]
    assert list(per_class.class_matrix(mixed, "wide", CONDITION).columns) == list(range(10))


def test_both_figures_draw_with_their_own_class_names(mixed, tmp_path):
    names = ["a", "b", "c", "d"]
    assert per_class.draw(mixed, sr.DATASET, CONDITION, tmp_path / "toy", class_names=names)
    wide_names = [f"class {c}" for c in range(WIDE_CLASSES)]
    assert per_class.draw(mixed, "wide", CONDITION, tmp_path / "wide", class_names=wide_names)
    with pytest.raises(UserError, match="for dataset 'wide'; pass one name per class index"):
        per_class.draw(mixed, "wide", CONDITION, tmp_path / "bad", class_names=names)
