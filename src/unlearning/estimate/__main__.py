"""``python -m unlearning.estimate --configfile my.yaml [--cores N]`` (``make estimate``): the
planned jobs per rule and their estimated CPU (or GPU) time; see :mod:`unlearning.estimate`."""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from pathlib import Path

from unlearning.errors import UserError


def _cores(text: str) -> int:
    return os.cpu_count() or 1 if text == "all" else max(1, int(text))


def _minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def job_seconds(jobs: list, config: dict, settings: dict, root: str | Path = ".") -> tuple:
    """Estimated seconds of each job, with the calibration and data sizes used."""
    from unlearning.estimate.calibrate import calibrate
    from unlearning.estimate.work import data_size, job_work, model_key

    seed = config["seeds"][0]
    sizes = {
        name: data_size(name, spec, seed, root)
        for name, spec in config["datasets"].items()
        if any(job.wildcards.get("dataset") == name for job in jobs)
    }
    works = [job_work(job, config, settings, sizes) for job in jobs]
    keys = {}
    for job, work in zip(jobs, works, strict=True):
        dataset = job.wildcards.get("dataset")
        if dataset in sizes and (work.train_images or work.eval_images):
            spec = config["datasets"][dataset]
            keys[id(work)] = model_key(spec, sizes[dataset], work.batch_size)
    threads = config["threads"]
    used = sorted(set(keys.values()))
    timing = calibrate(used, config["device"], threads)
    timing["models"] = {key: timing["models"][key] for key in used}
    # Torch jobs of a local run start from the warm worker unless the config turns it off; the
    # light jobs (pandas, figures) always start a fresh interpreter.
    worker_startup = timing["worker_startup_s"] if config["worker"] else None
    seconds = []
    for work in works:
        startup = timing["startup_s"] * work.startup_share
        if work.startup_share == 1.0 and worker_startup is not None:
            startup = worker_startup
        total = work.fixed_s + startup
        if id(work) in keys:
            t = timing["models"][keys[id(work)]]
            total += work.train_images / keys[id(work)][-1] * t["train_batch_s"]
            total += work.eval_images * t["eval_image_s"]
        seconds.append(total)
    return seconds, timing, sizes


