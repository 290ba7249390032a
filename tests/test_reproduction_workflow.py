"""End-to-end: a tiny digits config that names a small published file gets the reproduction table
and figures, and they are part of its default target."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_workflow import copy_workflow, snakemake, write_config

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.e2e

TINY = {
    "device": "cpu",
    "seeds": [0, 1],
    "progress": False,
    "threads": 1,
    "datasets": {
        "digits": {
            "source": "sklearn_digits",
            "image_size": 8,
            "val_fraction": 0,  # as config/paper.yaml: no validation split
            "model": {"architecture": "allcnn", "width_factor": 0.125},
            "train": {"epochs": 1, "batch_size": 64, "lr": 0.05},
            "conditions": {"class_1": {"kind": "class", "class": 1}},
        }
    },
    "evaluation": {"batch_size": 512},
    "methods": {
        "psg": {
            "params": {
                "formulation": "reference",
                "gamma": 0.0,
                "epsilon": 0.3,
                "lr": 3.0e-3,
                "epochs": 1,
            },
            "grid": {"gamma": [0.1]},
        },
    },
    "reproduction": {"published": "published.csv", "tolerance": 5},
}
HEADER = (
    "figure,panel,dataset,condition,method_or_variant,gamma,lambda,phi,epochs,metric,value,"
    "source_file,source_line,note"
)
PUBLISHED = [
    "hm,A,digits,class_1,psg,0,0,0,,acc_forget,0.30,hm.py,1,",
    "hm,A,digits,class_1,psg,0.1,0,0,,acc_forget,0.40,hm.py,1,",
    "hm,B,digits,class_1,psg,0,0,0,,acc_remain,0.90,hm.py,2,",
    "hm,B,digits,class_1,psg,0.1,0,0,,acc_remain,0.90,hm.py,2,",
    # a γ this run did not run, a variant it did not run, one no code expresses
    "hm,A,digits,class_1,psg,1,0,0,,acc_forget,0.50,hm.py,1,",
    "abl,F,digits,class_1,F,0,,0.01,,acc_forget,0.05,abl.py,3,",
    "abl,F,digits,class_1,R+F-Iter 80,0,,0.01,,acc_forget,0.05,abl.py,4,",
    "hm,C,digits,class_1,retrain,,,,,acc_remain,0.95,hm.py,5,a constant",
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    work = copy_workflow(tmp_path_factory.mktemp("reproduction"))
    (work / "published.csv").write_text("\n".join([HEADER, *PUBLISHED]) + "\n")
    write_config(work, "tiny.yaml", TINY)
    result = snakemake(work, "reproduction")
    assert result.returncode == 0, result.stderr[-4000:]
    return work


def test_default_target_writes_the_table_with_its_arithmetic(workdir):
    table = pd.read_csv(workdir / "results/tables/reproduction.csv")
    assert len(table) == len(PUBLISHED)  # every cell, none dropped
    metrics = pd.read_csv(workdir / "results/tables/metrics.csv")
    tolerance = TINY["reproduction"]["tolerance"]
    for index, gamma, metric in [(0, 0.0, "acc_forget"), (1, 0.1, "acc_forget"),
                                 (2, 0.0, "acc_remain"), (3, 0.1, "acc_remain")]:  # fmt: skip
        runs = metrics[(metrics["method"] == "psg") & (metrics["hp_gamma"] == gamma)]
        values = runs.groupby("seed")[metric].mean() * 100
        row = table.iloc[index]
        assert row["matched"] == ("psg/default" if gamma == 0 else f"psg/gamma={gamma:g}")
        assert row["seeds"] == 2
        assert row["run_mean"] == pytest.approx(values.mean())
        assert row["run_std"] == pytest.approx(values.std(ddof=1))
        assert row["difference"] == pytest.approx(values.mean() - row["published"])
        within = abs(row["difference"]) <= tolerance
        spread = values.min() <= row["published"] <= values.max()
        expected = "within tolerance" if within else "within seed spread" if spread else "outside"
        assert row["verdict"] == expected

    # what this run lacks is listed as not run, with the reason
    assert table.iloc[4]["verdict"] == "not run"
    assert "no psg run of digits/class_1 with gamma 1" in table.iloc[4]["reason"]
    assert table.iloc[5]["verdict"] == "not run"
    assert "targets soft" in table.iloc[5]["reason"]
    assert table.iloc[6]["verdict"] == "not run"
    assert "'R+F-Iter 80' cannot be expressed" in table.iloc[6]["reason"]
    retrain = table.iloc[7]
    references = metrics[metrics["model_kind"] == "retrain"].groupby("seed")["acc_remain"].mean()
    assert retrain["run_mean"] == pytest.approx(references.mean() * 100)

    text = (workdir / "results/tables/reproduction.md").read_text()
    assert "| hm | 6 |" in text and "| abl | 2 |" in text


def test_figures_are_drawn(workdir):
    folder = workdir / "results/tables/reproduction_figures"
    for figure in ("hm", "abl"):
        assert (folder / f"{figure}.png").read_bytes().startswith(b"\x89PNG")


def test_the_default_target_has_them_only_when_the_config_names_the_file(workdir):
    plain = {key: value for key, value in TINY.items() if key != "reproduction"}
    write_config(workdir, "plain.yaml", plain)
    result = snakemake(workdir, "-n", "--forceall", config="plain.yaml")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "reproduction_table" not in result.stdout + result.stderr
    # the config that names the file plans the comparison in its default target
    result = snakemake(workdir, "-n", "--forceall")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "reproduction_table" in result.stdout + result.stderr
