"""Best-setting selection on the validation split and the summary / grid tables built on it."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import synthetic_results as synthetic

from unlearning.tables import read_metrics_csv, write_tables
from unlearning.tables.sections import format_cell
from unlearning.tables.selection import (
    BY_DEFAULT,
    BY_VALIDATION,
    ONLY_SETTING,
    best_settings,
    with_validation_gap,
)


@pytest.fixture(scope="module")
def metrics(tmp_path_factory) -> pd.DataFrame:
    path = tmp_path_factory.mktemp("metrics") / "metrics.csv"
    synthetic.write_metrics_csv(path)
    return read_metrics_csv(path)


@pytest.fixture(scope="module")
def tables(metrics, tmp_path_factory):
    out = tmp_path_factory.mktemp("tables")
    write_tables(metrics, out, out / "html")
    return out


def _expected_best(df: pd.DataFrame, condition: str, method: str) -> str:
    """The setting with the smallest mean validation gap, computed independently."""
    rows = df[(df["condition"] == condition)]
    scores = {}
    for setting, group in rows[rows["method"] == method].groupby("setting"):
        gaps = []
        for _, row in group.iterrows():
            ref = rows[(rows["model_kind"] == "retrain") & (rows["seed"] == row["seed"])].iloc[0]
            gaps.append(
                (
                    abs(row["acc_val_forget"] - ref["acc_val_forget"])
                    + abs(row["acc_val_remain"] - ref["acc_val_remain"])
                )
                / 2
            )
        scores[setting] = sum(gaps) / len(gaps)
    return min(scores, key=lambda s: (round(scores[s], 12), s != "default", s))


def test_validation_gap_is_per_seed_against_its_own_retrain(metrics):
    scored = with_validation_gap(metrics)
    row = scored[(scored["method"] == "finetune") & (scored["condition"] == "class_1")]
    row = row[row["seed"] == 2].iloc[0]
    ref = metrics[
        (metrics["model_kind"] == "retrain")
        & (metrics["condition"] == "class_1")
        & (metrics["seed"] == 2)
    ].iloc[0]
    expected = (
        abs(row["acc_val_forget"] - ref["acc_val_forget"])
        + abs(row["acc_val_remain"] - ref["acc_val_remain"])
    ) / 2
    assert row["val_gap"] == pytest.approx(expected)
    assert scored.loc[scored["model_kind"] != "unlearned", "val_gap"].isna().all()


@pytest.mark.parametrize("condition", list(synthetic.CONDITIONS))
@pytest.mark.parametrize("method", ["psg", "compose"])
def test_best_setting_has_the_smallest_validation_gap(metrics, condition, method):
    best = best_settings(metrics).set_index(["condition", "method"])
    chosen = best.loc[(condition, method)]
    assert chosen["setting"] == _expected_best(metrics, condition, method)
    assert chosen["selected_by"] == BY_VALIDATION
    assert best.loc[(condition, "finetune"), "selected_by"] == ONLY_SETTING


def test_without_validation_or_retrain_the_default_is_reported(metrics):
    no_val = metrics.drop(columns=["acc_val_forget", "acc_val_remain"])
    best = best_settings(no_val).set_index(["condition", "method"])
    assert best.loc[("class_1", "psg"), "setting"] == "default"
    assert best.loc[("class_1", "psg"), "selected_by"] == BY_DEFAULT
    assert math.isnan(best.loc[("class_1", "psg"), "val_gap"])
    no_retrain = metrics[metrics["model_kind"] != "retrain"]
    best = best_settings(no_retrain).set_index(["condition", "method"])
    assert best.loc[("class_1", "compose"), "setting"] == "default"


def _md_rows(text: str, heading: str) -> dict[tuple[str, str], list[str]]:
    lines = text.splitlines()
    start = lines.index(heading)
    header = [c.strip() for c in lines[start + 2].strip("|").split("|")]
    rows = {}
    for line in lines[start + 4 :]:
        if not line.startswith("|"):
            break
        cells = dict(zip(header, (c.strip() for c in line.strip("|").split("|")), strict=True))
        rows[(cells["method"], cells["setting"])] = cells
    return rows


def test_summary_reports_test_metrics_of_the_chosen_setting(metrics, tables):
    summary_csv = pd.read_csv(tables / "summary.csv", keep_default_na=False, na_values=[""])
    markdown = (tables / "summary.md").read_text()
    latex = (tables / "summary.tex").read_text()
    for condition in synthetic.CONDITIONS:
        best = _expected_best(metrics, condition, "psg")
        source = metrics[
            (metrics["condition"] == condition)
            & (metrics["method"] == "psg")
            & (metrics["setting"] == best)
        ]
        row = summary_csv[
            (summary_csv["condition"] == condition) & (summary_csv["method"] == "psg")
        ]
        assert len(row) == 1 and row.iloc[0]["setting"] == best
        for key in ("acc_test", "acc_forget", "acc_remain", "mia_efficacy", "gap_mean"):
            assert row.iloc[0][f"{key}_mean"] == pytest.approx(source[key].mean())
            assert row.iloc[0][f"{key}_std"] == pytest.approx(source[key].std(ddof=1))
        cells = _md_rows(markdown, f"### toy — {condition}")[("psg", best)]
        expected = format_cell(
            source["acc_forget"].mean(), source["acc_forget"].std(), 3, "percent"
        )
        assert cells["forget acc"] == expected
        assert expected.replace("±", "$\\pm$") in latex
        # References and one row per method, nothing else.
        assert sorted(summary_csv.loc[summary_csv["condition"] == condition, "method"]) == sorted(
            ["original", "retrain", "psg", "finetune", "ssd", "compose"]
        )
    assert latex.count("\\begin{table}") == len(synthetic.CONDITIONS)
    assert "class\\_1" in latex and "toprule" in latex


def test_psg_grid_lists_every_setting_and_marks_the_chosen_one(metrics, tables):
    grid = pd.read_csv(tables / "psg_grid.csv", keep_default_na=False, na_values=[""])
    n_cells = len(synthetic.PSG_LAMBDAS) * len(synthetic.PSG_GAMMAS)
    for condition in synthetic.CONDITIONS:
        part = grid[grid["condition"] == condition]
        assert len(part) == n_cells
        assert set(zip(part["hp_lambda"], part["hp_gamma"], strict=True)) == {
            (lam, gam) for lam in synthetic.PSG_LAMBDAS for gam in synthetic.PSG_GAMMAS
        }
        chosen = part[part["chosen"]]
        assert list(chosen["setting"]) == [_expected_best(metrics, condition, "psg")]
    markdown = (tables / "psg_grid.md").read_text()
    assert "| λ | γ | setting | chosen |" in markdown


def test_html_pages_per_dataset_and_condition(tables):
    for condition in synthetic.CONDITIONS:
        page = (tables / "html/toy" / condition / "summary.html").read_text()
        assert page.startswith("<!DOCTYPE html>") and "<table>" in page and condition in page
        assert (tables / "html/toy" / condition / "psg_grid.html").is_file()


def test_mia_column_names_the_attack_and_feature(metrics, tmp_path):
    recorded = metrics.assign(mia_attack="svc", mia_feature="confidence")
    write_tables(recorded, tmp_path, tmp_path / "html")
    markdown = (tmp_path / "summary.md").read_text()
    header = next(line for line in markdown.splitlines() if line.startswith("| method"))
    assert "| MIA efficacy (SVC, confidence) |" in header
    assert "MIA feature: confidence; MIA attack: SVC" in markdown
    csv = pd.read_csv(tmp_path / "summary.csv")
    assert set(csv["mia_attack"]) == {"svc"} and set(csv["mia_feature"]) == {"confidence"}
    # Rows written before mia_attack existed: the header names the feature only.
    legacy = tmp_path / "legacy"
    write_tables(metrics.drop(columns=["mia_attack"], errors="ignore"), legacy, legacy / "html")
    markdown = (legacy / "summary.md").read_text()
    assert "| MIA efficacy (entropy) |" in markdown and "MIA attack" not in markdown
    assert pd.read_csv(legacy / "summary.csv")["mia_attack"].isna().all()


def test_each_formulation_is_reported_as_its_own_row(metrics, tmp_path):
    """psg in the reference and the pixel formulation: one chosen setting and one summary row
    each, named by formulation, never one setting chosen across both."""
    psg = metrics[metrics["method"] == "psg"]
    reference = psg.assign(
        hp_formulation="reference", setting="formulation=reference_" + psg["setting"]
    )
    df = pd.concat([metrics.assign(hp_formulation=None), reference], ignore_index=True)
    df.loc[df["method"] == "psg", "hp_formulation"] = df.loc[
        df["method"] == "psg", "hp_formulation"
    ].fillna("pixel")
    best = best_settings(df)
    chosen = best[(best["method"] == "psg") & (best["condition"] == "class_1")]
    assert sorted(chosen["label"]) == ["psg (pixel)", "psg (reference)"]
    assert chosen.set_index("variant").loc["reference", "setting"].startswith("formulation=")
    write_tables(df, tmp_path, tmp_path / "html")
    summary = (tmp_path / "summary.md").read_text()
    assert "| psg (pixel) |" in summary and "| psg (reference) |" in summary
    assert "| finetune |" in summary
