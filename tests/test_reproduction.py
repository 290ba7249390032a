"""The reproduction table: published cells beside this run, difference, verdicts, not-run cells."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from unlearning.errors import UserError
from unlearning.steps.report import reproduction
from unlearning.tables.reproduction import (
    AMBIGUOUS,
    NOT_RUN,
    OUTSIDE,
    WITHIN_SPREAD,
    WITHIN_TOLERANCE,
    read_published,
    reproduction_table,
)

ROOT = Path(__file__).resolve().parents[1]
HEADER = (
    "figure,panel,dataset,condition,method_or_variant,gamma,lambda,phi,epochs,metric,value,"
    "source_file,source_line,note"
)
PUBLISHED = [
    # psg cells of a λ×γ grid: three of them run, one not
    "hm,A,digits,class_0,psg,0,0,0,,acc_forget,0.10,hm.py,10,",
    "hm,A,digits,class_0,psg,0.1,0,0,,acc_forget,0.50,hm.py,10,",
    "hm,B,digits,class_0,psg,0,0,0,,acc_remain,0.90,hm.py,11,",
    "hm,B,digits,class_0,psg,0.1,0,0,,acc_remain,0.70,hm.py,11,",
    "hm,A,digits,class_0,psg,1,0,0,,acc_forget,0.20,hm.py,10,",
    # the retrain constant, two retrain replicas in one seed
    "hm,C,digits,class_0,retrain,,,,,acc_remain,0.95,hm.py,12,a constant",
    # a variant the reference code cannot express, and a data set not in this run
    "abl,F,digits,class_0,R+F-Iter 80,0,,0.01,,acc_forget,0.30,abl.py,5,",
    "hm,A,fundus,class_0,psg,0,0,0,,acc_forget,0.05,hm.py,20,",
    # compose matched on its epochs only; two settings at epochs 5 make it ambiguous
    "ens,Composition 1,digits,class_0,compose,0,0,0.0001,2,acc_forget,0.22,ens.py,5,",
    "ens,Composition 1,digits,class_0,compose,0,0,0.0001,5,acc_forget,0.05,ens.py,5,",
    # ablation variants: each its own psg setting; λ is not stated (the variant fixes it at 0)
    "abl,F,digits,class_0,R+F,0,,0.01,,acc_forget,0.02,abl.py,6,",
    "abl,F,digits,class_0,Baseline,0,,0.01,,acc_forget,0.11,abl.py,7,",
    "abl,F,digits,class_0,R+F+Preprocess,0,,0.01,,acc_forget,0.45,abl.py,8,",
]


def metrics_rows() -> list[dict]:
    rows = []

    def add(seed, kind, method, setting, **values):
        rows.append(
            {
                "dataset": "digits",
                "seed": seed,
                "condition": "class_0",
                "model_kind": kind,
                "method": method,
                "setting": setting,
                **values,
            }
        )

    for seed, (f0, f1, r0, r1) in enumerate([(0.12, 0.40, 0.88, 0.60), (0.14, 0.44, 0.90, 0.62)]):
        common = {"hp_lambda": 0.0, "hp_phi": 0.0, "hp_targets": "hard"}
        add(seed, "unlearned", "psg", "gamma=0", hp_gamma=0.0, acc_forget=f0, acc_remain=r0,
            **common)  # fmt: skip
        add(seed, "unlearned", "psg", "gamma=0.1", hp_gamma=0.1, acc_forget=f1, acc_remain=r1,
            **common)  # fmt: skip
        # another method at the same hyperparameters is not psg
        add(seed, "unlearned", "boundary_shrink", "default", hp_gamma=0.0, acc_forget=0.9)
        add(seed, "retrain", "retrain", "-", acc_remain=0.93 + 0.02 * seed)
        add(seed, "retrain", "retrain", "-", acc_remain=0.95 + 0.02 * seed)
        add(seed, "original", "original", "-", acc_forget=0.99, acc_remain=0.99)
        add(seed, "unlearned", "compose", "epochs=2", hp_epochs=2, acc_forget=0.20 + 0.1 * seed)
        add(seed, "unlearned", "compose", "epochs=5_a", hp_epochs=5, acc_forget=0.05)
        add(seed, "unlearned", "compose", "epochs=5_b", hp_epochs=5, acc_forget=0.06)
        # R+F: logit targets and logit remain distillation at φ 0.01 (flags as metrics.csv
        # reads them back); the same with top_k 3 is R+F+Preprocess, which this run lacks
        rf = {"hp_gamma": 0.0, "hp_lambda": 0.0, "hp_phi": 0.01, "hp_targets": "soft"}
        add(seed, "unlearned", "psg", "rf", hp_top_k=0, hp_remain_distill=True,
            acc_forget=0.01 + 0.02 * seed, **rf)  # fmt: skip
        add(seed, "unlearned", "psg", "rf_top3_labels", hp_top_k=3, hp_remain_distill=False,
            acc_forget=0.5, **rf)  # fmt: skip
    return rows


@pytest.fixture
def files(tmp_path):
    published = tmp_path / "published.csv"
    published.write_text("\n".join([HEADER, *PUBLISHED]) + "\n")
    metrics = tmp_path / "metrics.csv"
    pd.DataFrame(metrics_rows()).to_csv(metrics, index=False)
    return published, metrics


def by_source(table: pd.DataFrame) -> dict[str, pd.Series]:
    return {
        f"{r.figure}/{r.panel}/{r.dataset}/{r.method_or_variant}/{r.gamma:g}/{r.epochs}": r
        for r in table.itertuples()
    }


def test_table_arithmetic_verdicts_and_not_run(files):
    published, metrics = files
    table = reproduction_table(read_published(published), pd.read_csv(metrics), tolerance=5)
    assert len(table) == len(PUBLISHED)  # no cell dropped
    assert table["figure"].tolist() == [line.split(",")[0] for line in PUBLISHED]
    rows = table.to_dict("records")

    # psg γ 0 forget: seeds 12 and 14 points against 10 published -> mean 13, difference +3
    cell = rows[0]
    assert cell["published"] == pytest.approx(10.0)
    assert cell["run_mean"] == pytest.approx(13.0)
    assert cell["run_std"] == pytest.approx(math.sqrt(2.0))
    assert cell["difference"] == pytest.approx(3.0)
    assert cell["seeds"] == 2
    assert cell["verdict"] == WITHIN_TOLERANCE
    assert cell["matched"] == "psg/gamma=0"

    # psg γ 0.1 forget: 40 and 44 against 50 -> −8, outside the tolerance and the seeds' range
    assert rows[1]["difference"] == pytest.approx(-8.0)
    assert rows[1]["verdict"] == OUTSIDE
    # psg γ 0 remain: 88 and 90 against 90 -> −1
    assert rows[2]["verdict"] == WITHIN_TOLERANCE
    # psg γ 0.1 remain: 60 and 62 against 70 -> −9, outside
    assert rows[3]["verdict"] == OUTSIDE

    # γ 1 was not run
    assert rows[4]["verdict"] == NOT_RUN
    assert rows[4]["seeds"] == 0 and math.isnan(rows[4]["run_mean"])
    assert "no psg run of digits/class_0 with gamma 1, lambda 0, phi 0" in rows[4]["reason"]

    # retrain: replicas averaged per seed (94, 96), then over seeds: 95, difference 0
    assert rows[5]["run_mean"] == pytest.approx(95.0)
    assert rows[5]["difference"] == pytest.approx(0.0, abs=1e-9)
    assert rows[5]["verdict"] == WITHIN_TOLERANCE
    assert rows[5]["note"] == "a constant"

    # a variant the reference code cannot express and a data set this run lacks: listed
    assert rows[6]["verdict"] == NOT_RUN
    assert "'R+F-Iter 80' cannot be expressed: no option" in rows[6]["reason"]
    assert rows[7]["verdict"] == NOT_RUN
    assert rows[7]["reason"] == "this run has no fundus/class_0"

    # compose at 2 epochs: seeds 20 and 30 against 22 -> difference +3, within tolerance
    assert rows[8]["run_mean"] == pytest.approx(25.0)
    assert rows[8]["difference"] == pytest.approx(3.0)
    assert rows[8]["verdict"] == WITHIN_TOLERANCE
    # two compose settings at 5 epochs: ambiguous, not guessed
    assert rows[9]["verdict"] == AMBIGUOUS
    assert rows[9]["matched"] == "compose/epochs=5_a; compose/epochs=5_b"

    # R+F at γ 0, φ 0.01: only the logit-target run with logit remain targets and all logits
    assert rows[10]["matched"] == "psg/rf"
    assert rows[10]["run_mean"] == pytest.approx(2.0)
    # Baseline: hard targets, no remain term (φ 0 whatever the figure's φ), λ 0
    assert rows[11]["matched"] == "psg/gamma=0"
    # R+F+Preprocess: the top-3 run distils the remain set from labels, so it is not R+F+P
    assert rows[12]["verdict"] == NOT_RUN
    assert rows[12]["reason"] == (
        "no psg run of digits/class_0 with gamma 0, lambda 0, phi 0.01, targets soft, top_k 3, "
        "remain_distill true"
    )


def test_seed_spread_and_tolerance(files):
    published, metrics = files
    # tolerance 0: the γ 0 forget cell (10 against seeds 12, 14) is outside, the retrain exact
    table = reproduction_table(read_published(published), pd.read_csv(metrics), tolerance=0)
    assert table.loc[0, "verdict"] == OUTSIDE
    assert table.loc[5, "verdict"] == WITHIN_TOLERANCE
    # compose at 2 epochs: 22 lies between the seeds 20 and 30, so within their spread
    assert table.loc[8, "verdict"] == WITHIN_SPREAD
    with pytest.raises(UserError, match="reproduction.tolerance"):
        reproduction_table(read_published(published), pd.read_csv(metrics), tolerance=-1)


def test_step_writes_table_markdown_and_figures(files, tmp_path):
    published, metrics = files
    out = tmp_path / "out"
    message = reproduction(published, metrics, 5, out / "r.csv", out / "r.md", out / "figures")
    assert message.startswith(f"{len(PUBLISHED)} published cells: 6 within tolerance")
    written = pd.read_csv(out / "r.csv", keep_default_na=False)
    assert len(written) == len(PUBLISHED)
    text = (out / "r.md").read_text()
    assert "| hm | 7 | 3 | 0 | 2 | 0 | 2 |" in text  # cells and verdicts of figure hm
    assert "not run: 'R+F-Iter 80' cannot be expressed" in text
    assert "13.0 ± 1.4 (n=2)" in text
    for figure in ("hm", "abl", "ens"):
        png = out / "figures" / f"{figure}.png"
        assert png.read_bytes().startswith(b"\x89PNG")


def test_published_file_is_checked(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER.replace(",note", "") + "\n")
    with pytest.raises(UserError, match=r"lack the columns \['note'\]"):
        read_published(bad)
    bad.write_text(HEADER + "\nhm,A,d,c,psg,x,0,0,,acc_forget,0.1,f,1,\n")
    with pytest.raises(UserError, match="'x' in column gamma of line 2"):
        read_published(bad)
    with pytest.raises(UserError, match="are missing"):
        read_published(tmp_path / "none.csv")


def test_shipped_file_reads_and_nothing_matches_an_empty_run():
    published = read_published(ROOT / "config/published/nahass2025.csv")
    table = reproduction_table(published, pd.DataFrame(), tolerance=5)
    assert len(table) == len(published) == 414
    assert set(table["verdict"]) == {NOT_RUN}


def test_schema_block():
    import yaml

    from unlearning.config_schema import check_schema

    schema = str(ROOT / "config/schema/config.schema.yaml")
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    check_schema({**config, "reproduction": {"published": "p.csv", "tolerance": 2.5}}, schema)
    with pytest.raises(UserError, match="reproduction.tolerance"):
        check_schema({**config, "reproduction": {"tolerance": -1}}, schema)
    with pytest.raises(UserError, match="'tolerence' was unexpected"):
        check_schema({**config, "reproduction": {"tolerence": 5}}, schema)
