"""Your config everywhere: make run / report / estimate take CONFIG=, and a target naming what the
loaded config lacks is refused in one sentence naming the config file that was loaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from test_workflow import TINY, copy_workflow, write_config

from unlearning.errors import UserError
from unlearning.estimate.plan import parse_dry_run
from unlearning.targets import check_targets, command_line_targets

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {"seeds": [0], "datasets": {"clinic": {"conditions": {"device_b": {}}}}}
SETTINGS = {"clinic": {"psg": {"default": {}, "gamma=0": {}}}}


@pytest.mark.parametrize(
    ("target", "command"),
    [
        ("run", "snakemake --cores all --configfile my.yaml"),
        ("report", "snakemake --configfile my.yaml --report results/report.html"),
        ("estimate", "-m unlearning.estimate --configfile my.yaml"),
        ("verify", "snakemake --cores 1 --configfile my.yaml verify"),
    ],
)
def test_make_targets_pass_the_config(target, command):
    result = subprocess.run(
        ["make", "-n", target, "CONFIG=my.yaml"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert command in result.stdout


def test_make_defaults_to_the_shipped_config():
    result = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True)
    assert "--configfile config/config.yaml" in result.stdout


@pytest.mark.parametrize(
    ("target", "named"),
    [
        ("results/digits/seed0/class_0/psg/default/metrics.json", "dataset 'digits'"),
        ("results/figures/digits", "dataset 'digits'"),
        ("resources/data/digits/info.json", "dataset 'digits'"),
        ("results/clinic/seed3/original/model.pt", "seed 3"),
        ("results/clinic/seed0/age_old/retrain/model.pt", "condition 'age_old'"),
        ("results/clinic/seed0/device_b/ssd/default/metrics.json", "method 'ssd'"),
        ("results/clinic/seed0/device_b/psg/gamma=1/model.pt", "setting psg/gamma=1"),
    ],
)
def test_a_target_the_config_lacks_is_one_sentence(target, named):
    with pytest.raises(UserError) as error:
        check_targets([target], CONFIG, SETTINGS, ["my.yaml"])
    message = str(error.value)
    assert named in message and "(my.yaml)" in message and "--configfile" in message
    assert message.count(". ") == 0 and message.endswith(".")


@pytest.mark.parametrize(
    "target",
    [
        "results/clinic/seed0/original/model.pt",
        "results/clinic/seed0/device_b/split.json",
        "results/clinic/seed0/device_b/retrain_2/metrics.json",
        "results/clinic/seed0/device_b/original/metrics.json",
        "results/clinic/seed0/device_b/psg/gamma=0/metrics.json",
        "results/tables/summary.md",
        "results/report.html",
        "tables",
    ],
)
def test_targets_the_config_has_pass(target):
    check_targets([target], CONFIG, SETTINGS, ["my.yaml"])


def test_command_line_targets_only_from_snakemake():
    argv = ["/x/bin/snakemake", "--cores", "2", "--forcerun", "unlearn", "--", "results/a/b"]
    assert command_line_targets(argv) == ["results/a/b"]
    assert command_line_targets(["/x/bin/pytest", "results/a/b"]) == []


def test_unknown_dataset_target_names_the_loaded_config():
    """The README's single-job rerun, typed for a dataset the default config lacks."""
    target = "results/clinic/seed0/class_0/psg/default/metrics.json"
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--forcerun", "unlearn"]
        + ["--", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "KeyError" not in output and "InputFunctionException" not in output
    assert "dataset 'clinic'" in output and "(config/config.yaml)" in output
    assert "--configfile" in output


def test_dry_run_listing_is_parsed():
    text = (
        "rule unlearn:\n    input: a\n    wildcards: dataset=d, seed=0, condition=c, "
        "method=psg, setting=gamma=0_lambda=0\n    threads: 1\n"
        "localrule summary_tables:\n    input: x\nlocalrule all:\n    input: y\n"
    )
    jobs = parse_dry_run(text)
    assert [job.rule for job in jobs] == ["unlearn", "summary_tables"]
    assert jobs[0].wildcards["setting"] == "gamma=0_lambda=0"


@pytest.mark.e2e
def test_estimate_of_your_config(tmp_path):
    """make estimate's command on a user config: planned jobs per rule and a time."""
    work = copy_workflow(tmp_path / "w")
    name = write_config(work, "mine.yaml", TINY)
    result = subprocess.run(
        [sys.executable, "-m", "unlearning.estimate", "--configfile", name, "--cores", "2"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert out.startswith("Estimate for mine.yaml")
    planned = {
        line.split()[0]: int(line.split()[1])
        for line in out.splitlines()[3:]
        if line[:2] == "  " and len(line.split()) >= 3 and line.split()[1].isdigit()
    }
    assert planned["train_original"] == 1 and planned["unlearn"] > 10
    assert "CPU time" in out or "GPU time" in out
    assert (work / ".cache/estimate/calibration.json").exists()
    # a second estimate reuses the cached timings
    again = subprocess.run(
        [sys.executable, "-m", "unlearning.estimate", "--configfile", name],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0 and "total" in again.stdout


def test_benchmark_files_become_jobs(tmp_path):
    from unlearning.estimate.plan import benchmarked_jobs

    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    files = {
        "unlearn/d/seed0/c/psg/gamma=0.tsv": 3.5,
        "train_original/d/seed0.tsv": 20.0,
        "evaluate/d/seed0/c/retrain_1.tsv": 4.0,
        "evaluate/d/seed0/c/original.tsv": 2.0,
    }
    for name, cpu in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + f"9.0\t0:00:09\t1\t1\t1\t1\t0\t0\t50\t{cpu}\n")
    jobs = {
        (job.rule, tuple(job.wildcards.values())): cpu for job, cpu in benchmarked_jobs(tmp_path)
    }
    assert jobs[("unlearn", ("d", "0", "c", "psg", "gamma=0"))] == 3.5
    assert jobs[("train_original", ("d", "0"))] == 20.0
    assert jobs[("evaluate_retrain", ("d", "0", "c", "retrain_1"))] == 4.0
    assert jobs[("evaluate_original", ("d", "0", "c", "original"))] == 2.0


@pytest.mark.parametrize("target", ["run", "report", "estimate", "verify"])
def test_make_names_file_and_line_of_a_yaml_error_before_snakemake(target, tmp_path):
    bad = tmp_path / "my.yaml"
    bad.write_text("seeds: [0]\ndatasets:\n\tdigits: {}\n")  # a tab in the indentation
    result = subprocess.run(
        ["make", target, f"CONFIG={bad}"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert f"Config file {bad} is not valid YAML at line 3" in result.stderr
    assert "snakemake" not in result.stdout.split("config_load")[-1]  # it never started
