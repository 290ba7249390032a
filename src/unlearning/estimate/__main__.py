"""``python -m unlearning.estimate --configfile my.yaml [--cores N]`` (``make estimate``): the
planned jobs per rule and their estimated CPU (or GPU) time; see :mod:`unlearning.estimate`."""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict

from unlearning.errors import UserError


def _cores(text: str) -> int:
    return os.cpu_count() or 1 if text == "all" else max(1, int(text))


def _minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def estimate(configfile: str, cores: int, extra_args: list[str]) -> dict:
    """Per rule: planned jobs and estimated seconds; with the calibration used."""
    from unlearning.estimate.calibrate import calibrate
    from unlearning.estimate.plan import load_config, planned_jobs
    from unlearning.estimate.work import data_size, job_work, model_key

    config, settings = load_config(configfile)
    jobs = planned_jobs(configfile, extra_args)
    seed = config["seeds"][0]
    sizes = {
        name: data_size(name, spec, seed)
        for name, spec in config["datasets"].items()
        if any(job.wildcards.get("dataset") == name for job in jobs)
    }
    works = [(job, job_work(job, config, settings, sizes)) for job in jobs]
    keys = {}
    for job, work in works:
        dataset = job.wildcards.get("dataset")
        if dataset in sizes and (work.train_images or work.eval_images):
            spec = config["datasets"][dataset]
            keys[id(work)] = model_key(spec, sizes[dataset], work.batch_size)
    threads = config.get("threads", 2)
    timing = calibrate(sorted(set(keys.values())), config.get("device", "auto"), threads)
    startup = timing["startup_s"]
    rules: dict[str, dict[str, float]] = defaultdict(lambda: {"jobs": 0, "seconds": 0.0})
    for job, work in works:
        seconds = work.fixed_s + (startup if work.torch_job else 0.3 * startup)
        if id(work) in keys:
            t = timing["models"][keys[id(work)]]
            seconds += work.train_images / keys[id(work)][-1] * t["train_batch_s"]
            seconds += work.eval_images * t["eval_image_s"]
        rules[job.rule]["jobs"] += 1
        rules[job.rule]["seconds"] += seconds
    total = sum(r["seconds"] for r in rules.values())
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
        if key not in {k for k in timing["models"]}:
            continue
        lines.append(
            f"  {architecture} (width {width:g}) {size} px, {channels} channel(s), {classes} "
            f"classes, batch {batch}: {t['train_batch_s']:.3f} s; {1000 * t['eval_image_s']:.2f} ms"
        )
    lines.append(f"  job start-up: {timing['startup_s']:.1f} s")
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
    parser.add_argument("snakemake_args", nargs="*", help="more options for the dry run")
    args = parser.parse_args(argv)
    try:
        result = estimate(args.configfile, _cores(args.cores), args.snakemake_args)
    except UserError as error:
        print(f"error in estimate: {error}", file=sys.stderr)
        return 1
    print(report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
