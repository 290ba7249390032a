"""End-to-end: several retrain references per condition, their noise floor in every table, the
random forget condition, and the gap-versus-floor figure."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from test_workflow import TINY, copy_workflow, job_counts, snakemake, write_config

pytestmark = pytest.mark.e2e

CONFIG = {
    **{k: v for k, v in TINY.items() if k not in ("datasets", "methods", "report")},
    "evaluation": {**TINY["evaluation"], "retrains": 3},
    "datasets": {
        "digits": {
            **TINY["datasets"]["digits"],
            "conditions": {
                "class_1": {"kind": "class", "class": 1},
                "random_10": {"kind": "random", "fraction": 0.1, "retrains": 2},
            },
        }
    },
    "methods": {k: TINY["methods"][k] for k in ("psg", "finetune")},
    "report": {"tsne": []},
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    work = copy_workflow(tmp_path_factory.mktemp("references"))
    write_config(work, "refs.yaml", CONFIG)
    plan = snakemake(work, "-n", config="refs.yaml")
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert job_counts(plan.stdout)["train_retrain"] == 5  # 3 for class_1, 2 for random_10
    result = snakemake(work, config="refs.yaml")
    assert result.returncode == 0, result.stderr[-4000:]
    return work


def test_each_reference_is_its_own_model_with_its_own_seed(workdir):
    base = workdir / "results/digits/seed0/class_1"
    runs = [json.loads((base / f / "run.json").read_text()) for f in ("retrain", "retrain_1")]
    assert runs[0]["seed"] == 0 and runs[1]["seed"] != 0
    assert (base / "retrain_2/model.pt").is_file() and not (base / "retrain_3").exists()
    metrics = [
        json.loads((base / f / "metrics.json").read_text())
        for f in ("retrain", "retrain_1", "retrain_2")
    ]
    assert [m["replica"] for m in metrics] == [0, 1, 2]
    assert metrics[0]["acc_train_remain"] != metrics[1]["acc_train_remain"] or (
        metrics[0]["acc_test"] != metrics[1]["acc_test"]
    )  # another initialisation and batch order: another model
    psg = json.loads((base / "psg/default/metrics.json").read_text())
    assert psg["n_references"] == 3
    mean_test = sum(m["acc_test"] for m in metrics) / 3
    assert psg["gap_test"] == pytest.approx(abs(psg["acc_test"] - mean_test))
    mean = {k: sum(m[k] for m in metrics) / 3 for k in ("acc_forget", "acc_remain", "acc_test")}
    tow = 1.0
    for key, value in mean.items():
        tow *= 1 - abs(psg[key] - value)
    assert psg["tow"] == pytest.approx(tow)


def test_metrics_csv_holds_the_floor_and_the_verdict(workdir):
    table = pd.read_csv(workdir / "results/tables/metrics.csv")
    class_1 = table[table["condition"] == "class_1"]
    retrains = class_1[class_1["model_kind"] == "retrain"]
    assert sorted(retrains["replica"].astype(int)) == [0, 1, 2]
    # each reference's gap is its leave-one-out gap; a subset's floor is their mean, at least one
    # image of the subset; the mean gap's floor is the mean of the subsets' floors
    subsets = ("train_forget", "train_remain", "test", "test_forget", "test_remain")
    floors = [max(retrains[f"gap_{s}"].mean(), 1 / retrains[f"n_{s}"].iloc[0]) for s in subsets]
    for subset, floor in zip(subsets, floors, strict=True):
        assert class_1[f"floor_gap_{subset}"].dropna().unique() == pytest.approx([floor])
    assert class_1["floor_gap_mean"].dropna().unique() == pytest.approx([sum(floors) / 5])
    unlearned = class_1[class_1["model_kind"] == "unlearned"]
    assert set(unlearned["within_floor"].astype(str)) <= {"True", "False"}
    for row in unlearned.itertuples():
        assert str(row.within_floor) == str(row.gap_mean <= row.floor_gap_mean)
    for column in ("tow", "mia_svc_correctness", "mia_svc_prob", "mia_svc_confidence"):
        assert unlearned[column].notna().all(), column


def test_random_condition_keeps_a_high_retrain_forget_accuracy(workdir):
    split = json.loads((workdir / "results/digits/seed0/random_10/split.json").read_text())
    assert split["kind"] == "random" and split["fraction"] == 0.1
    assert not set(split["train_forget"]) & set(split["train_remain"])
    assert split["headline"]["forget"] == "train_forget" and split["test_forget"] == []
    table = pd.read_csv(workdir / "results/tables/metrics.csv")
    rows = table[(table["condition"] == "random_10") & (table["model_kind"] == "retrain")]
    assert len(rows) == 2
    # it never saw the drawn images but generalises to them: far from 0, near its test accuracy
    assert (rows["acc_forget"] > 0.5).all()


def test_summary_states_which_methods_are_within_the_floor(workdir):
    summary = (workdir / "results/tables/summary.md").read_text()
    for condition in ("class_1", "random_10"):
        section = summary.split(f"### digits — {condition}")[1].split("### ")[0]
        assert "**Verdict.**" in section and "within floor" in section, condition
        assert (
            "indistinguishable from retraining on this evidence" in section
            or "No method is called close to retraining" in section
        )
    csv = pd.read_csv(workdir / "results/tables/summary.csv")
    methods = csv[csv["model_kind"] == "unlearned"]
    assert set(methods["floor_verdict"]) <= {"within", "beyond"}
    assert methods["floor_gap_mean_mean"].notna().all()


def test_floor_figure_per_condition(workdir):
    for condition in ("class_1", "random_10"):
        folder = workdir / "results/figures/digits" / condition
        assert (folder / "floor.png").stat().st_size > 5000, condition
        assert (folder / "floor.pdf").is_file()


def test_second_run_schedules_nothing(workdir):
    result = snakemake(workdir, "-n", config="refs.yaml")
    assert result.returncode == 0 and "Nothing to be done" in result.stdout + result.stderr