def estimate(configfile: str, cores: int, extra_args: list[str]) -> dict:
    """Per rule: planned jobs and estimated seconds; with the calibration used."""
    from unlearning.estimate.plan import load_config, planned_jobs

    config, settings = load_config(configfile)
    jobs = planned_jobs(configfile, extra_args)
    seconds, timing, sizes = job_seconds(jobs, config, settings)
    rules: dict[str, dict[str, float]] = defaultdict(lambda: {"jobs": 0, "seconds": 0.0})
    for job, s in zip(jobs, seconds, strict=True):
        rules[job.rule]["jobs"] += 1
        rules[job.rule]["seconds"] += s
    total = sum(seconds)
    threads = config["threads"]
    parallel = max(1, cores // max(1, threads))
    return {
        "config": configfile,
        "rules": dict(rules),
        "total_s": total,
        "wall_s": total / min(parallel, max(1, len(jobs))) if jobs else 0.0,
        "parallel": parallel,
        "cores": cores,
        "threads": threads,
        "timing": timing,
        "sizes": sizes,
    }


def _ratio(estimated: float, measured: float) -> str:
    """Estimated / measured; "-" where Snakemake measured nothing (a job shorter than its first
    sample, a second, records no CPU time)."""
    return f"{estimated / measured:.2f}" if measured > 0 else "-"


def compare(configfile: str, run: str) -> str:
    """The estimate of every job a finished (or partial) run benchmarked, beside the CPU seconds
    Snakemake measured (``cpu_time`` of ``<run>/benchmarks/**/*.tsv``), per rule and in all."""
    from unlearning.estimate.plan import benchmarked_jobs, load_config

    config, settings = load_config(configfile)
    measured = benchmarked_jobs(Path(run) / "benchmarks")
    jobs = [job for job, _ in measured]
    seconds, timing, _ = job_seconds(jobs, config, settings, run)
    rules: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for (job, cpu), s in zip(measured, seconds, strict=True):
        rules[job.rule][0] += 1
        rules[job.rule][1] += s
        rules[job.rule][2] += cpu
    lines = [f"  {'rule':<20} {'jobs':>5} {'estimated s':>12} {'measured s':>11} {'ratio':>6}"]
    for rule, (n, est, cpu) in sorted(rules.items()):
        lines.append(f"  {rule:<20} {n:>5} {est:>12.1f} {cpu:>11.1f} {_ratio(est, cpu):>6}")
    est = sum(r[1] for r in rules.values())
    cpu = sum(r[2] for r in rules.values())
    lines.append(f"  {'total':<20} {len(jobs):>5} {est:>12.1f} {cpu:>11.1f} {_ratio(est, cpu):>6}")
    return "\n".join(
        [f"Estimate against {run}/benchmarks (CPU seconds, {timing['device']}):", *lines]
    )


def report(result: dict) -> str:
    timing = result["timing"]
    clock = "GPU" if timing["device"].startswith("cuda") else "CPU"
    lines = [f"Estimate for {result['config']} on {timing['device']}:"]
    if not result["rules"]:
        return lines[0] + " nothing to run (every result is up to date)."
    lines += ["", f"  {'rule':<20} {'jobs':>6} {clock + ' time':>12}"]
    for rule, r in sorted(result["rules"].items(), key=lambda kv: -kv[1]["seconds"]):
        lines.append(f"  {rule:<20} {r['jobs']:>6} {_minutes(r['seconds']):>12}")
    jobs = sum(r["jobs"] for r in result["rules"].values())
    lines.append(f"  {'total':<20} {jobs:>6} {_minutes(result['total_s']):>12}")
    lines.append("")
    lines.append(
        f"About {_minutes(result['total_s'])} of {clock} time; with --cores {result['cores']} "
        f"({result['parallel']} job(s) at once, {result['threads']} torch thread(s) each) about "
        f"{_minutes(result['wall_s'])} of wall time on idle cores."
    )
    lines.append("Calibration (seconds of one training batch; ms of one evaluated image):")
    for key, t in sorted(timing["models"].items()):
        architecture, width, channels, classes, size, batch = key
        lines.append(
            f"  {architecture} (width {width:g}) {size} px, {channels} channel(s), {classes} "
            f"classes, batch {batch}: {t['train_batch_s']:.3f} s; {1000 * t['eval_image_s']:.2f} ms"
        )
    lines.append(
        f"  job start-up: {timing['startup_s']:.1f} s in a fresh interpreter, "
        f"{timing['worker_startup_s']:.1f} s from the warm worker"
    )
    guessed = [name for name, size in result["sizes"].items() if not size.exact]
    if guessed:
        lines.append(
            f"Sizes of {', '.join(guessed)} are guessed from the source until the data is "
            "prepared (`snakemake --cores all --configfile ... --until prepare_data`), forget "
            "sets of metadata conditions as one class."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m unlearning.estimate", description=__doc__)
    parser.add_argument("--configfile", default="config/config.yaml")
    parser.add_argument("--cores", default="all", help="as for snakemake (default: all)")
    parser.add_argument(
        "--compare",
        metavar="RUN",
        help="instead: compare the estimate of each job RUN/benchmarks holds with its CPU time",
    )
    parser.add_argument("snakemake_args", nargs="*", help="more options for the dry run")
    args = parser.parse_args(argv)
    try:
        if args.compare:
            print(compare(args.configfile, args.compare))
        else:
            print(report(estimate(args.configfile, _cores(args.cores), args.snakemake_args)))
    except UserError as error:
        print(f"error in estimate: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
