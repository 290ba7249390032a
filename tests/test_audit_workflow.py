"""End-to-end: the U-LiRA audit target on a tiny digits config, and its config checks."""

from __future__ import annotations

import copy
import re

import pandas as pd
import pytest
import yaml
from test_parse_without_torch import MARKER, run_python, torch_imported
from test_workflow import ROOT, copy_workflow, snakemake, write_config

from unlearning.config_check import check_config
from unlearning.config_schema import apply_schema
from unlearning.errors import UserError

pytestmark = pytest.mark.e2e

TINY_AUDIT = {
    "device": "auto",
    "seeds": [0],
    "progress": False,
    "threads": 1,
    "datasets": {
        "digits": {
            "source": "sklearn_digits",
            "image_size": 8,
            "model": {"architecture": "allcnn", "width_factor": 0.125},
            "train": {"epochs": 2, "batch_size": 64, "lr": 0.05},
            "conditions": {"class_1": {"kind": "class", "class": 1}},
        }
    },
    "audit": {
        "dataset": "digits",
        "shadows": 2,
        "targets": 1,
        "forget_size": 20,
        "methods": ["finetune"],
    },
    "methods": {
        "finetune": {"params": {"epochs": 1, "lr": 0.01}},
        "compose": {
            "params": {"head_from": "finetune/default", "features_from": "finetune/default"}
        },
    },
}


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    work = copy_workflow(tmp_path_factory.mktemp("audit"))
    write_config(work, "audit.yaml", TINY_AUDIT)
    result = snakemake(work, "audit", config="audit.yaml")
    assert result.returncode == 0, result.stderr[-4000:]
    return work


def test_audit_writes_its_table_and_roc_figure_and_caches_every_model(audited):
    table = pd.read_csv(audited / "results/tables/audit.csv")
    assert table["method"].tolist() == ["retrain", "finetune", "original"]
    assert table["role"].tolist()[0].startswith("sanity")
    rates = ["auc", "balanced_accuracy", "tpr_at_1pct_fpr", "tpr_at_5pct_fpr"]
    assert table[rates].apply(lambda c: c.between(0, 1)).all().all()
    assert (table[["shadows", "targets", "forget_size"]].iloc[0] == [2, 1, 20]).all()
    markdown = (audited / "results/tables/audit.md").read_text()
    assert "| finetune | audited |" in markdown and "Sanity: the retrain-vs-retrain AUC" in markdown
    png = (audited / "results/figures/audit_roc.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert (audited / "results/figures/audit_roc.pdf").read_bytes()[:4] == b"%PDF"
    folders = {
        p.parent.relative_to(audited / "results/audit/digits").as_posix()
        for p in audited.glob("results/audit/digits/**/confidence.npz")
    }
    expected = {
        f"{split}/{model}"
        for split in ("shadow0", "shadow1", "target0")
        for model in ("original", "retrain", "retrain_again", "finetune/default")
    }
    assert folders == expected
    run = yaml.safe_load((audited / "results/audit/digits/shadow0/original/run.json").read_text())
    assert run["kind"] == "original" and run["audit"] == {"split": "shadow0", "role": "original"}
    retrain = yaml.safe_load(
        (audited / "results/audit/digits/shadow0/retrain/run.json").read_text()
    )
    assert run["n_train"] - retrain["n_train"] == 20  # the original also trained on D_f
    # a second run finds every shadow model cached
    again = snakemake(audited, "audit", "-n", config="audit.yaml")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


def test_planning_the_audit_imports_no_torch(audited):
    result = run_python(
        "import atexit, os, sys\n"
        f"os.chdir({str(audited)!r})\n"
        f"atexit.register(lambda: print({MARKER!r}, 'torch' in sys.modules, flush=True))\n"
        "sys.argv = ['snakemake', '-n', '--cores', '1', '--quiet', '--configfile', "
        "'audit.yaml', '--forcerun', 'audit_report', 'audit']\n"
        "from snakemake.cli import main\n"
        "main()\n"
    )
    assert not torch_imported(result)


def checked(**audit):
    config = yaml.safe_load((ROOT / "config/audit.yaml").read_text())
    config = copy.deepcopy(config)
    config["audit"].update(audit)
    return check_config(apply_schema(config))


def test_the_shipped_audit_config_passes_its_checks():
    settings = checked()
    assert sorted(settings["digits"]["psg"]) == [
        "default",
        "formulation=reference_steps=1_step_size=none",
    ]


@pytest.mark.parametrize(
    ("audit", "message"),
    [
        ({"shadows": 1}, "audit.shadows is 1, too few to fit a Gaussian"),
        ({"dataset": "cifar"}, "audit.dataset names 'cifar', which the config does not define"),
        ({"methods": ["psg/nope"]}, "audit.methods names 'psg/nope', which dataset 'digits'"),
    ],
)
def test_config_check_refuses_an_audit_it_cannot_run(audit, message):
    with pytest.raises(UserError, match=re.escape(message)):
        checked(**audit)


def test_an_audited_setting_that_builds_on_other_runs_is_refused():
    config = copy.deepcopy(TINY_AUDIT)
    config["audit"]["methods"] = ["compose"]
    with pytest.raises(UserError, match=r"audit.methods includes compose/default, which builds"):
        check_config(apply_schema(config))


def test_the_audit_target_without_an_audit_block_says_how_to_run_it(tmp_path):
    work = copy_workflow(tmp_path / "work")
    config = {k: v for k, v in TINY_AUDIT.items() if k != "audit"}
    write_config(work, "plain.yaml", config)
    result = snakemake(work, "-n", "audit", config="plain.yaml")
    assert result.returncode != 0
    assert "needs an audit block in the config" in result.stdout + result.stderr
