"""Every figure of a dataset from metrics.csv and the saved arrays, as the figures rule does."""

from __future__ import annotations

from pathlib import Path

import pytest
import synthetic_results as synthetic

from unlearning.errors import UserError
from unlearning.methods import get_method
from unlearning.plots import OVERVIEW
from unlearning.plots.figures import RunFile, dataset_figures
from unlearning.report_settings import HIGHLIGHT
from unlearning.steps.report import hyperparameter_columns
from unlearning.tables import read_metrics_csv


def loss_files(root: Path) -> list[RunFile]:
    """Where the workflow would hand over the losses: the original's, the retrain's and every
    setting of the highlighted method (the figure picks the chosen one)."""
    settings = [setting for method, setting, _ in synthetic.runs() if method == HIGHLIGHT]
    runs = [(kind, "-") for kind in ("original", "retrain")]
    runs += [(HIGHLIGHT, setting) for setting in settings]
    return [
        RunFile(condition, 0, method, setting, root / condition / method / setting / "losses.npz")
        for condition in synthetic.CONDITIONS
        for method, setting in runs
    ]


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """A results folder with metrics.csv, the loss files and one tsne.npz."""
    root = tmp_path_factory.mktemp("results")
    synthetic.write_metrics_csv(root / "tables/metrics.csv")
    for run in loss_files(root):
        kind = run.method if run.method in ("original", "retrain") else "unlearned"
        synthetic.write_losses(run.path, kind)
    synthetic.write_tsne(root / "tsne.npz")
    return root


def test_every_figure_of_a_dataset(results, tmp_path):
    df = read_metrics_csv(results / "tables/metrics.csv")
    run = RunFile("class_1", 0, "psg", "default", results / "tsne.npz")
    drawn = dataset_figures(
        df,
        "toy",
        tmp_path / "toy",
        class_names=["a", "b", "c", "d"],
        loss_files=loss_files(results),
        tsne_files=[run],
    )
    names = {str(p.relative_to(tmp_path / "toy").with_suffix("")) for p in drawn}
    per_condition = {"methods", "lambda_gamma_pixel", "composition", "per_class", "losses"}
    expected = {f"{OVERVIEW}/tradeoff", f"{OVERVIEW}/selective_class_1"}
    expected |= {f"{c}/{f}" for c in synthetic.CONDITIONS for f in per_condition}
    expected.add("class_1/tsne_psg_default_seed0")
    assert names == expected
    for png in drawn:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.with_suffix(".pdf").read_bytes()[:4] == b"%PDF"


def test_a_missing_loss_file_names_the_file(results, tmp_path):
    df = read_metrics_csv(results / "tables/metrics.csv")
    elsewhere = loss_files(tmp_path / "elsewhere")
    with pytest.raises(UserError, match="losses.npz"):
        dataset_figures(df, "toy", tmp_path / "out", loss_files=elsewhere)
    with pytest.raises(UserError, match="cifar"):
        dataset_figures(df, "cifar", tmp_path / "out", loss_files=loss_files(results))


def test_a_loss_file_not_handed_over_is_named(results, tmp_path):
    df = read_metrics_csv(results / "tables/metrics.csv")
    given = [f for f in loss_files(results) if f.method != "retrain"]
    with pytest.raises(UserError, match="No losses.npz of retrain/-"):
        dataset_figures(df, "toy", tmp_path / "out", loss_files=given)


def test_hyperparameter_columns_hold_resolved_defaults():
    psg = get_method("psg").resolved_params({"epsilon": 0.3, "gamma": 0.0})
    columns = hyperparameter_columns(psg)
    assert columns["hp_epsilon"] == 0.3 and columns["hp_gamma"] == 0.0
    assert "hp_lambda" in columns and "hp_steps" in columns  # library defaults, not only config
    compose = hyperparameter_columns(get_method("compose").resolved_params({"epochs": 2}))
    assert compose["hp_epochs"] == 2 and compose["hp_head_from"] == "psg/default"


def test_without_a_retrain_every_figure_still_draws(results, tmp_path):
    """``retrain: false``: no retrain rows, no retrain losses; figures skip the reference."""
    df = read_metrics_csv(results / "tables/metrics.csv")
    df = df[df["model_kind"] != "retrain"]
    for column in ("gap_mean", "distance", "seconds_ratio"):
        df[column] = float("nan")
    given = [f for f in loss_files(results) if f.method != "retrain"]
    drawn = dataset_figures(df, "toy", tmp_path / "toy", loss_files=given)
    names = {p.stem for p in drawn}
    assert {"tradeoff", "methods", "per_class", "losses"} <= names
