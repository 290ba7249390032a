"""Same job, different history: a job run through the warm worker first, after other jobs, and in
its own process without a worker leaves the same weights, bit for bit."""

from __future__ import annotations

import copy
import hashlib

import pytest
from test_workflow import TINY, copy_workflow, snakemake, write_config

pytestmark = pytest.mark.e2e

BASE = "results/digits/seed0/class_1"
TARGET = f"{BASE}/psg/default/model.pt"
OTHERS = [f"{BASE}/finetune/default/model.pt", f"{BASE}/neggrad/default/model.pt"]
LOG = "logs/unlearn/digits/seed0/class_1/psg/default.log"


def small_config() -> dict:
    config = copy.deepcopy(TINY)
    digits = config["datasets"]["digits"]
    digits["conditions"] = {"class_1": digits["conditions"]["class_1"]}
    config["methods"] = {name: config["methods"][name] for name in ("psg", "finetune", "neggrad")}
    config["methods"]["psg"].pop("grid")
    config["report"] = {"tsne": []}
    return config


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_jobs_weights_do_not_depend_on_what_ran_before_it(tmp_path):
    work = copy_workflow(tmp_path / "pipeline")
    write_config(work, "tiny.yaml", small_config())

    first = snakemake(work, "--cores", "1", "--", TARGET)
    assert first.returncode == 0, first.stderr[-3000:]
    alone = digest(work / TARGET)
    assert "in the warm worker" in (work / LOG).read_text()
    assert (work / "logs/worker.log").exists()

    # The same job again, now after two other unlearning jobs in the same worker.
    after = snakemake(
        work,
        "--cores",
        "1",
        "--forcerun",
        "unlearn",
        "--prioritize",
        *OTHERS,
        "--",
        TARGET,
        *OTHERS,
    )
    assert after.returncode == 0, after.stderr[-3000:]
    order = [line for line in after.stderr.splitlines() if line.startswith("    wildcards:")]
    assert len(order) == 3 and "method=psg" in order[-1], order
    assert digest(work / TARGET) == alone

    # And in a process of its own, without a worker.
    own = snakemake(
        work, "--cores", "1", "--forcerun", "unlearn", "--config", "worker=False", "--", TARGET
    )
    assert own.returncode == 0, own.stderr[-3000:]
    assert "in the warm worker" not in (work / LOG).read_text()
    assert digest(work / TARGET) == alone

    # The work a worker did is in the job's benchmark, and no share is left aside.
    assert not list((work / "benchmarks").rglob("*.worker"))

    # A run without torch jobs starts no worker.
    (work / "logs/worker.log").unlink()
    split = snakemake(work, "--cores", "1", "--forcerun", "make_split", "--", f"{BASE}/split.json")
    assert split.returncode == 0, split.stderr[-3000:]
    assert "make_split" in split.stderr
    assert not (work / "logs/worker.log").exists()
