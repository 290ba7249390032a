"""The paper's published numbers (config/published/nahass2025.csv): shape, cells, and noted faults.

The expected values below are written out by hand from the authors' plotting scripts
(monkeygobah/unlearning_langevin, commit fa137b4, visualization/), so a change to the file
that alters a published number fails here.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

PUBLISHED = Path(__file__).resolve().parents[1] / "config" / "published" / "nahass2025.csv"

COLUMNS = [
    "figure",
    "panel",
    "dataset",
    "condition",
    "method_or_variant",
    "gamma",
    "lambda",
    "phi",
    "epochs",
    "metric",
    "value",
    "source_file",
    "source_line",
    "note",
]

# 5 λ × 4 γ cells × (R, F, distance) per data set, plus the two retrain constants per data set;
# 7 ablation variants × 3 γ × (F, R); 2 compositions × 4 epochs × (F, R) plus 2 × 2 dashed lines.
ROWS_PER_FIGURE = {
    "heatmap_cs_main": 2 * (60 + 2),
    "heatmap_fashion_supp": 60 + 2,
    "heatmap_med_main": 2 * (60 + 2),
    "ablation_experiment_phi_1e02_heatmap_vert": 42,
    "ablation_experiment_phi_1e04_heatmap": 42,
    "hybrid_1_and_2_accuracy": 20,
}

SCRIPTS = {
    "heatmap_cs_main": "visualization/hm_cs_main.py",
    "heatmap_fashion_supp": "visualization/hm_fash_supp.py",
    "heatmap_med_main": "visualization/hm_med_main.py",
    "ablation_experiment_phi_1e02_heatmap_vert": "visualization/ablation_figures_main_hm.py",
    "ablation_experiment_phi_1e04_heatmap": "visualization/ablation_figure_supp.py",
    "hybrid_1_and_2_accuracy": "visualization/ensemble_plots.py",
}


@pytest.fixture(scope="module")
def published() -> pd.DataFrame:
    return pd.read_csv(PUBLISHED, keep_default_na=False)


def cell(df: pd.DataFrame, **where) -> pd.Series:
    """The one row matching every ``column=value`` (numbers compared as floats)."""
    mask = pd.Series(True, index=df.index)
    for column, wanted in where.items():
        if isinstance(wanted, float | int) and not isinstance(wanted, bool):
            numbers = pd.to_numeric(df[column], errors="coerce")
            mask &= numbers.sub(wanted).abs() < 1e-12
        else:
            mask &= df[column].astype(str) == str(wanted)
    rows = df[mask]
    assert len(rows) == 1, f"{where} matches {len(rows)} rows"
    return rows.iloc[0]


def test_columns_and_row_counts(published):
    assert list(published.columns) == COLUMNS
    assert published.groupby("figure").size().to_dict() == ROWS_PER_FIGURE
    for figure, script in SCRIPTS.items():
        assert set(published.loc[published["figure"] == figure, "source_file"]) == {script}
    assert published["value"].map(math.isfinite).all()
    assert (published["source_line"].astype(int) > 0).all()
    assert set(published["metric"]) == {"acc_forget", "acc_remain", "distance"}


def test_no_cell_twice(published):
    key = [c for c in COLUMNS if c not in ("value", "source_line", "note")]
    assert not published.duplicated(key).any()


@pytest.mark.parametrize(
    ("where", "value", "line"),
    [
        # hm_cs_main.py: CIFAR-10 forget accuracy, λ = 1e-2 (row 4), γ = 1e-4 (column 2)
        (
            dict(figure="heatmap_cs_main", dataset="cifar10", metric="acc_forget", gamma=1e-4)
            | {"lambda": 1e-2},
            0.409,
            32,
        ),
        # hm_cs_main.py: CIFAR-10 remain accuracy, λ = 0.1, γ = 0.1
        (
            dict(figure="heatmap_cs_main", dataset="cifar10", metric="acc_remain", gamma=0.1)
            | {"lambda": 0.1},
            0.852,
            41,
        ),
        # hm_fash_supp.py: forget accuracy, λ = 0, γ = 0
        (
            dict(figure="heatmap_fashion_supp", metric="acc_forget", gamma=0.0) | {"lambda": 0.0},
            0.058,
            12,
        ),
        # hm_med_main.py: fundus remain accuracy, λ = 0, γ = 1 (written unrounded)
        (
            dict(figure="heatmap_med_main", dataset="fundus", metric="acc_remain", gamma=1.0)
            | {"lambda": 0.0},
            0.984375,
            20,
        ),
        # hm_med_main.py: MRI forget accuracy, λ = 1e-4, γ = 1
        (
            dict(figure="heatmap_med_main", dataset="mri", metric="acc_forget", gamma=1.0)
            | {"lambda": 1e-4},
            0.013,
            29,
        ),
        # ablation_figures_main_hm.py: R+F+Preprocess forget accuracy, γ = 1e-4 (φ = 1e-2)
        (
            dict(
                figure="ablation_experiment_phi_1e02_heatmap_vert",
                method_or_variant="R+F+Preprocess",
                metric="acc_forget",
                gamma=1e-4,
            ),
            0.549,
            14,
        ),
        # ablation_figure_supp.py: R+F+Preprocess remain accuracy, γ = 0.1 (φ = 1e-4)
        (
            dict(
                figure="ablation_experiment_phi_1e04_heatmap",
                method_or_variant="R+F+Preprocess",
                metric="acc_remain",
                gamma=0.1,
            ),
            0.880,
            24,
        ),
        # ensemble_plots.py: Composition 1 forget accuracy after 2 epochs
        (
            dict(figure="hybrid_1_and_2_accuracy", panel="Composition 1", epochs=2)
            | dict(method_or_variant="compose", metric="acc_forget"),
            0.251,
            5,
        ),
        # ensemble_plots.py: Composition 2 remain accuracy after 0 epochs
        (
            dict(figure="hybrid_1_and_2_accuracy", panel="Composition 2", epochs=0)
            | dict(method_or_variant="compose", metric="acc_remain"),
            0.234,
            8,
        ),
        # hm_fash_supp.py: the retrain reference, a constant
        (
            dict(figure="heatmap_fashion_supp", method_or_variant="retrain", metric="acc_remain"),
            0.942,
            32,
        ),
    ],
)
def test_cells(published, where, value, line):
    row = cell(published, **where)
    assert row["value"] == pytest.approx(value, abs=1e-12)
    assert int(row["source_line"]) == line


def test_distance_is_the_scripts_formula(published):
    # hm_cs_main.py, CIFAR-10, λ = 0, γ = 0: sqrt((0.837 - 0.899)^2 + (0.089 - 0)^2)
    row = cell(
        published,
        figure="heatmap_cs_main",
        dataset="cifar10",
        metric="distance",
        gamma=0.0,
        **{"lambda": 0.0},
    )
    assert row["value"] == pytest.approx(math.hypot(0.837 - 0.899, 0.089), abs=1e-6)


def test_scripts_faults_are_noted(published):
    notes = published["note"]
    heatmaps = published["figure"].str.startswith("heatmap_")
    lam = pd.to_numeric(published["lambda"], errors="coerce")

    # λ tick labels '1e-2' and '1e-1' sit on the rows whose λ is 1e-3 and 1e-2.
    mislabelled = heatmaps & published["method_or_variant"].eq("psg") & lam.isin([1e-3, 1e-2])
    assert mislabelled.sum() == 5 * 2 * 4 * 3  # 5 data sets, two λ rows, 4 γ, 3 metrics
    assert notes[mislabelled].str.contains("λ tick label").all()
    assert not notes[heatmaps & ~mislabelled].str.contains("λ tick label").any()
    assert (
        notes[mislabelled & published["figure"].eq("heatmap_med_main")]
        .str.contains("own lambda_vals")
        .all()
    )

    # The "MedMNIST" panel of hm_cs_main.py is the MRI panel of hm_med_main.py.
    medmnist = published[published["dataset"].eq("medmnist")].reset_index(drop=True)
    mri = published[published["dataset"].eq("mri")].reset_index(drop=True)
    assert medmnist["value"].tolist() == mri["value"].tolist()
    assert medmnist["note"].str.contains("equals the MRI panel of hm_med_main.py").all()
    assert mri["note"].str.contains("equals the 'MedMNIST' panel of hm_cs_main.py").all()

    # The retrain references are constants in the scripts.
    retrain = published[published["method_or_variant"].eq("retrain")]
    assert len(retrain) == 2 * 5
    assert retrain["note"].str.contains("a constant in the script").all()
    distances = published[published["metric"].eq("distance")]
    assert distances["note"].str.contains("constant retrain reference").all()

    # The ablation's iteration variants repeat the F row; its data set is inferred.
    ablation = published[published["figure"].str.startswith("ablation_")]
    assert ablation["note"].str.contains("not stated in the script").all()
    iters = ablation[ablation["method_or_variant"].str.startswith("R+F-Iter")]
    assert iters["note"].str.contains("equals the F row").all()

    # The composition's reference lines are constants with no stated model.
    dashed = published[published["method_or_variant"].eq("original")]
    assert len(dashed) == 4
    assert dashed["note"].str.contains("a constant in the script").all()
