"""The method-comparison figure, on the synthetic results table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import synthetic_results as sr
from figure_checks import CONDITION, check_figure, condition_rows

from unlearning.plots import methods
from unlearning.plots.common import FULL_WIDTH
from unlearning.tables.selection import best_settings


def test_methods_applies(table):
    assert methods.applies(table, sr.DATASET, CONDITION)
    assert not methods.applies(table, sr.DATASET, "no_such_condition")
    references = table[table["model_kind"] != "unlearned"]
    assert not methods.applies(references, sr.DATASET, CONDITION)


def test_methods_summary_uses_reported_settings(table):
    summary = methods.method_summary(table, sr.DATASET, CONDITION)
    assert list(summary.index) == ["original", "retrain", "compose", "finetune", "psg", "ssd"]
    best = best_settings(condition_rows(table)).set_index("method")["setting"]
    for method in ("psg", "compose", "ssd"):
        assert summary.loc[method, "setting"] == best[method]
        rows = condition_rows(table, method=method, setting=best[method])
        for column, _ in methods.METRICS:
            assert summary.loc[method, f"{column}_mean"] == pytest.approx(rows[column].mean())
            assert summary.loc[method, f"{column}_std"] == pytest.approx(rows[column].std(ddof=1))
        assert summary.loc[method, "n_seeds"] == len(sr.SEEDS)
    retrain = condition_rows(table, model_kind="retrain")
    assert summary.loc["retrain", "acc_remain_mean"] == pytest.approx(retrain["acc_remain"].mean())


def test_methods_missing_values_stay_missing(table, tmp_path):
    df = table.copy()
    df.loc[df["method"] == "ssd", "mia_efficacy"] = np.nan
    df.loc[(df["method"] == "finetune") & (df["seed"] == 2), "acc_test"] = np.nan
    summary = methods.method_summary(df, sr.DATASET, CONDITION)
    assert math.isnan(summary.loc["ssd", "mia_efficacy_mean"])
    assert summary.loc["ssd", "mia_efficacy_n"] == 0
    rows = condition_rows(table, method="finetune")
    expected = rows.loc[rows["seed"] != 2, "acc_test"].mean()
    assert summary.loc["finetune", "acc_test_mean"] == pytest.approx(expected)
    check_figure(methods.draw(df, sr.DATASET, CONDITION, tmp_path / "methods"), FULL_WIDTH)


def test_methods_draw_many_methods(table, tmp_path):
    """18 methods with long names still fit the text width, one row each."""
    finetune = table[table["method"] == "finetune"]
    extra = [finetune.assign(method=f"long_method_name_{i:02d}") for i in range(14)]
    df = pd.concat([table, *extra], ignore_index=True)
    assert len(methods.method_summary(df, sr.DATASET, CONDITION)) == 2 + 18
    check_figure(methods.draw(df, sr.DATASET, CONDITION, tmp_path / "methods"), FULL_WIDTH)
