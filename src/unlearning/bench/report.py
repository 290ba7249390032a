"""The Markdown table of a benchmark's JSON: ratios first, absolute figures beside them."""

from __future__ import annotations

from typing import Any

from unlearning.bench import cost_model
from unlearning.bench.fixed_cost import PHASES

LOOPS = (
    ("training", "Training epoch (`train_classifier`)", "img_s"),
    ("psg", "psg iteration (registry `run`)", "s_per_iteration"),
    ("evaluation", "Evaluation (`predict_logits`)", "img_s"),
)
CLOCKS = {"cpu": "process CPU time", "wall": "wall time"}


def _s(value: float) -> str:
    return f"{value:.3f}"


def _figure(value: float, unit: str) -> str:
    return f"{value:,.1f} img/s" if unit == "img_s" else f"{value:.3f} s"


def _problem(block: Any) -> str | None:
    """Why a block holds no figures (skipped, or the error it failed with), else None."""
    if not isinstance(block, dict):
        return "not run"
    if "skipped" in block:
        return f"skipped: {block['skipped']}"
    if "error" in block:
        return f"failed: {block['error'].strip().splitlines()[-1]}"
    return None


def _measured(results: dict[str, Any], group: str) -> list[tuple[str, dict[str, Any]]]:
    """(device, block) of every device where ``group`` has figures."""
    return [
        (device, groups[group])
        for device, groups in results.items()
        if not _problem(groups) and not _problem(groups.get(group))
    ]


def _notes(results: dict[str, Any], groups: tuple[str, ...]) -> list[str]:
    notes = []
    for device, block in results.items():
        if problem := _problem(block):
            notes.append(f"- {device}: {problem}")
            continue
        for group in groups:
            if problem := _problem(block.get(group)):
                notes.append(f"- {group} on {device}: {problem}")
    return ["", *notes] if notes else []


