"""End-to-end: Snakemake on a tiny digits config in a temporary directory."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.e2e

TINY = {
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
            "conditions": {
                "class_1": {"kind": "class", "class": 1},
                # the same class as class_1, so the selective-unlearning figure has two points
                "frac_1": {"kind": "class_fraction", "class": 1, "fraction": 0.2},
            },
        }
    },
    "evaluation": {"batch_size": 512, "mia_feature": "entropy"},
    "methods": {
        "psg": {
            "params": {"epsilon": 0.3, "lr": 3.0e-3, "epochs": 1},
            "grid": [{"gamma": [0.0]}, {"formulation": ["reference"]}],
        },
        "finetune": {"params": {"epochs": 1, "lr": 0.01}},
        "boundary_shrink": {"params": {"epsilon": 0.3, "lr": 3.0e-3, "epochs": 1}},
        "boundary_expand": {"params": {"lr": 3.0e-3, "epochs": 1}},
        "neggrad": {"params": {"epochs": 1}},
        "grad_ascent": {"params": {"epochs": 1, "lr": 1.0e-3}},
        "random_label": {"params": {"epochs": 1}},
        "salun": {"params": {"epochs": 1, "lr": 0.01}},
        "l1_sparse": {"params": {"epochs": 1}},
        "cf_k": {"params": {"epochs": 1}},
        "eu_k": {"params": {"epochs": 1}},
        "scrub": {"params": {"epochs": 1, "max_steps": 1}},
        "scrub_r": {"params": {"epochs": 2, "max_steps": 1}},
        "ssd": {"params": {"alpha": 7.0, "max_samples": 300}},
        "bad_teacher": {"params": {"epochs": 1}},
        "compose": {
            "params": {
                "head_from": "psg/default",
                "features_from": "finetune/default",
                "epochs": 1,
            },
            "grid": {"epochs": [2]},
        },
    },
    "report": {"tsne": [{"dataset": "digits", "condition": "class_1", "method": "psg"}]},
}
CONDITIONS = ("class_1", "frac_1")
RUNS = (("psg", "gamma=0"), ("psg", "formulation=reference"), ("compose", "epochs=2")) + tuple(
    (method, "default") for method in TINY["methods"]
)
COST_KEYS = {"unlearn_seconds", "retrain_seconds", "seconds_ratio", "peak_rss_mib", "peak_cuda_mib"}


def snakemake(workdir: Path, *args: str, config: str = "tiny.yaml") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--configfile", config, "--cores", "2", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=900,
    )


def write_config(workdir: Path, name: str, config: dict) -> str:
    (workdir / name).write_text(yaml.safe_dump(config, sort_keys=False))
    return name


def job_counts(output: str) -> dict[str, int]:
    """Parse the 'Job stats' table of a dry run."""
    counts = {}
    for line in output.splitlines():
        match = re.match(r"^([a-z_]+)\s+(\d+)$", line.strip())
        if match and match.group(1) != "total":
            counts[match.group(1)] = int(match.group(2))
    return counts


def copy_workflow(work: Path) -> Path:
    """The workflow's files (no results) copied into ``work``, to run Snakemake there."""
    work.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "rules", "workflow", "config", "profiles", "envs", "report"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, work / name)
        else:
            shutil.copy(source, work / name)
    return work


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    work = copy_workflow(tmp_path_factory.mktemp("pipeline"))
    write_config(work, "tiny.yaml", TINY)
    result = snakemake(work)
    assert result.returncode == 0, result.stderr[-4000:]
    return work


def model_dirs(workdir: Path):
    for condition in CONDITIONS:
        base = workdir / "results/digits/seed0" / condition
        yield base / "original", None
        yield base / "retrain", base / "retrain"
        for method, setting in RUNS:
            yield base / method / setting, base / method / setting


