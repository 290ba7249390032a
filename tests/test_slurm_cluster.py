"""The shipped Slurm profile, run on a real one-node Slurm cluster with fake GPUs.

scripts/cluster/local_slurm.sh installs slurm-wlm and munge when missing and starts the daemons;
where that is impossible (no root, no package mirror) the cluster test is skipped.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_workflow import COST_KEYS, TINY, copy_workflow, write_config

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts/cluster/local_slurm.sh"
PROFILE = ROOT / "profiles/slurm/config.yaml"
_spec = importlib.util.spec_from_file_location(
    "submissions", ROOT / "scripts/cluster/submissions.py"
)
submissions = sys.modules["submissions"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(submissions)
# What the test changes in the shipped profile, and why:
TEST_SETTINGS = {
    # The plugin waits this long before its first status check and 10 s more after each check
    # that finds no job ended; the default 40 s would dominate a run of 20 s jobs.
    "slurm-init-seconds-before-status-checks": 8,
    # Keep each job's Slurm log: the test reads the GPUs the job was given from it.
    "slurm-keep-successful-logs": True,
}
RUN_SECONDS = 480  # the whole Slurm run; then SIGTERM, and SIGKILL 15 s later
TASK_LINE = re.compile(r"local_slurm task: job=(\d+) step=(\w+) CUDA_VISIBLE_DEVICES=(\S+)")
# The rules whose jobs of one dataset, seed and condition share submissions (job groups).
GROUPED = {"unlearn", "evaluate_original", "embed_models"}
CONDITION_WILDCARDS = ("{dataset}", "{seed}", "{condition}")


def small_config() -> dict:
    """TINY cut to one condition, one psg setting and no retrain: 5 Slurm jobs in 3 submissions
    (the original's evaluation, the psg run and its embedding share one), in 3 waves (each wave
    costs a status check, ~26 s here)."""
    config = copy.deepcopy(TINY)
    config["device"] = "cpu"  # the GPUs are fake; the same metrics as the local run
    digits = config["datasets"]["digits"]
    digits["conditions"] = {"class_1": digits["conditions"]["class_1"]}
    digits["retrain"] = False
    config["methods"] = {"psg": {"params": TINY["methods"]["psg"]["params"]}}
    return config


def rule_names() -> set[str]:
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--list-rules"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return {line.strip() for line in result.stdout.splitlines() if line.strip()}


def test_profile_covers_every_rule_and_asks_no_gpu():
    profile = yaml.safe_load(PROFILE.read_text())
    named = set(profile["set-resources"])
    rules = rule_names()
    assert named - rules == set(), "the profile names rules the workflow lacks"
    assert rules - named == set(), "rules the profile does not size"
    for rule, resources in profile["set-resources"].items():
        assert {"runtime", "mem_mb"} <= set(resources), rule
    # GPUs come from the rules' own `resources: gpu=1`; threads from the config
    asked = [profile["default-resources"], *profile["set-resources"].values()]
    assert not any({"gpu", "gpu_model", "gres"} & set(r) for r in asked)
    assert "set-threads" not in profile
    assert profile["executor"] == "slurm" and profile["slurm-status-command"] == "squeue"


def test_profile_groups_the_short_jobs_of_a_condition():
    """The short GPU jobs share submissions within one dataset, seed and condition; a group
    asks for one GPU (a limit per submission, not for the whole run)."""
    profile = yaml.safe_load(PROFILE.read_text())
    groups = profile["groups"]
    assert set(groups) == GROUPED
    (name,) = set(groups.values())  # one group: an embedding joins the run it embeds
    assert all(wildcard in name for wildcard in CONDITION_WILDCARDS)
    assert set(profile["group-components"]) == {name}
    assert profile["resources"] == {"gpu": 1}
    assert profile["set-resource-scopes"] == {"gpu": "local"}
    # a failing job would otherwise take its submission's finished jobs' outputs with it
    assert profile["keep-incomplete"] is True and profile["rerun-incomplete"] is True


def plan(work: Path, profile: Path, config: str) -> list[list[submissions.PlannedJob]]:
    """The Slurm submissions a run would make, each a list of its jobs."""
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--profile", str(profile)]
        + ["--configfile", config],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    return submissions.planned_submissions(output, submissions.local_rules(work))


@pytest.mark.e2e
def test_groups_keep_conditions_apart(tmp_path):
    """A dry run of the tiny config with the shipped profile: the short jobs share submissions,
    a submission never mixes conditions, the trainings keep their own."""
    work = copy_workflow(tmp_path / "work")
    write_config(work, "tiny.yaml", TINY)
    planned = plan(work, PROFILE.parent, "tiny.yaml")
    grouped = [jobs for jobs in planned if {job.rule for job in jobs} & GROUPED]
    singles = [jobs for jobs in planned if jobs not in grouped]
    for jobs in grouped:
        assert {job.rule for job in jobs} <= GROUPED, jobs
        keys = {tuple(job.wildcards[k] for k in ("dataset", "seed", "condition")) for job in jobs}
        assert len(keys) == 1, jobs
    assert all(len(jobs) == 1 for jobs in singles)
    assert {jobs[0].rule for jobs in singles} == {"prepare_data", "train_original", "train_retrain"}
    short_jobs = sum(len(jobs) for jobs in grouped)
    assert len(TINY["datasets"]["digits"]["conditions"]) <= len(grouped) <= short_jobs / 3


def free_port_pair() -> int:
    """A port P with P and P + 1 free (slurmctld and slurmd)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no two free consecutive ports")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Environment for Slurm's commands; the cluster is stopped whatever happens."""
    profile = yaml.safe_load(PROFILE.read_text())
    largest = max(
        r.get("mem_mb", 0)
        for r in [profile["default-resources"], *profile["set-resources"].values()]
    )
    env = {
        **os.environ,
        "UNLEARNING_SLURM_DIR": str(tmp_path_factory.mktemp("slurm")),
        "UNLEARNING_SLURM_PORT": str(free_port_pair()),
        "UNLEARNING_SLURM_GPUS": "2",
        "UNLEARNING_SLURM_CPUS": "4",
        # the node declares enough memory for every request of the shipped profile
        "UNLEARNING_SLURM_MEM_MB": str(max(largest, 1024)),
    }
    try:
        start = subprocess.run(
            ["bash", str(SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=600
        )
        if start.returncode == 3:
            pytest.skip(f"no Slurm here: {start.stderr.strip().splitlines()[-1]}")
        assert start.returncode == 0, start.stderr
        state = Path(env["UNLEARNING_SLURM_DIR"])
        env["SLURM_CONF"] = str(state / "slurm.conf")
        env["PATH"] = f"{state / 'bin'}{os.pathsep}{env['PATH']}"
        yield env
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop"], env=env, capture_output=True, timeout=120)


def slurm_record(slurm_id: int, env: dict) -> dict[str, str]:
    """`scontrol show job` as key -> value (finished jobs stay for MinJobAge)."""
    shown = subprocess.run(
        ["scontrol", "-o", "show", "job", str(slurm_id)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return dict(re.findall(r"(\w+)=(\S*)", shown.stdout))


def minutes(limit: str) -> int:
    """Slurm's [D-]HH:MM:SS time limit in minutes."""
    days, _, clock = limit.rpartition("-")
    hours, mins, _ = (int(part) for part in clock.split(":"))
    return (int(days or 0) * 24 + hours) * 60 + mins


def workflow_with_config(work: Path) -> Path:
    copy_workflow(work)
    write_config(work, "small.yaml", small_config())
    return work


@pytest.mark.e2e
def test_shipped_profile_runs_the_workflow_on_slurm(cluster, tmp_path):
    local = workflow_with_config(tmp_path / "local")
    work = workflow_with_config(tmp_path / "slurm")
    profile = yaml.safe_load(PROFILE.read_text()) | TEST_SETTINGS
    (tmp_path / "profile").mkdir()
    (tmp_path / "profile/config.yaml").write_text(yaml.safe_dump(profile))
    planned = plan(work, tmp_path / "profile", "small.yaml")

    def on_slurm(*args: str, config: str = "small.yaml") -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "snakemake", "--profile", str(tmp_path / "profile")]
        return subprocess.run(
            ["timeout", "-k", "15", str(RUN_SECONDS), *command, *args, "--configfile", config],
            cwd=work,
            env=cluster,
            capture_output=True,
            text=True,
            timeout=RUN_SECONDS + 60,
        )

    # The local run for comparison uses the CPU while the Slurm run mostly waits.
    local_run = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--configfile", "small.yaml", "--cores", "1"],
        cwd=local,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        result = on_slurm()
        local_stderr = local_run.communicate(timeout=RUN_SECONDS)[1]
    finally:
        local_run.kill()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert local_run.returncode == 0, local_stderr[-3000:]

    # Every job that Snakemake does not run itself went through sbatch, in exactly one
    # submission (a job is known by its benchmark file, which its Slurm log names); the run
    # submitted what the dry run planned: the jobs of the group in one submission.
    blocks = {
        re.search(r"benchmark: (\S+)", body).group(1): (rule, bool(is_local), body)
        for _, is_local, rule, body in submissions.JOB_BLOCK.findall(output)
        if "benchmark: " in body
    }
    remote = sorted(job for job, (_, is_local, _) in blocks.items() if not is_local)
    submitted = submissions.run_submissions(output)
    assert remote and sorted(b for s in submitted for b in s.benchmarks) == remote, output[-5000:]
    assert len({s.slurm_id for s in submitted}) == len(submitted)
    ran = sorted(sorted(blocks[b][0] for b in s.benchmarks) for s in submitted)
    assert ran == sorted(sorted(job.rule for job in jobs) for jobs in planned)
    grouped = ["embed_models", "evaluate_original", "unlearn"]
    assert ran == [grouped, ["prepare_data"], ["train_original"]]

    # Each submission ran with the profile's resources: its jobs' runtimes added up (they run
    # one after another), their largest memory, one GPU for GPU jobs (Slurm's record of the
    # request, and the device each job's task saw); the others neither asked for nor got one.
    gpu_rules, cpu_rules = set(), set()
    for submission in submitted:
        rules = [blocks[b][0] for b in submission.benchmarks]
        wants = [
            re.search(r"resources: .*\bgpu=1\b", blocks[b][2]) is not None
            for b in submission.benchmarks
        ]
        assert len(set(wants)) == 1, rules  # a group holds GPU jobs only
        wants_gpu = wants[0]
        (gpu_rules if wants_gpu else cpu_rules).update(rules)
        record = slurm_record(submission.slurm_id, cluster)
        assert record.get("JobState") == "COMPLETED", (rules, record)
        sized = [profile["default-resources"] | profile["set-resources"][r] for r in rules]
        assert minutes(record["TimeLimit"]) == sum(s["runtime"] for s in sized), (rules, record)
        assert record["MinMemoryNode"] == f"{max(s['mem_mb'] for s in sized)}M", (rules, record)
        assert (record.get("TresPerJob") == "gres:gpu:1") == wants_gpu, (rules, record)
        text = submission.log.read_text()
        tasks = [line for line in TASK_LINE.findall(text) if line[0] == str(submission.slurm_id)]
        steps = [devices for _, step, devices in tasks if step != "batch"]
        assert len(steps) == len(rules), (rules, text[-2000:])  # one job step per job
        if wants_gpu:
            assert all(re.fullmatch(r"[01]", devices) for devices in steps), (rules, tasks)
        else:
            assert set(steps) == {"unset"}, (rules, tasks)
    assert {"train_original", "unlearn", "evaluate_original", "embed_models"} <= gpu_rules
    assert "prepare_data" in cpu_rules  # the others may be localrules

    # The same results as the local run, timings aside.
    outputs = {p.relative_to(local) for p in (local / "results").rglob("*") if p.is_file()}
    assert {p.relative_to(work) for p in (work / "results").rglob("*") if p.is_file()} == outputs
    metrics = sorted(p for p in outputs if p.name == "metrics.json")
    assert len(metrics) == 2  # the original and the psg run

    def drop(path: Path) -> dict:
        return {k: v for k, v in json.loads(path.read_text()).items() if k not in COST_KEYS}

    for path in metrics:
        assert drop(work / path) == drop(local / path), path

    # A second run submits nothing.
    again = on_slurm()
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Nothing to be done" in again.stdout + again.stderr
    assert "submitted with SLURM" not in again.stdout + again.stderr

    # A failing job names its logs: the rule's, with the one-sentence error, and Slurm's.
    (work / "results/digits/seed0/original/model.pt").write_bytes(b"not a checkpoint")
    failed = on_slurm("results/digits/seed0/class_1/psg/default/metrics.json")
    output = failed.stdout + failed.stderr
    assert failed.returncode not in (0, 124, 137), output[-3000:]
    assert "logs/unlearn/digits/seed0/class_1/psg/default.log" in output, output[-3000:]
    assert re.search(r"slurm_logs/group_\w+_unlearn/\d+\.log", output), output[-3000:]
    assert "is corrupt" in output, output[-3000:]  # the checksum in model.json
