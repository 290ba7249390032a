"""The λ×γ, method, per-class and composition figures, on the synthetic results table.

Each figure's numbers come from a small pure function, checked here against the CSV, so a figure
can only be as wrong as its drawing code; the drawings are checked for readable files and size.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import synthetic_results as sr
from PIL import Image

from unlearning.errors import UserError
from unlearning.plots import composition, lambda_gamma, methods, per_class
from unlearning.plots.common import COLUMN_WIDTH, DPI, FULL_WIDTH
from unlearning.tables import read_metrics_csv
from unlearning.tables.selection import best_settings

CONDITION = "class_1"


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> pd.DataFrame:
    """The synthetic table as the figure rules read it: written to CSV and read back."""
    path = tmp_path_factory.mktemp("metrics") / "metrics.csv"
    sr.write_metrics_csv(path)
    return read_metrics_csv(path)


def _rows(df: pd.DataFrame, condition: str = CONDITION, **equal) -> pd.DataFrame:
    rows = df[(df["dataset"] == sr.DATASET) & (df["condition"] == condition)]
    for column, value in equal.items():
        rows = rows[rows[column] == value]
    return rows


def _check_files(paths: list[Path], width_inches: float) -> None:
    png, pdf = paths
    assert (png.suffix, pdf.suffix) == (".png", ".pdf")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pdf.read_bytes()[:4] == b"%PDF"
    for path in paths:
        assert 5_000 < path.stat().st_size < 2_000_000, path
    with Image.open(png) as image:
        width, height = image.size
    # Printed at this width, text keeps its size only if the tight bbox did not grow the figure.
    assert 0.8 * width_inches * DPI < width <= width_inches * DPI + 2
    assert 0.8 * DPI < height < 6 * DPI


# --- λ×γ heatmaps -------------------------------------------------------------------------------


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
    rows = _rows(table, method="psg", hp_lambda=0.1, hp_gamma=0.01)
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
    rest = _rows(table, method="psg", hp_lambda=0.0, hp_gamma=0.0)
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
    _check_files(paths, FULL_WIDTH)
    with pytest.raises(UserError, match="λ×γ"):
        lambda_gamma.draw(table, sr.DATASET, "no_such_condition", tmp_path / "none")


# --- method comparison --------------------------------------------------------------------------


def test_methods_applies(table):
    assert methods.applies(table, sr.DATASET, CONDITION)
    assert not methods.applies(table, sr.DATASET, "no_such_condition")
    references = table[table["model_kind"] != "unlearned"]
    assert not methods.applies(references, sr.DATASET, CONDITION)


def test_methods_summary_uses_reported_settings(table):
    summary = methods.method_summary(table, sr.DATASET, CONDITION)
    assert list(summary.index) == ["original", "retrain", "compose", "finetune", "psg", "ssd"]
    best = best_settings(_rows(table)).set_index("method")["setting"]
    for method in ("psg", "compose", "ssd"):
        assert summary.loc[method, "setting"] == best[method]
        rows = _rows(table, method=method, setting=best[method])
        for column, _ in methods.METRICS:
            assert summary.loc[method, f"{column}_mean"] == pytest.approx(rows[column].mean())
            assert summary.loc[method, f"{column}_std"] == pytest.approx(rows[column].std(ddof=1))
        assert summary.loc[method, "n_seeds"] == len(sr.SEEDS)
    retrain = _rows(table, model_kind="retrain")
    assert summary.loc["retrain", "acc_remain_mean"] == pytest.approx(retrain["acc_remain"].mean())


def test_methods_missing_values_stay_missing(table, tmp_path):
    df = table.copy()
    df.loc[df["method"] == "ssd", "mia_efficacy"] = np.nan
    df.loc[(df["method"] == "finetune") & (df["seed"] == 2), "acc_test"] = np.nan
    summary = methods.method_summary(df, sr.DATASET, CONDITION)
    assert math.isnan(summary.loc["ssd", "mia_efficacy_mean"])
    assert summary.loc["ssd", "mia_efficacy_n"] == 0
    rows = _rows(table, method="finetune")
    expected = rows.loc[rows["seed"] != 2, "acc_test"].mean()
    assert summary.loc["finetune", "acc_test_mean"] == pytest.approx(expected)
    _check_files(methods.draw(df, sr.DATASET, CONDITION, tmp_path / "methods"), FULL_WIDTH)


def test_methods_draw_many_methods(table, tmp_path):
    """18 methods with long names still fit the text width, one row each."""
    finetune = table[table["method"] == "finetune"]
    extra = [finetune.assign(method=f"long_method_name_{i:02d}") for i in range(14)]
    df = pd.concat([table, *extra], ignore_index=True)
    assert len(methods.method_summary(df, sr.DATASET, CONDITION)) == 2 + 18
    _check_files(methods.draw(df, sr.DATASET, CONDITION, tmp_path / "methods"), FULL_WIDTH)


# --- per-class accuracy -------------------------------------------------------------------------


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
    best = best_settings(_rows(table)).set_index("method")["setting"]
    rows = _rows(table, method="psg", setting=best["psg"])
    assert matrix.loc["psg", 1] == pytest.approx(rows["acc_class_1"].mean())
    assert matrix.loc["retrain", 1] == pytest.approx(0.0)  # a real zero stays a zero
    assert math.isnan(matrix.loc["ssd", 3])


def test_per_class_draw(table, tmp_path):
    names = ["cat", "dog", "bird", "horse"]
    paths = per_class.draw(table, sr.DATASET, CONDITION, tmp_path / "pc", class_names=names)
    # Row labels name the chosen setting ("psg (gamma=0_lambda=0.1)"): too long for a column.
    _check_files(paths, FULL_WIDTH)
    with pytest.raises(UserError, match="class_names"):
        per_class.draw(table, sr.DATASET, CONDITION, tmp_path / "bad", class_names=names[:2])


# --- model composition --------------------------------------------------------------------------


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
    rows = _rows(table, method="compose", hp_epochs=4)
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
    rows = _rows(other, hp_epochs=0)
    assert scrub.loc[0, "acc_forget_mean"] == pytest.approx(rows["acc_forget"].mean())
    paths = composition.draw(df, sr.DATASET, CONDITION, tmp_path / "composition")
    _check_files(paths, COLUMN_WIDTH)
    with pytest.raises(UserError, match="compose"):
        composition.draw(table, sr.DATASET, "no_such_condition", tmp_path / "none")