def test_every_output_exists_and_parses(workdir):
    assert (workdir / "results/digits/seed0/original/model.pt").exists()
    for metrics_dir, model_dir in model_dirs(workdir):
        metrics = json.loads((metrics_dir / "metrics.json").read_text())
        for key, value in metrics.items():
            if (
                key.startswith(("acc_", "mia_", "gap_"))
                and key not in ("mia_feature", "mia_attack")
                and value is not None
            ):
                assert 0.0 <= value <= 1.0, (metrics_dir, key, value)
        assert metrics["loss_mia"] is None or 0 <= metrics["loss_mia"] <= 1
        if model_dir is not None:
            json.loads((model_dir / "run.json").read_text())
            json.loads((model_dir / "model.json").read_text())
            assert (model_dir / "model.pt").stat().st_size > 0
    table = pd.read_csv(workdir / "results/tables/metrics.csv")
    assert len(table) == len(CONDITIONS) * (2 + len(RUNS))
    assert set(table["method"]) == {"original", "retrain", *TINY["methods"]}
    summary = (workdir / "results/tables/summary.md").read_text()
    for method in TINY["methods"]:
        assert re.search(rf"\| {method}( \((pixel|reference)\))? \| ", summary), method
    assert "| psg (reference) |" in summary and "| psg (pixel) |" in summary
    for name in ("summary", "psg_grid"):
        for suffix in ("csv", "md", "tex"):
            assert (workdir / f"results/tables/{name}.{suffix}").stat().st_size > 100
    grid = pd.read_csv(workdir / "results/tables/psg_grid.csv")
    # every psg setting; one chosen per formulation
    assert len(grid) == 3 * len(CONDITIONS) and grid["chosen"].sum() == 2 * len(CONDITIONS)
    assert not list(workdir.rglob("*.tmp"))


FIGURES = {
    "overview": {"tradeoff", "selective_class_1"},
    "class_1": {
        "methods",
        "lambda_gamma_pixel",
        "composition",
        "per_class",
        "losses",
        "tsne_psg_default_seed0",
    },
    "frac_1": {"methods", "lambda_gamma_pixel", "composition", "per_class", "losses"},
}


def test_every_figure_is_drawn_as_png_and_pdf(workdir):
    folder = workdir / "results/figures/digits"
    for sub, names in FIGURES.items():
        pngs = {p.stem for p in (folder / sub).glob("*.png")}
        assert pngs == names, (sub, pngs)
        for name in names:
            png = (folder / sub / f"{name}.png").read_bytes()
            assert png[:8] == b"\x89PNG\r\n\x1a\n" and 10_000 < len(png) < 3_000_000, name
            assert (folder / sub / f"{name}.pdf").read_bytes()[:4] == b"%PDF"
    tsne = np.load(workdir / "results/digits/seed0/class_1/psg/default/tsne.npz")
    assert {"original", "retrain", "unlearned", "labels", "forget"} <= set(tsne.files)
    losses = np.load(workdir / "results/digits/seed0/class_1/original/losses.npz")
    assert set(losses.files) == {"train_forget", "test_forget", "test_remain"}


def test_figures_target_redraws_from_metrics_without_models(workdir):
    shutil.rmtree(workdir / "results/figures")
    (workdir / "results/tables/summary.md").unlink()
    for target, rule in (("figures", "dataset_figures"), ("tables", "summary_tables")):
        result = snakemake(workdir, target)
        assert result.returncode == 0, result.stderr[-3000:]
        ran = set(re.findall(r"rule (\w+):", result.stdout + result.stderr))
        assert ran == {rule, target}, ran
    assert (workdir / "results/figures/digits/overview/tradeoff.png").is_file()
    assert (workdir / "results/tables/summary.md").is_file()


def test_report_holds_every_figure_and_table(workdir):
    result = snakemake(workdir, "--report", "results/report.html")
    assert result.returncode == 0, result.stderr[-3000:]
    report = (workdir / "results/report.html").read_text()
    assert len(report) > 100_000
    for name in (
        "lambda_gamma_pixel.png",
        "selective_class_1.png",
        "summary.html",
        "psg_grid.html",
    ):
        assert name in report, name
    assert "validation gap" in report and "t-SNE maps of penultimate-layer features" in report


