"""Command line: run every figure, write ``bench.json`` and ``bench.md``, print the table.

A figure that fails is recorded with its error and the rest still run; the exit status is 1
when any failed, so ``make bench`` does not hide a broken measurement.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from unlearning.bench import (
    data_path,
    dry_run,
    evaluation,
    fixed_cost,
    fixtures,
    psg_step,
    train_loop,
)
from unlearning.bench.report import markdown
from unlearning.bench.timing import machine

LOOPS: dict[str, Callable[[torch.device, fixtures.Sizes], dict[str, Any]]] = {
    "training": train_loop.measure,
    "psg": psg_step.measure,
    "evaluation": evaluation.measure,
    "data_path": data_path.measure,
}
GROUPS = (*LOOPS, "fixed_cost", "dry_run", "cuda_init")


def default_root() -> Path:
    """The checkout this package lives in (an editable install), else the working directory."""
    here = Path(__file__).resolve().parents[3]
    return here if (here / "Snakefile").exists() else Path.cwd()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m unlearning.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat (tests)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="auto: the CPU, and CUDA as well when present (default)",
    )
    parser.add_argument("--out", type=Path, default=Path("results/bench"))
    parser.add_argument("--root", type=Path, default=None, help="repository root (Snakefile)")
    parser.add_argument("--config", default="config/config.yaml", help="the default config")
    parser.add_argument("--paper-config", default="config/paper.yaml")
    parser.add_argument("--only", nargs="+", choices=GROUPS, help="run only these figures")
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    return args


def _attempt(
    label: str, errors: list[str], fn: Callable[..., dict[str, Any]], *args: Any, **kwargs: Any
) -> dict[str, Any]:
    start = time.perf_counter()
    print(f"[bench] {label} ...", file=sys.stderr, flush=True)
    try:
        result = fn(*args, **kwargs)
    except Exception as exc:  # one broken figure must not lose the others
        errors.append(f"{label}: {type(exc).__name__}: {exc}")
        result = {"error": f"{type(exc).__name__}: {exc}"}
    print(f"[bench] {label}: {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    return result


def _data_share(groups: dict[str, Any]) -> None:
    """Data-path seconds per image as a share of a training step's seconds per image."""
    train, data = groups.get("training", {}), groups.get("data_path", {})
    if "project_img_s" in train and "none" in data:
        for augment in ("none", "crop_flip"):
            data[augment]["share_of_training_step"] = (
                train["project_img_s"] / data[augment]["img_s"]
            )


def _devices(choice: str) -> tuple[list[str], str | None]:
    """The devices to measure, and why CUDA is left out when it is."""
    cuda = torch.cuda.is_available()
    if choice == "cpu":
        return ["cpu"], "not asked for (--device cpu)"
    if choice == "cuda":
        if not cuda:
            raise SystemExit("error: --device cuda, but torch sees no CUDA device")
        return ["cuda"], None
    return (["cpu", "cuda"], None) if cuda else (["cpu"], "no CUDA device")


def _device_groups(
    args: argparse.Namespace, root: Path, name: str, first: bool, errors: list[str]
) -> dict[str, Any]:
    device = torch.device(name)
    sizes = fixtures.sizes_for(device, args.quick)
    wanted = set(args.only or GROUPS)
    groups: dict[str, Any] = {"sizes": dataclasses.asdict(sizes)}
    for group, measure in LOOPS.items():
        if group in wanted:
            groups[group] = _attempt(f"{group} ({name})", errors, measure, device, sizes)
    _data_share(groups)
    if "fixed_cost" in wanted:
        groups["fixed_cost"] = _attempt(
            f"fixed_cost ({name})",
            errors,
            fixed_cost.measure,
            root,
            root / args.config,
            name,
            args.threads,
            sizes,
            ladder=first,
        )
    return groups


def run(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    """Every figure asked for, as the JSON-ready report; failures are listed under ``errors``."""
    root = (args.root or default_root()).resolve()
    wanted = set(args.only or GROUPS)
    devices, no_cuda = _devices(args.device)
    torch.set_num_threads(args.threads)
    errors: list[str] = []
    started = time.perf_counter()
    first = fixtures.sizes_for(torch.device(devices[0]), args.quick)
    report: dict[str, Any] = {
        "command": shlex.join(["python", "-m", "unlearning.bench", *argv]),
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": machine(args.threads, devices),
        "options": {
            "quick": args.quick,
            "threads": args.threads,
            "warmup": first.warmup,
            "repeats": first.repeats,
        },
        "results": {},
    }
    for i, name in enumerate(devices):
        report["results"][name] = _device_groups(args, root, name, i == 0, errors)
    if no_cuda:
        report["results"]["cuda"] = {"skipped": no_cuda}
    report["dry_run"] = {}
    if "dry_run" in wanted:
        configs = {"default": args.config}
        if first.paper_dry_run:
            configs["paper"] = args.paper_config
        else:
            report["dry_run"]["paper"] = {"skipped": "not in --quick mode"}
        for label, config in configs.items():
            report["dry_run"][label] = _attempt(
                f"dry_run ({label})", errors, dry_run.measure, root, config
            )
    if "cuda" in devices and "cuda_init" in wanted:
        report["cuda_init"] = _attempt("cuda_init", errors, fixed_cost.cuda_init, root)
    else:
        report["cuda_init"] = {"skipped": no_cuda or "not asked for (--only)"}
    report["seconds"] = time.perf_counter() - started
    report["errors"] = errors
    return report


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    report = run(args, argv)
    errors = report["errors"]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    (args.out / "bench.md").write_text(table)
    print(table)
    print(f"wrote {args.out / 'bench.json'} and {args.out / 'bench.md'}", file=sys.stderr)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if errors else 0