def _loops(results: dict[str, Any]) -> list[str]:
    lines = [
        "| Figure | Device | Workload | Clock | Project | Bare | Speed vs bare |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, title, unit in LOOPS:
        for device, r in _measured(results, key):
            lo, hi = r["speed_range"]
            lines.append(
                f"| {title} | {device} | {r['workload']} | {CLOCKS[r['clock']]} "
                f"| {_figure(r['project_' + unit], unit)} | {_figure(r['bare_' + unit], unit)} "
                f"| **{r['speed_vs_bare']:.3f}×** ({lo:.2f}–{hi:.2f}) |"
            )
    return lines + _notes(results, tuple(k for k, _, _ in LOOPS))


def _data_path(results: dict[str, Any]) -> list[str]:
    lines = [
        "| Device | Workload | Augmentation | s / epoch | img/s | Share of a training step |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for device, r in _measured(results, "data_path"):
        for augment in ("none", "crop_flip"):
            a = r[augment]
            share = a.get("share_of_training_step")
            lines.append(
                f"| {device} | {r['workload']} | {augment} | {_s(a['s_per_epoch'])} "
                f"| {a['img_s']:,.0f} | {f'**{share:.4f}**' if share else '—'} |"
            )
    return lines + _notes(results, ("data_path",))


#: How a job started: the key of its figures under ``fixed_cost``, and its name in the tables.
STARTS = (("rules", "fresh interpreter"), ("rules_in_worker", "warm worker fork"))


def _started(r: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(start, rule, phases) of every job measured, fresh interpreters first."""
    return [(name, rule, p) for key, name in STARTS for rule, p in r.get(key, {}).items()]


def _fixed_cost(results: dict[str, Any]) -> list[str]:
    header = " | ".join(p.replace("_", " ") for p in PHASES)
    lines = [
        f"| Device | Rule | Start | {header} | Total | Fixed | Fixed share | CPU total "
        "| CPU fixed |",
        "| --- | --- | --- |" + " --- |" * (len(PHASES) + 5),
    ]
    measured = _measured(results, "fixed_cost")
    for device, r in measured:
        for start, rule, p in _started(r):
            cells = " | ".join(_s(p[f"{phase}_s"]) for phase in PHASES)
            lines.append(
                f"| {device} | {rule} | {start} | {cells} | {_s(p['total_s'])} "
                f"| **{_s(p['fixed_s'])}** | {p['fixed_share']:.0%} | {_s(p['cpu_total_s'])} "
                f"| {_s(p['fixed_cpu_s'])} |"
            )
    lines += _notes(results, ("fixed_cost",))
    for device, r in measured:
        lines += [
            "",
            f"Workload ({device}): {r['workload']}. Packages first imported, by phase:",
            "",
        ]
        for start, rule, p in _started(r):
            where = "; ".join(
                f"{phase.replace('_', ' ')}: {', '.join(names)}"
                for phase, names in p.get("first_imported", {}).items()
            )
            lines.append(f"- {rule} ({start}): {where or 'none watched'}")
    for device, r in measured:
        if "imports" not in r:
            continue
        lines += [
            "",
            f"Whole `python -c PROGRAM` processes, start to exit ({device} run, medians):",
            "",
            "| Program | Wall s | CPU s |",
            "| --- | --- | --- |",
        ]
        lines += [f"| {k} | {_s(v['s'])} | {_s(v['cpu_s'])} |" for k, v in r["imports"].items()]
    return lines


def _dry_runs(dry: dict[str, Any]) -> list[str]:
    lines = ["| Config | Wall s | CPU s | Jobs planned |", "| --- | --- | --- | --- |"]
    for name, r in dry.items():
        if problem := _problem(r):
            lines.append(f"| {name} | {problem} | | |")
        else:
            jobs = f"{r['jobs']:,}" if "jobs" in r else "—"
            lines.append(f"| {r['config']} | **{_s(r['s'])}** | {_s(r['cpu_s'])} | {jobs} |")
    return lines


def _cost_models(report: dict[str, Any]) -> list[str]:
    """The paper config's fixed cost on each device whose fixed cost was measured."""
    paper = next(
        (r for r in report["dry_run"].values() if "jobs_by_rule" in r and "paper" in r["config"]),
        None,
    )
    measured = _measured(report["results"], "fixed_cost")
    if paper is None or not measured:
        return []
    lines = ["## Cost model: fixed cost of the paper's matrix", ""]
    for device, r in measured:
        for key, start in STARTS:
            if key not in r:
                continue
            fixed = {rule: p["fixed_s"] for rule, p in r[key].items()}
            model = cost_model.fixed_cost(paper["jobs_by_rule"], fixed)
            where = f"{device} ({start})"
            lines += [*cost_model.markdown(model, paper["config"], where), ""]
    return lines


def _repeats(results: dict[str, Any]) -> str:
    counts = {d: g["sizes"]["repeats"] for d, g in results.items() if "sizes" in g}
    return (
        ", ".join(f"{n} ({d})" for d, n in counts.items())
        if len(counts) > 1
        else (str(next(iter(counts.values()), "?")))
    )


def _machine(report: dict[str, Any]) -> str:
    m, options = report["machine"], report["options"]
    gpu = f", GPU {m['gpu']} (CUDA {m['cuda']})" if "gpu" in m else ""
    load = m.get("load_average_1min")
    return (
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), torch "
        f"{m['torch']}, {m['threads']} torch thread(s), device(s) {', '.join(m['devices'])}"
        f"{gpu}; Python {m['python']}"
        f"{f'; 1-minute load average {load} at the start' if load is not None else ''}. "
        f"Medians of {_repeats(report['results'])} timed runs after {options['warmup']} warm-up"
        f"{' (quick mode: tiny sizes)' if options['quick'] else ''}."
    )


def markdown(report: dict[str, Any]) -> str:
    results = report["results"]
    lines = [
        "# Benchmark",
        "",
        f"`{report['command']}`: {report['seconds']:.0f} s, started {report['started']}.",
        "",
        _machine(report),
        "",
        "## Hot loops against bare PyTorch",
        "",
        "Speed vs bare = bare time / project time on the same model and images (median over "
        "back-to-back pairs, lowest and highest pair in brackets): 1.000 is as fast, below 1 "
        "the project's path is slower.",
        "",
        *_loops(results),
        "",
        "## Data path without a model",
        "",
        "Share of a training step = data-path seconds per image / training-epoch seconds per "
        "image (the project's loop, same device).",
        "",
        *_data_path(results),
        "",
        "## Fixed cost of a job",
        "",
        "Wall seconds per phase of one job, started in a fresh interpreter (a cluster job, or "
        "`worker: false`) and forked from the warm worker (a local run); fixed = total - step. "
        "For a fork, *interpreter* is the job's own process starting and handing over, and the "
        "fork.",
        "",
        *_fixed_cost(results),
        "",
        "## Planning: `snakemake -n`",
        "",
        *_dry_runs(report["dry_run"]),
        "",
        *_cost_models(report),
        "## CUDA initialisation",
        "",
    ]
    cuda = report["cuda_init"]
    if problem := _problem(cuda):
        lines.append(f"{problem[0].upper()}{problem[1:]}.")
    else:
        lines.append(
            f"`import torch` {_s(cuda['import_torch_s'])} s, then `torch.cuda.init()` and a first "
            f"tiny op **{_s(cuda['cuda_init_s'])} s** (fresh interpreter)."
        )
    return "\n".join(lines) + "\n"