def test_condition_semantics_in_metrics(workdir):
    base = workdir / "results/digits/seed0"
    retrain = json.loads((base / "class_1/retrain/metrics.json").read_text())
    assert retrain["acc_test_forget"] == 0.0  # a model that never saw class 1 cannot predict it
    assert retrain["gap_mean"] is None and retrain["seconds_ratio"] is None
    psg = json.loads((base / "class_1/psg/default/metrics.json").read_text())
    assert psg["seconds_ratio"] == pytest.approx(psg["unlearn_seconds"] / psg["retrain_seconds"])
    assert psg["gap_mean"] is not None and psg["js_forget"] is not None
    frac = json.loads((base / "frac_1/psg/default/metrics.json").read_text())
    assert frac["acc_forget"] == frac["acc_train_forget"]


def test_every_rule_has_a_log_and_a_benchmark(workdir):
    for rule in ("prepare_data", "make_split", "train_original", "train_retrain", "unlearn"):
        assert list((workdir / "logs" / rule).rglob("*.log")), rule
        assert list((workdir / "benchmarks" / rule).rglob("*.tsv")), rule
    assert list((workdir / "logs/evaluate").rglob("*.log"))
    log = (workdir / "logs/unlearn/digits/seed0/class_1/psg/default.log").read_text()
    assert "done in" in log


def test_second_run_schedules_nothing(workdir):
    result = snakemake(workdir, "-n")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def test_changing_one_hyperparameter_reruns_only_that_method(workdir):
    config = json.loads(json.dumps(TINY))
    config["methods"]["finetune"]["params"]["lr"] = 0.02
    name = write_config(workdir, "changed.yaml", config)
    result = snakemake(workdir, "-n", config=name)
    assert result.returncode == 0, result.stderr[-2000:]
    counts = job_counts(result.stdout)
    # finetune, and compose, which builds on finetune/default, in both conditions
    assert counts == {
        "unlearn": 6,
        "aggregate_metrics": 1,
        "summary_tables": 1,
        "dataset_figures": 1,
        "all": 1,
    }, counts
    rebuilt = re.findall(r"output: results/digits/seed0/\w+/(\w+)/[^/]+/model\.pt", result.stdout)
    assert sorted(rebuilt) == ["compose"] * 4 + ["finetune"] * 2


def test_adding_a_condition_reuses_the_data_and_the_original(workdir):
    config = json.loads(json.dumps(TINY))
    config["datasets"]["digits"]["conditions"]["class_3"] = {"kind": "class", "class": 3}
    config["progress"] = True  # display only: must not rerun anything either
    name = write_config(workdir, "more.yaml", config)
    result = snakemake(workdir, "-n", config=name)
    assert result.returncode == 0, result.stderr[-2000:]
    counts = job_counts(result.stdout)
    assert "prepare_data" not in counts and "train_original" not in counts, counts
    assert counts["make_split"] == 1 and counts["train_retrain"] == 1
    assert counts["unlearn"] == len(RUNS)


def test_forcerun_one_unlearning_job_is_deterministic(workdir):
    target = "results/digits/seed0/class_1/psg/default/metrics.json"
    before = json.loads((workdir / target).read_text())
    result = snakemake(workdir, "--forcerun", "unlearn", "--", target)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "rule unlearn" in result.stdout + result.stderr
    after = json.loads((workdir / target).read_text())
    drop = lambda m: {k: v for k, v in m.items() if k not in COST_KEYS}  # noqa: E731
    assert drop(after) == drop(before)


