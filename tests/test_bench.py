"""The benchmark command in quick mode: every figure is measured (or skipped with a reason),
positive, and listed in the Markdown table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from unlearning.bench.dry_run import job_counts
from unlearning.bench.fixed_cost import PHASES, script_imports

ROOT = Path(__file__).resolve().parents[1]
CPU_GROUPS = ("training", "psg", "evaluation", "data_path", "fixed_cost")
RULES = ("train", "unlearn", "evaluate")
STARTS = ("rules", "rules_in_worker")


def is_phase(path):
    """Whether a JSON path names one phase of a benchmarked job."""
    return path.rsplit("/", 1)[-1].removesuffix("_cpu_s").removesuffix("_s") in PHASES


def numbers(node, path=""):
    """Every number in a JSON tree, with its path (booleans are not numbers here)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from numbers(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from numbers(value, f"{path}/{i}")
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield path, node


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    result = subprocess.run(
        [sys.executable, "-m", "unlearning.bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((out / "bench.json").read_text())
    return report, (out / "bench.md").read_text()


def test_every_figure_is_measured_and_positive(quick):
    report, _ = quick
    assert report["errors"] == []
    cpu = report["results"]["cpu"]
    for group in CPU_GROUPS:
        assert "error" not in cpu[group] and "skipped" not in cpu[group], group
    for key in ("training", "psg", "evaluation"):
        assert {"project_s", "bare_s", "speed_vs_bare"} <= set(cpu[key])
    for start in STARTS:
        for rule in RULES:
            rule_phases = cpu["fixed_cost"][start][rule]
            assert {f"{p}_s" for p in PHASES} <= set(rule_phases)
            assert rule_phases["fixed_s"] + rule_phases["step_s"] == pytest.approx(
                rule_phases["total_s"]
            )
            assert rule_phases["step_s"] > 0
    assert cpu["fixed_cost"]["imports"]["import torch"]["s"] > 0
    assert report["dry_run"]["default"]["s"] > 0
    figures = {"results": report["results"], "dry_run": report["dry_run"]}
    values = {p: v for p, v in numbers(figures) if "/sizes/" not in p}
    values.update(numbers(report["cuda_init"], "cuda_init"))
    # A phase a step does not have (training imports nothing of its own) takes no time.
    assert values and all(v > 0 or (v == 0 and is_phase(p)) for p, v in values.items()), {
        p: v for p, v in values.items() if v <= 0
    }


def test_a_forked_job_finds_its_imports_done(quick):
    """Forked from the warm worker, a job's imports are already in memory: its imports phase is
    shorter than in a fresh interpreter, and torch is not among the packages it imports."""
    report, _ = quick
    jobs = report["results"]["cpu"]["fixed_cost"]
    for rule in RULES:
        fresh, forked = jobs["rules"][rule], jobs["rules_in_worker"][rule]
        assert forked["imports_s"] < fresh["imports_s"]
        assert "torch" in sum(fresh["first_imported"].values(), [])
        assert "torch" not in sum(forked["first_imported"].values(), [])
    for block in (report["results"]["cuda"], report["cuda_init"], report["dry_run"]["paper"]):
        assert block.get("skipped") or "error" not in block


def test_markdown_lists_the_figures(quick):
    report, table = quick
    cpu = report["results"]["cpu"]
    for title in ("Training epoch", "psg iteration", "Evaluation", "Data path", "Fixed cost"):
        assert title in table
    for key in ("training", "psg", "evaluation"):
        assert f"**{cpu[key]['speed_vs_bare']:.3f}×**" in table
    for start, name in (("rules", "fresh interpreter"), ("rules_in_worker", "warm worker fork")):
        for rule in RULES:
            fixed = cpu["fixed_cost"][start][rule]["fixed_s"]
            assert f"| cpu | {rule} | {name} |" in table and f"**{fixed:.3f}**" in table
    assert "snakemake -n" in table and report["machine"]["cpu"] in table
    assert "torch thread" in table and report["machine"]["torch"] in table
    if "skipped" in report["cuda_init"]:
        assert "CUDA initialisation" in table and "Skipped" in table


def test_job_counts_and_script_imports(tmp_path):
    output = "Job stats:\njob      count\n-----  -----\nunlearn     54\nall 1\ntotal   55\n"
    assert job_counts("noise\n" + output) == {"unlearn": 54, "all": 1, "total": 55}
    script = tmp_path / "s.py"
    script.write_text('"""doc"""\nimport os\nfrom pathlib import Path\n\nx = Path(os.sep)\n')
    assert script_imports(script) == "import os\nfrom pathlib import Path"


def test_bare_psg_iteration_does_the_methods_work():
    """Without noise, and with the batch in the order the method draws it, the bare loop's
    iteration gives the method's weights exactly: the two sides time the same arithmetic."""
    import copy

    import torch

    from unlearning.bench import fixtures, psg_step
    from unlearning.methods import UnlearningTask, get_method

    sizes, cpu = fixtures.QUICK, torch.device("cpu")
    model = fixtures.model(sizes, cpu)
    original = copy.deepcopy(model).eval().requires_grad_(False)
    bare = copy.deepcopy(model)
    forget, x, y = fixtures.both_sides(sizes.batch_size, sizes, cpu)
    params = {**psg_step.PARAMS, "gamma": 0.0}
    method = get_method("psg")
    task = UnlearningTask(
        model=model,
        original=original,
        forget=forget,
        remain=forget,
        validation=forget,
        num_classes=fixtures.NUM_CLASSES,
        device=cpu,
        generator=torch.Generator().manual_seed(0),
        progress=False,
    )
    method.run(task, method.parse_params({**params, "batch_size": sizes.batch_size}))
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    psg_step.bare_iteration(bare, original, x[order], y[order], torch.Generator(), params)
    for a, b in zip(model.state_dict().values(), bare.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_cost_model_multiplies_planned_jobs_by_fixed_seconds():
    from unlearning.bench import cost_model

    model = cost_model.fixed_cost(
        {"unlearn": 100, "train_retrain": 10, "evaluate_original": 4, "make_split": 7},
        {"unlearn": 2.0, "train": 1.5, "evaluate": 3.0},
    )
    assert model["rules"]["unlearn"]["fixed_s"] == 200.0
    # a retrain job trains and evaluates: it starts like an unlearning job
    assert model["rules"]["train_retrain"]["fixed_s"] == 20.0
    assert model["fixed_hours"] == (200.0 + 20.0 + 12.0) / 3600
    assert model["costed_jobs"] == 114
    assert model["uncosted_jobs"] == {"make_split": 7}
    text = "\n".join(cost_model.markdown(model, "config/paper.yaml", "cpu"))
    assert "| unlearn | 100 | 2.00 |" in text and "make_split 7" in text