def test_lint_is_clean(workdir):
    result = snakemake(workdir, "--lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for" not in result.stdout + result.stderr


def test_bad_config_stops_before_any_job(tmp_path, workdir):
    config = json.loads(json.dumps(TINY))
    config["methods"]["psg"]["params"]["gamm"] = 1
    work = tmp_path / "bad"
    shutil.copytree(
        workdir,
        work,
        ignore=shutil.ignore_patterns("results", "resources", "logs", "benchmarks", ".snakemake"),
    )
    name = write_config(work, "bad.yaml", config)
    result = snakemake(work, config=name)
    assert result.returncode != 0
    assert "Unknown hyperparameter(s) ['gamm'] for method 'psg'" in result.stderr
    assert not (work / "results").exists() and not (work / "resources").exists()


def test_user_error_is_one_sentence_and_leaves_no_output(tmp_path, workdir):
    config = json.loads(json.dumps(TINY))
    config["datasets"]["digits"]["conditions"] = {"class_42": {"kind": "class", "class": 42}}
    config["report"] = {"tsne": []}
    work = tmp_path / "user_error"
    shutil.copytree(
        workdir, work, ignore=shutil.ignore_patterns("results", "logs", "benchmarks", ".snakemake")
    )
    name = write_config(work, "missing_class.yaml", config)
    result = snakemake(work, "results/digits/seed0/class_42/split.json", config=name)
    assert result.returncode != 0
    assert "error in make_split: Condition 'class_42' names class 42" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (work / "results/digits/seed0/class_42/split.json").exists()


def test_own_model_metadata_condition_and_no_retrain(tmp_path, workdir):
    """A user's checkpoint as the original, a metadata condition, and the retrain switched off."""
    (workdir / "byo").mkdir(exist_ok=True)
    shutil.copy(workdir / "results/digits/seed0/original/model.pt", workdir / "byo/model.pt")
    config = {
        **{k: TINY[k] for k in ("device", "seeds", "progress", "threads", "evaluation")},
        "datasets": {
            "scanners": {
                "source": "sklearn_digits_scanners",
                "image_size": 8,
                "model": TINY["datasets"]["digits"]["model"],
                "original": {"checkpoint": "byo/model.pt"},
                "retrain": False,
                "conditions": {
                    "scanner_b": {"kind": "metadata_equals", "column": "scanner", "value": "B"}
                },
                "methods": ["psg"],
            }
        },
        "methods": {"psg": TINY["methods"]["psg"]},
    }
    name = write_config(workdir, "byo.yaml", config)
    base = "results/scanners/seed0/scanner_b"
    targets = [f"{base}/original/metrics.json", f"{base}/psg/default/metrics.json"]
    result = snakemake(workdir, *targets, config=name)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "rule train_retrain" not in result.stdout + result.stderr
    run = json.loads((workdir / "results/scanners/seed0/original/run.json").read_text())
    assert run["imported_from"] == "byo/model.pt" and run["seconds"] is None
    split = json.loads((workdir / base / "split.json").read_text())
    assert split["counts"]["train_forget"] > 0 and split["headline"]["forget"] == "test_forget"
    metrics = json.loads((workdir / base / "psg/default/metrics.json").read_text())
    for key in ("gap_mean", "distance", "js_forget", "retrain_seconds", "seconds_ratio"):
        assert metrics[key] is None, key  # missing, never 0
    assert 0 <= metrics["acc_forget"] <= 1


def test_paper_matrix_builds_without_data(workdir):
    result = snakemake(workdir, "-n", "--quiet", "rules", config="config/paper.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout)
    # datasets x seeds x conditions x (psg's 4 x 6 grid + the 2 runs compose joins + 14 baselines
    # + compose and its 3 epochs), and CIFAR-10's own default psg setting (outside the grid) and
    # its 19 ablation settings (5 variants across gamma and phi)
    assert counts["unlearn"] == 6 * 3 * 6 * (24 + 2 + 14 + 4) + 3 * 6 * (1 + 19)
    assert counts["prepare_data"] == 6 and counts["train_original"] == 18
    assert counts["embed_models"] == 2 and counts["dataset_figures"] == 6
